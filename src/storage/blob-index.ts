/**
 * Where each blob lives in the segment files: hash → (segment, frame offset, length, when stored),
 * and how far each segment has been indexed. The index is derived: the segments describe
 * themselves (blob-frame.ts), so a lost index is rebuilt by scanning them, and a crash between
 * a segment's fsync and the index commit only leaves a tail to index again. It therefore
 * commits without fsync (synchronous=NORMAL): durability is the segments' job.
 */
import Database from 'better-sqlite3';
import { openDatabase, type SqliteDatabase } from './database.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** Where one blob's frame is. */
export interface BlobLocation {
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

/** One blob to index, with when it was stored (ms since the epoch). */
export interface IndexedBlob extends BlobLocation {
  readonly hash: string;
  readonly storedAt: number;
}

/** Bumped whenever the schema changes: an index of another version is dropped and rebuilt from the segments. */
const SCHEMA_VERSION = 2;
const SCHEMA = `
  CREATE TABLE blob (
    hash BLOB PRIMARY KEY,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    stored_at INTEGER NOT NULL,
    -- 1 once a committed block is known to reference the blob: the collector never looks at it.
    anchored INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE INDEX blob_by_segment ON blob (segment);
  CREATE INDEX blob_unanchored ON blob (stored_at) WHERE anchored = 0;
  CREATE TABLE segment (id INTEGER PRIMARY KEY, indexed_end INTEGER NOT NULL);
`;

/** The blob index, in a SQLite file or, for a read-only look at a store without one, in memory. */
export class BlobIndex {
  readonly #db: SqliteDatabase;
  readonly #lookup: Database.Statement<
    [Buffer],
    { segment: number; offset: number; length: number }
  >;
  readonly #upsert: Database.Statement<[Buffer, number, number, number, number]>;
  readonly #remove: Database.Statement<[Buffer]>;
  readonly #setEnd: Database.Statement<[number, number]>;
  readonly #anchor: Database.Statement<[Buffer]>;
  /** Copies the log back into the file off the main thread: writes land at random hashes. */
  readonly #checkpointer: WalCheckpointer | undefined;

  /** Opens (creating if needed) the index at `path`; ':memory:' for one that is not kept. */
  constructor(path: string, options: { readonly?: boolean } = {}) {
    this.#db = openDatabase(path, options);
    if (options.readonly !== true) {
      this.#db.pragma('synchronous = NORMAL');
      this.#migrate();
      this.#checkpointer = WalCheckpointer.of(this.#db);
    }
    this.#lookup = this.#db.prepare('SELECT segment, offset, length FROM blob WHERE hash = ?');
    this.#upsert = this.#db.prepare(
      'INSERT OR REPLACE INTO blob (hash, segment, offset, length, stored_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#remove = this.#db.prepare('DELETE FROM blob WHERE hash = ?');
    this.#setEnd = this.#db.prepare(
      'INSERT OR REPLACE INTO segment (id, indexed_end) VALUES (?, ?)',
    );
    this.#anchor = this.#db.prepare('UPDATE blob SET anchored = 1 WHERE hash = ? AND anchored = 0');
  }

  /** Creates the schema, dropping an index of another version first (the segments rebuild it). */
  #migrate(): void {
    if (this.#db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) return;
    this.#db.transaction(() => {
      this.#db.exec('DROP TABLE IF EXISTS blob; DROP TABLE IF EXISTS segment;');
      this.#db.exec(SCHEMA);
      this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  /** Where blob `hash` is, or undefined. */
  locate(hash: string): BlobLocation | undefined {
    return this.#lookup.get(Buffer.from(hash, 'hex'));
  }

  /**
   * Indexes `blobs`, all in segment `segment`, which is now indexed up to `indexedEnd`, in one
   * transaction. Returns the locations they replaced (older copies of the same hash).
   */
  add(segment: number, blobs: readonly IndexedBlob[], indexedEnd: number): BlobLocation[] {
    const replaced: BlobLocation[] = [];
    this.#db.transaction(() => {
      for (const blob of blobs) {
        const key = Buffer.from(blob.hash, 'hex');
        const previous = this.#lookup.get(key);
        if (
          previous !== undefined &&
          !(previous.segment === blob.segment && previous.offset === blob.offset)
        )
          replaced.push(previous);
        this.#upsert.run(key, blob.segment, blob.offset, blob.length, blob.storedAt);
      }
      this.#setEnd.run(segment, indexedEnd);
    })();
    return replaced;
  }

  /** Records that committed blocks reference `hashes`, in one transaction; hashes not stored here are skipped. */
  markAnchored(hashes: readonly string[]): void {
    this.#db.transaction(() => {
      for (const hash of hashes) this.#anchor.run(Buffer.from(hash, 'hex'));
    })();
  }

  /** The blobs no committed block is known to reference, stored before `cutoff` (ms since the epoch). */
  unanchoredBefore(cutoff: number): IndexedBlob[] {
    const rows = this.#db
      .prepare(
        'SELECT hash, segment, offset, length, stored_at AS storedAt FROM blob WHERE anchored = 0 AND stored_at < ?',
      )
      .all(cutoff) as (Omit<IndexedBlob, 'hash'> & { hash: Buffer })[];
    return rows.map((row) => ({ ...row, hash: row.hash.toString('hex') }));
  }

  /** Forgets the blobs `hashes`, in one transaction. */
  remove(hashes: readonly string[]): void {
    this.#db.transaction(() => {
      for (const hash of hashes) this.#remove.run(Buffer.from(hash, 'hex'));
    })();
  }

  /** How far each segment has been indexed, by segment id. */
  indexedEnds(): Map<number, number> {
    const rows = this.#db.prepare('SELECT id, indexed_end AS end FROM segment').all() as {
      id: number;
      end: number;
    }[];
    return new Map(rows.map((row) => [row.id, row.end]));
  }

  /** Forgets segment `segment` (deleted once it holds no live blob). */
  dropSegment(segment: number): void {
    this.#db.prepare('DELETE FROM segment WHERE id = ?').run(segment);
  }

  /** True when segment `segment` holds no indexed blob. */
  isEmpty(segment: number): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM blob WHERE segment = ? LIMIT 1').get(segment) === undefined
    );
  }

  /** Every indexed blob, streamed in hash order. */
  *entries(): Generator<IndexedBlob> {
    const rows = this.#db
      .prepare(
        'SELECT hash, segment, offset, length, stored_at AS storedAt FROM blob ORDER BY hash',
      )
      .iterate() as Iterable<Omit<IndexedBlob, 'hash'> & { hash: Buffer }>;
    for (const row of rows) yield { ...row, hash: row.hash.toString('hex') };
  }

  close(): void {
    this.#checkpointer?.close();
    this.#db.close();
  }
}
