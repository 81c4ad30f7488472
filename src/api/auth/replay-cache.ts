/**
 * Remembers client-assertion `jti`s until the assertions expire (RFC 7523 §3 item 7), so each
 * assertion is used once. Bounded: when full of unexpired entries it refuses new ones rather
 * than forget one that could then be replayed.
 */

/** Entries a ReplayCache holds unless configured otherwise. */
export const REPLAY_CACHE_CAPACITY_DEFAULT = 100_000;

/** The outcome of remembering a key: first sight, seen before, or no room to remember it. */
export type ReplayCheck = 'fresh' | 'replayed' | 'full';

/** A bounded set of keys, each forgotten once its expiry passes. */
export class ReplayCache {
  private readonly expiries = new Map<string, number>();
  private readonly capacity: number;
  private readonly clock: () => number;

  constructor(options: { capacity?: number; clock?: () => number } = {}) {
    this.capacity = options.capacity ?? REPLAY_CACHE_CAPACITY_DEFAULT;
    this.clock = options.clock ?? Date.now;
  }

  /** Records `key` until `expiresAt` (ms since the epoch) unless it is already recorded. */
  remember(key: string, expiresAt: number): ReplayCheck {
    const now = this.clock();
    const seen = this.expiries.get(key);
    if (seen !== undefined && seen > now) return 'replayed';
    if (seen === undefined && this.expiries.size >= this.capacity) this.purge(now);
    if (seen === undefined && this.expiries.size >= this.capacity) return 'full';
    this.expiries.set(key, expiresAt);
    return 'fresh';
  }

  /** How many keys are held, expired or not. */
  get size(): number {
    return this.expiries.size;
  }

  private purge(now: number): void {
    for (const [key, expiry] of this.expiries) if (expiry <= now) this.expiries.delete(key);
  }
}
