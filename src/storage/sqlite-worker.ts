/**
 * A worker thread with its own SQLite connection, from plain CommonJS source (a worker has no
 * TypeScript loader): the writer, the checkpointer and the negative-lookup filter's scan. The
 * source is run with `parentPort`, `workerData` and `Database` (better-sqlite3, resolved from
 * here) in scope.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** Starts `source` on a new thread with `workerData`. */
export function startSqliteWorker(source: string, workerData: Record<string, unknown>): Worker {
  return new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
${source}`,
    { eval: true, workerData: { ...workerData, driver: DRIVER } },
  );
}
