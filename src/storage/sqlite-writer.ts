/**
 * A SQLite writer on its own thread. A durable commit is an fsync of the write-ahead log, 0.4 ms
 * to tens of milliseconds on this project's disks, and better-sqlite3 blocks the calling thread
 * for all of it: on the main thread every HTTP request waits behind every commit. The writer
 * holds a second connection to the same database (WAL lets the main thread's connection read
 * meanwhile) and runs each batch as one transaction, in the order they were sent.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { startSqliteWorker } from './sqlite-worker.js';

/** One statement and the rows of parameters to run it with, in order. */
export type WriteStep = readonly [sql: string, rows: readonly (readonly unknown[])[]];

// Run by startSqliteWorker. The pragmas are openDatabase's.
const WORKER_SOURCE = `
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma(\`synchronous = \${workerData.synchronous}\`);
db.pragma(\`secure_delete = \${workerData.secureDelete ? 'ON' : 'OFF'}\`);
db.pragma('busy_timeout = 5000');
const prepared = statementCache(db);
function bound(value) {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}
const runSteps = db.transaction((steps) => steps.map(([sql, rows]) => {
  const statement = prepared(sql);
  return rows.map((row) => Number(statement.run(...row.map(bound)).lastInsertRowid));
}));
const staged = new Map();
const pause = new Int32Array(new SharedArrayBuffer(4));
// A checkpoint the checkpoint thread is running answers busy at once: waited out 1 ms at a time.
function emptyLog() {
  for (let attempt = 0; attempt < 5000; attempt++) {
    if (db.pragma('wal_checkpoint(TRUNCATE)')[0].busy === 0) return [];
    Atomics.wait(pause, 0, 0, 1);
  }
  throw new Error(workerData.path + ': the write-ahead log could not be emptied');
}
// Answers batch \`id\` with what \`run\` returns, or with the error it throws (its code kept).
function answer(id, run) {
  try {
    parentPort.postMessage({ id, rowIds: run() });
  } catch (error) {
    parentPort.postMessage({ id, error: { name: error.name, message: String(error.message), code: error.code } });
  }
}
parentPort.on('message', (message) => {
  if (message.close === true) {
    db.close();
    parentPort.close();
    return;
  }
  if (message.emptyLog === true) return answer(message.id, emptyLog);
  const steps = staged.get(message.id) ?? [];
  for (const step of message.steps) steps.push(step);
  if (message.more === true) {
    staged.set(message.id, steps);
    return;
  }
  staged.delete(message.id);
  answer(message.id, () => runSteps(steps));
});
`;

interface Pending {
  readonly resolve: (rowIds: number[][]) => void;
  readonly reject: (error: Error) => void;
}

/** The second, writing connection to one SQLite database, on a worker thread. Call close() when done. */
export class SqliteWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 0;
  #failure: Error | undefined;

  /**
   * Starts the thread on the database at `path`. Commits are durable (`synchronous` FULL) unless
   * the data is derived and may lose its newest writes to a power cut: then NORMAL. With
   * `secureDelete`, what its statements delete or overwrite is zeroed in the file, not left in
   * free space.
   */
  constructor(
    path: string,
    {
      synchronous = 'FULL',
      secureDelete = false,
    }: { synchronous?: 'FULL' | 'NORMAL'; secureDelete?: boolean } = {},
  ) {
    this.#worker = startSqliteWorker(WORKER_SOURCE, { path, synchronous, secureDelete });
    this.#worker.on(
      'message',
      (message: {
        id: number;
        rowIds?: number[][];
        error?: { name: string; message: string; code?: string };
      }) => this.#settle(message),
    );
    this.#worker.on('error', (error) => this.#fail(error));
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    void this.#exited.then(() => this.#fail(new Error(`the SQLite writer for ${path} stopped`)));
  }

  /**
   * Runs `steps` as one durable transaction, after every batch sent before it. Resolves, once
   * committed, with the rowid each row inserted; rejects with SQLite's error (its `code` kept,
   * so a full disk is recognised) and nothing of the batch written.
   */
  write(steps: readonly WriteStep[]): Promise<number[][]> {
    return this.#request({ steps });
  }

  /** Sends the thread `message` under a new id; settles with the thread's answer to it. */
  #request(message: object): Promise<number[][]> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...message });
    });
  }

  /**
   * Runs the steps of every part of `parts` as one durable transaction, like write(), taking one
   * part per event-loop turn: copying a large batch to the thread in one message would hold the
   * event loop for as long. The transaction runs once every part is sent, so batches sent while
   * its parts are being taken run before it. `partTimed` is told how long taking each part held
   * the event loop, in seconds.
   */
  async writeInParts(
    parts: Iterable<readonly WriteStep[]>,
    partTimed?: (seconds: number) => void,
  ): Promise<void> {
    this.#throwIfStopped();
    const id = this.#nextId++;
    const settled = new Promise<void>((resolve, reject) =>
      this.#pending.set(id, { resolve: () => resolve(), reject }),
    );
    settled.catch(() => {}); // A failure while parts are still being sent is thrown below.
    let taking = performance.now();
    for (const part of parts) {
      this.#throwIfStopped(); // between parts, too
      this.#worker.postMessage({ id, steps: part, more: true });
      partTimed?.((performance.now() - taking) / 1000);
      await nextTurn();
      taking = performance.now();
    }
    this.#worker.postMessage({ id, steps: [] });
    return settled;
  }

  /**
   * After every batch sent before, copies the write-ahead log into the database and truncates
   * it, so no old page image of what those batches overwrote or deleted stays in it (with
   * `secureDelete`, none stays in the database file either). On this thread, waiting out a
   * checkpoint another connection runs for a few seconds at most; rejects if that fails.
   */
  async emptyLog(): Promise<void> {
    await this.#request({ emptyLog: true });
  }

  #throwIfStopped(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** True once the thread has stopped or failed for good: every write is refused. */
  get stopped(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Lets every batch sent in full finish, then closes the connection and stops the thread. A
   * batch still being sent in parts is dropped, whole, and its promise rejects.
   */
  async close(): Promise<void> {
    if (this.#failure === undefined) this.#worker.postMessage({ close: true });
    await this.#exited;
  }

  #settle(message: {
    id: number;
    rowIds?: number[][];
    error?: { name: string; message: string; code?: string };
  }): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (message.error === undefined) pending.resolve(message.rowIds!);
    else
      pending.reject(
        Object.assign(new Error(message.error.message), {
          name: message.error.name,
          code: message.error.code,
        }),
      );
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
