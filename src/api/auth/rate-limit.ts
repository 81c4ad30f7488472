/**
 * A token-bucket limiter keyed by client address: each key holds up to `capacity` tokens,
 * refilled evenly over `intervalMs`, and every request takes one. Bounded in keys: past
 * `maxKeys` it forgets full buckets first, then the least recently started ones.
 */

/** The token endpoint's default budget: 20 requests per 10 seconds per address. */
export const RATE_LIMIT_DEFAULTS = { capacity: 20, intervalMs: 10_000, maxKeys: 10_000 } as const;

/** How to configure a TokenBucketLimiter. */
export interface RateLimitOptions {
  readonly capacity?: number;
  readonly intervalMs?: number;
  readonly maxKeys?: number;
  readonly clock?: () => number;
}

/** Whether a request may proceed, and if not, how many whole seconds until it could. */
export type RateDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets, one per key. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly maxKeys: number;
  private readonly clock: () => number;

  constructor(options: RateLimitOptions = {}) {
    this.capacity = options.capacity ?? RATE_LIMIT_DEFAULTS.capacity;
    const intervalMs = options.intervalMs ?? RATE_LIMIT_DEFAULTS.intervalMs;
    if (!(this.capacity >= 1) || !(intervalMs > 0))
      throw new RangeError('a rate limit needs a capacity of at least 1 and a positive interval');
    this.perMs = this.capacity / intervalMs;
    this.maxKeys = options.maxKeys ?? RATE_LIMIT_DEFAULTS.maxKeys;
    this.clock = options.clock ?? Date.now;
  }

  /** Takes one token from `key`'s bucket if it has one. */
  take(key: string): RateDecision {
    const now = this.clock();
    const bucket = this.refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)),
    };
  }

  private refilled(key: string, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return this.started(key, now);
    bucket.tokens = Math.min(
      this.capacity,
      bucket.tokens + Math.max(0, now - bucket.updatedAt) * this.perMs,
    );
    bucket.updatedAt = now;
    return bucket;
  }

  private started(key: string, now: number): Bucket {
    if (this.buckets.size >= this.maxKeys) this.evict(now);
    const bucket = { tokens: this.capacity, updatedAt: now };
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Drops buckets that have refilled (forgetting them changes nothing), then the oldest if still over. */
  private evict(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * this.perMs >= this.capacity)
        this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}
