/**
 * The search index's file: its schema, how it is opened, and how a damaged or unwanted copy is
 * cleared out of the way of a fresh one. The index is derived data, rebuilt from the chain.
 */
import { rmSync } from 'node:fs';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';

/**
 * The schema this code writes; a file with another is refused (delete it and re-index). Also
 * bumped when the indexed parameters change, so a node rebuilds an index made without them
 * (2: DocumentReference; 3: identifier on clinical types, _security on all; 4: patient on every
 * Patient-compartment type; 5: the chain record and version each entry was read from).
 */
const SEARCH_SCHEMA_VERSION = 5;
const SCHEMA = `
CREATE TABLE resource (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  patient_id TEXT,
  last_updated INTEGER NOT NULL,
  record_id TEXT,
  version INTEGER,
  UNIQUE (type, id)
);
CREATE INDEX resource_patient ON resource (patient_id);
CREATE INDEX resource_record ON resource (record_id);
CREATE INDEX resource_updated ON resource (type, last_updated, id);
CREATE TABLE token_value (rid INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE, param TEXT NOT NULL, system TEXT, code TEXT, text TEXT);
CREATE INDEX token_rid ON token_value (rid, param);
CREATE INDEX token_code ON token_value (param, code, system);
CREATE INDEX token_text ON token_value (param, text);
CREATE TABLE string_value (rid INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE, param TEXT NOT NULL, value TEXT NOT NULL, exact TEXT NOT NULL);
CREATE INDEX string_rid ON string_value (rid, param);
CREATE INDEX string_value_index ON string_value (param, value);
CREATE TABLE date_value (rid INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE, param TEXT NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL);
CREATE INDEX date_rid ON date_value (rid, param);
CREATE INDEX date_low ON date_value (param, low);
CREATE INDEX date_high ON date_value (param, high);
CREATE TABLE quantity_value (rid INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE, param TEXT NOT NULL, value REAL NOT NULL, system TEXT, code TEXT, unit TEXT);
CREATE INDEX quantity_rid ON quantity_value (rid, param);
CREATE INDEX quantity_value_index ON quantity_value (param, value);
CREATE TABLE reference_value (rid INTEGER NOT NULL REFERENCES resource (rid) ON DELETE CASCADE, param TEXT NOT NULL, reference TEXT NOT NULL, id TEXT);
CREATE INDEX reference_rid ON reference_value (rid, param);
CREATE INDEX reference_reference ON reference_value (param, reference);
CREATE INDEX reference_id ON reference_value (param, id);
`;

/** Opens the index file with its pragmas and schema. Throws Error when the file holds another schema version. */
export function openIndexDatabase(path: string): SqliteDatabase {
  const db = openDatabase(path);
  try {
    // Erasure must not leave values in freed pages: zero them as they are freed.
    db.pragma('secure_delete = ON');
    // Derived data: a crash may lose the newest puts (the ledger still has them), so a put does
    // not wait for an fsync. Removals are made durable by the checkpoint that follows each one,
    // which syncs the WAL and then the database in WAL mode at this level.
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * False when the index file at `path` was written by an older schema or parameter set, and is to
 * be rebuilt. A file SQLite cannot read counts as current here: opening it reports the damage.
 */
export function hasCurrentSchema(path: string): boolean {
  let db: SqliteDatabase;
  try {
    db = openDatabase(path);
  } catch {
    return true;
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    return version === 0 || version >= SEARCH_SCHEMA_VERSION;
  } catch {
    return true;
  } finally {
    db.close();
  }
}

function migrate(db: SqliteDatabase): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SEARCH_SCHEMA_VERSION) return;
  if (version !== 0)
    throw new Error(
      `search index has schema version ${version}, not ${SEARCH_SCHEMA_VERSION}; delete it and re-index`,
    );
  db.transaction(() => {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SEARCH_SCHEMA_VERSION}`);
  })();
}

/**
 * Deletes `path` and its WAL and shared-memory files, out of the way of a fresh index. A damaged
 * copy is not kept for inspection: it holds patients' search values, some of them perhaps erased
 * since, and erasure must reach every copy. The index is rebuilt from the chain.
 */
export function removeIndexFile(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      rmSync(path + suffix, { force: true });
    } catch {
      // Already gone, or not removable: the fresh index's open reports what is wrong.
    }
  }
}
