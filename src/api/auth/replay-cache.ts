/**
 * Remembers client-assertion `jti`s until the assertions expire (RFC 7523 §3 item 7), so each
 * assertion is used once. Bounded: when full of unexpired entries it refuses new ones rather
 * than forget one that could then be replayed. Given a path, it also keeps them in a small
 * SQLite file, so an assertion stays used across a restart of the node.
 */
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';
import type { Statement } from 'better-sqlite3';

/** Entries a ReplayCache holds unless configured otherwise. */
export const REPLAY_CACHE_CAPACITY_DEFAULT = 100_000;

/** The outcome of remembering a key: first sight, seen before, or no room to remember it. */
export type ReplayCheck = 'fresh' | 'replayed' | 'full';

const SCHEMA =
  'CREATE TABLE IF NOT EXISTS client_assertion_jti (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID';

/** The file half of a ReplayCache: every remembered key, durable before it is reported fresh. */
class ReplayFile {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement;
  readonly #purge: Statement;

  constructor(path: string) {
    this.#db = openDatabase(path);
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(
      'INSERT OR REPLACE INTO client_assertion_jti (key, expires_at) VALUES (?, ?)',
    );
    this.#purge = this.#db.prepare('DELETE FROM client_assertion_jti WHERE expires_at <= ?');
  }

  /** Unexpired entries, after deleting the expired ones. */
  load(now: number): [key: string, expiresAt: number][] {
    this.#purge.run(now);
    return this.#db.prepare('SELECT key, expires_at FROM client_assertion_jti').raw().all() as [
      string,
      number,
    ][];
  }

  put(key: string, expiresAt: number): void {
    this.#insert.run(key, expiresAt);
  }

  purge(now: number): void {
    this.#purge.run(now);
  }

  close(): void {
    this.#db.close();
  }
}

/** A bounded set of keys, each forgotten once its expiry passes. */
export class ReplayCache {
  private readonly expiries = new Map<string, number>();
  private readonly capacity: number;
  private readonly clock: () => number;
  private readonly file: ReplayFile | undefined;

  /** Opens (creating) the file at `options.path` when given. Throws what SQLite throws on a damaged file. */
  constructor(options: { capacity?: number; clock?: () => number; path?: string } = {}) {
    this.capacity = options.capacity ?? REPLAY_CACHE_CAPACITY_DEFAULT;
    this.clock = options.clock ?? Date.now;
    this.file = options.path === undefined ? undefined : new ReplayFile(options.path);
    for (const [key, expiresAt] of this.file?.load(this.clock()) ?? [])
      this.expiries.set(key, expiresAt);
  }

  /** Records `key` until `expiresAt` (ms since the epoch) unless it is already recorded; on disk first when there is a file. */
  remember(key: string, expiresAt: number): ReplayCheck {
    const now = this.clock();
    const seen = this.expiries.get(key);
    if (seen !== undefined && seen > now) return 'replayed';
    if (seen === undefined && this.expiries.size >= this.capacity) this.purge(now);
    if (seen === undefined && this.expiries.size >= this.capacity) return 'full';
    this.file?.put(key, expiresAt);
    this.expiries.set(key, expiresAt);
    return 'fresh';
  }

  /** How many keys are held, expired or not. */
  get size(): number {
    return this.expiries.size;
  }

  /** Closes the file, if any. */
  close(): void {
    this.file?.close();
  }

  private purge(now: number): void {
    for (const [key, expiry] of this.expiries) if (expiry <= now) this.expiries.delete(key);
    this.file?.purge(now);
  }
}
