/** The chain database schema: blocks, transactions, the Merkle log's nodes and contract state. */
import type { SqliteDatabase } from './database.js';
import { isSqlIdentifier } from './database.js';

/** Schema version written to `meta`; a node refuses a database of another version. */
export const CHAIN_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block (
  height INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  log_size INTEGER NOT NULL UNIQUE,
  header TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tx (
  leaf_index INTEGER PRIMARY KEY,
  height INTEGER NOT NULL,
  status TEXT NOT NULL,
  bytes BLOB NOT NULL
);
-- Blocks read their transactions by height; heights only grow, so this index appends cheaply.
CREATE INDEX IF NOT EXISTS tx_by_height ON tx (height, leaf_index);
CREATE TABLE IF NOT EXISTS log_node (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
-- Node-local, derived from committed state: which state row names each ciphertext hash, so a
-- blob's row is found without holding every hash in memory. Written with the block that
-- anchors it; built once from state for a chain committed before the table existed.
CREATE TABLE IF NOT EXISTS blob_anchor (hash BLOB PRIMARY KEY, referrer TEXT NOT NULL) WITHOUT ROWID;
`;

/** Creates the fixed tables and checks the schema version. Throws when the database is of another version. */
export function migrateChain(db: SqliteDatabase): void {
  db.exec(SCHEMA);
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as
    { value: string } | undefined;
  if (row === undefined) {
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(
      'schema',
      String(CHAIN_SCHEMA_VERSION),
    );
    // A new chain keeps blob_anchor from its first block on.
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('blob_anchor', 'built');
  } else if (row.value !== String(CHAIN_SCHEMA_VERSION)) {
    throw new Error(
      `chain database has schema ${row.value}, this node needs ${CHAIN_SCHEMA_VERSION}`,
    );
  }
}

/** SQL table name holding contract table `table`. Throws RangeError for a name that is not a plain identifier. */
export function stateTableName(table: string): string {
  if (!isSqlIdentifier(table))
    throw new RangeError(`state table name ${JSON.stringify(table)} is not a plain identifier`);
  return `state_${table}`;
}

/** Creates one SQLite table per contract table. */
export function createStateTables(db: SqliteDatabase, tables: readonly string[]): void {
  for (const table of tables) {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${stateTableName(table)} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
    );
  }
}

/**
 * A Merkle node (level, index) is stored under one integer key, so a lookup is a rowid seek.
 * Requires level < 64 and index < 2^47, far beyond any tree this node will hold.
 */
export function logNodeId(level: number, index: number): number {
  return index * 64 + level;
}
