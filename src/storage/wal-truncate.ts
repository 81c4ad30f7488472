/**
 * Emptying a database's write-ahead log after an erasure: the log keeps old page images of
 * rows deleted or overwritten (secure_delete zeroes them only in the database file) until a
 * checkpoint has copied it back and truncated it.
 */
import type { SqliteDatabase } from './database.js';

/** Tries of a TRUNCATE checkpoint, a millisecond apart: a few seconds in all. */
const TRUNCATE_ATTEMPTS = 5000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Moves the write-ahead log of `db` into the database and empties it, so no old page images of
 * erased rows remain. A checkpoint a WalCheckpointer thread is running makes SQLite answer busy
 * at once (no busy handler for that lock): this waits it out, a millisecond at a time, for at
 * most a few seconds, then throws.
 */
export function truncateWal(db: SqliteDatabase): void {
  for (let attempt = 0; attempt < TRUNCATE_ATTEMPTS; attempt++) {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy === 0) return;
    Atomics.wait(PAUSE, 0, 0, 1);
  }
  throw new Error(`${db.name}: the write-ahead log could not be emptied after an erasure`);
}
