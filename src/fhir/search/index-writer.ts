/**
 * The search index's puts, on a thread of their own. Each put replaces a resource's rows in
 * B-trees keyed by values spread all over them; at a million versions that is a fifth of the main
 * thread's time per create. The writer holds a second connection to the index file (WAL lets the
 * main thread's connection read meanwhile) and runs each batch as one transaction, in the order
 * sent. A reader that must see every put made before it calls settle(), which waits for the
 * batches in flight; the index does, before every read and every removal.
 */
import type { Worker } from 'node:worker_threads';
import { startSqliteWorker } from '../../storage/index.js';

/** One resource's put: its identity, its meta, and an INSERT with its values per indexed value. */
export type IndexPut = readonly [
  type: string,
  id: string,
  patientId: string | null,
  lastUpdated: number,
  recordId: string | null,
  version: number | null,
  rows: readonly (readonly [sql: string, ...values: unknown[]])[],
];

/** How long settle() and close() wait for the thread to make progress before giving it up as stuck. */
const STUCK_AFTER_MS = 30_000;
/** Batches sent and not yet committed past which post() waits: a backlog stays seconds long at most. */
const BACKLOG_BATCHES = 256;
/** Bytes of the shared report of the thread's failure: its error as JSON. */
const REPORT_BYTES = 2_048;
const COMMITTED = 0;
const FAILED = 1;
const CLOSED = 2;

// Run by startSqliteWorker. The pragmas are openIndexDatabase's and openDatabase's: without
// foreign keys a replaced resource's old values would stay, and without secure_delete their bytes.
const WORKER_SOURCE = `
const state = new Int32Array(workerData.state);
const report = new Uint8Array(workerData.report);
function fail(error) {
  let bytes = Buffer.from(JSON.stringify({ name: String(error.name), message: String(error.message).slice(0, 256), code: error.code }));
  if (bytes.length > report.length) bytes = Buffer.from(JSON.stringify({ name: 'Error', message: 'the search index writer failed', code: error.code }));
  report.set(bytes);
  Atomics.store(state, ${FAILED}, bytes.length);
  Atomics.notify(state, ${COMMITTED});
  parentPort.postMessage('failed');
}
let db;
let put;
try {
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('secure_delete = ON');
  db.pragma('synchronous = NORMAL');
  const prepared = statementCache(db);
  const removeResource = db.prepare('DELETE FROM resource WHERE type = ? AND id = ?');
  const insertResource = db.prepare('INSERT INTO resource (type, id, patient_id, last_updated, record_id, version) VALUES (?, ?, ?, ?, ?, ?)');
  put = db.transaction((puts) => {
    for (const [type, id, patientId, lastUpdated, recordId, version, rows] of puts) {
      removeResource.run(type, id);
      const rid = insertResource.run(type, id, patientId, lastUpdated, recordId, version).lastInsertRowid;
      for (const [sql, ...values] of rows) prepared(sql).run(rid, ...values);
    }
  });
} catch (error) {
  fail(error);
}
parentPort.on('message', (message) => {
  if (message.close === true) {
    try {
      db?.close();
    } finally {
      Atomics.store(state, ${CLOSED}, 1);
      Atomics.notify(state, ${CLOSED});
      parentPort.close();
    }
    return;
  }
  if (Atomics.load(state, ${FAILED}) !== 0) return;
  try {
    put(message.puts);
    Atomics.store(state, ${COMMITTED}, message.seq);
    Atomics.notify(state, ${COMMITTED});
  } catch (error) {
    fail(error);
  }
});
`;

/** The search index's writing connection, on a worker thread. */
export class IndexWriter {
  readonly #worker: Worker;
  readonly #state = new Int32Array(new SharedArrayBuffer(12));
  readonly #report = new Uint8Array(new SharedArrayBuffer(REPORT_BYTES));
  #posted = 0;
  #closed = false;
  #exited = false;

  /** Starts the thread on the index file at `path`; `onFailure` hears of a batch that failed while nobody was settling. */
  constructor(path: string, onFailure: (error: Error) => void) {
    this.#worker = startSqliteWorker(WORKER_SOURCE, {
      path,
      state: this.#state.buffer,
      report: this.#report.buffer,
    });
    this.#worker.on('message', () => {
      if (!this.#closed) onFailure(this.#failure());
    });
    this.#worker.on('error', (error) => {
      this.#exited = true; // it has stopped: close() must not wait for it
      if (!this.#closed) onFailure(error);
    });
    this.#worker.once('exit', () => (this.#exited = true));
    // Nothing is lost to a process that ends without closing the index: the next start rebuilds
    // it. (A listener added after unref() would hold the process again.)
    this.#worker.unref();
  }

  /**
   * Sends `puts` to be written, as one transaction after every batch sent before; first waits
   * when BACKLOG_BATCHES are still unwritten. Throws as settle() does.
   */
  post(puts: readonly IndexPut[]): void {
    if (this.#unwritten() >= BACKLOG_BATCHES) this.settle();
    this.#posted = (this.#posted + 1) | 0; // sequence numbers wrap, as the shared Int32 does
    this.#worker.postMessage({ seq: this.#posted, puts });
  }

  /**
   * Blocks until every batch sent has been written. Throws the thread's error when one failed
   * (nothing after it is written), or an Error when the thread has not answered in seconds.
   */
  settle(): void {
    let committed = Atomics.load(this.#state, COMMITTED);
    let stuckAt = Date.now() + STUCK_AFTER_MS;
    for (;;) {
      if (Atomics.load(this.#state, FAILED) !== 0) throw this.#failure();
      if (this.#unwritten() <= 0) return;
      if (Date.now() > stuckAt) throw new Error('the search index writer thread made no progress');
      Atomics.wait(this.#state, COMMITTED, committed, 100);
      const now = Atomics.load(this.#state, COMMITTED);
      if (now !== committed) stuckAt = Date.now() + STUCK_AFTER_MS;
      committed = now;
    }
  }

  /** Batches sent and not yet committed (wrapping arithmetic on the sequence numbers). */
  #unwritten(): number {
    return (this.#posted - Atomics.load(this.#state, COMMITTED)) | 0;
  }

  /**
   * Stops the thread once every batch sent is written, and returns once its connection is closed
   * (the file may be removed then). A failure is no longer reported.
   */
  close(): void {
    this.#closed = true;
    if (this.#exited) return;
    this.#worker.postMessage({ close: true });
    const deadline = Date.now() + STUCK_AFTER_MS;
    while (Atomics.load(this.#state, CLOSED) === 0 && Date.now() < deadline)
      Atomics.wait(this.#state, CLOSED, 0, 100);
    // A thread that did not close in that time is stuck: stopped, so it writes nothing more.
    if (Atomics.load(this.#state, CLOSED) === 0) void this.#worker.terminate();
  }

  #failure(): Error {
    const length = Atomics.load(this.#state, FAILED);
    try {
      const { name, message, code } = JSON.parse(
        Buffer.from(this.#report.subarray(0, length)).toString('utf8'),
      ) as { name: string; message: string; code?: string };
      return Object.assign(new Error(message), { name, code });
    } catch {
      return new Error('the search index writer failed');
    }
  }
}
