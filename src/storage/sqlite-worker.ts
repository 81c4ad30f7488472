/**
 * A worker thread with its own SQLite connection, from plain CommonJS source (a worker has no
 * TypeScript loader): the writer, the checkpointer and the negative-lookup filter's scan. The
 * source is run with `parentPort`, `workerData`, `Database` (better-sqlite3, resolved from
 * here) and `statementCache(db)` (a function from SQL to its statement on `db`, each prepared once)
 * in scope.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** Starts `source` on a new thread with `workerData`. */
export function startSqliteWorker(source: string, workerData: Record<string, unknown>): Worker {
  return new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
function statementCache(db) {
  const statements = new Map();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
}
${source}`,
    { eval: true, workerData: { ...workerData, driver: DRIVER } },
  );
}
