/**
 * WAL checkpoints of a database written on the main thread, run on a thread of their own. SQLite
 * copies the write-ahead log back into the database file from the connection that commits once
 * the log passes `wal_autocheckpoint` pages: for files updated at random places (indexes keyed by
 * hashes and ids), that is thousands of scattered page writes and an fsync inside some commit,
 * on the event loop. Here a second connection runs a PASSIVE checkpoint (it never waits for, nor
 * blocks, the writer or readers) every `intervalMs`; the writing connection keeps a large
 * automatic checkpoint only as a backstop, should this thread fall behind or stop.
 */
import type { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.js';
import { startSqliteWorker } from './sqlite-worker.js';

/** Pages the writing connection lets the log reach before it checkpoints itself: 64 MiB of 4 KiB pages. */
export const BACKSTOP_CHECKPOINT_PAGES = 16_384;
/** How often the checkpoint thread copies the log back. */
const CHECKPOINT_INTERVAL_MS = 200;

// Run by startSqliteWorker.
const WORKER_SOURCE = `
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the writing connection's own checkpoint is the backstop.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Checkpoints `db`'s write-ahead log on a worker thread until close(). Not for ':memory:'. */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  /** A checkpointer for `db`, or none for an in-memory database, which has no file to copy into. */
  static of(db: SqliteDatabase): WalCheckpointer | undefined {
    return db.memory ? undefined : new WalCheckpointer(db);
  }

  constructor(db: SqliteDatabase, intervalMs = CHECKPOINT_INTERVAL_MS) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    this.#worker = startSqliteWorker(WORKER_SOURCE, { path: db.name, intervalMs });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('error', () => {}); // The backstop checkpoint carries on without it.
  }

  /** Stops the thread after any checkpoint it is running; `closed` resolves when it has. */
  close(): void {
    this.#worker.ref(); // so that awaiting `closed` keeps the process up until it has
    this.#worker.postMessage('close');
  }

  get closed(): Promise<void> {
    return this.#exited;
  }
}
