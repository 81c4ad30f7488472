/**
 * The node-local FHIR search index: the search values (extract.ts) of resources this
 * organisation may decrypt, in one SQLite file beside the node's stores. It is derived data
 * and never goes on-chain; but it holds patient data, so it can forget a resource or a whole
 * patient, and forgetting is real: secure_delete overwrites freed pages and a WAL checkpoint
 * after each removal truncates the log, so erased values linger in neither.
 */
import type { Statement as BetterSqliteStatement } from 'better-sqlite3';
import type { JsonObject } from '../../ledger/index.js';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';
import { FhirError } from '../outcome.js';
import { extractValues, type IndexRow } from './extract.js';
import { searchParameter } from './parameters.js';
import { compileSearch, parameterKey, VALUE_TABLES, type SqlValue } from './query.js';

/** The schema this code writes; a file with another is refused (delete it and re-index). */
const SEARCH_SCHEMA_VERSION = 1;
/** Prepared statements kept for reuse; past this the cache starts over, since OR lists vary. */
const STATEMENT_CACHE_MAX = 256;

type Statement = BetterSqliteStatement<unknown[], unknown>;

const SCHEMA = `
CREATE TABLE resource (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  patient_id TEXT,
  last_updated INTEGER NOT NULL,
  UNIQUE (type, id)
);
CREATE INDEX resource_patient ON resource (patient_id);
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

/** What the index knows of a resource besides its values. */
export interface IndexedMeta {
  /** The patient whose compartment holds the resource (the Patient's own id for a Patient), or null. */
  readonly patientId: string | null;
  /** When the indexed version was written, epoch ms: what _lastUpdated searches and sorts by. */
  readonly lastUpdated: number;
}

/** One page of matches: ids of the searched type in result order, and how many match in all. */
export interface SearchResult {
  readonly ids: string[];
  readonly total: number;
}

/** Options for a SearchIndex. */
export interface SearchIndexOptions {
  /** The present, epoch ms, for the 'ap' date prefix; Date.now by default. */
  readonly now?: () => number;
}

/** A FHIR search index over one SQLite file (or ':memory:'). */
export class SearchIndex {
  readonly #db: SqliteDatabase;
  readonly #now: () => number;
  readonly #statements = new Map<string, Statement>();
  #pending: { resource: JsonObject; meta: IndexedMeta }[] = [];

  /** Opens, creating if needed, the index at `path`. Throws Error when the file holds another schema version. */
  constructor(path: string, options: SearchIndexOptions = {}) {
    this.#db = openDatabase(path);
    this.#now = options.now ?? Date.now;
    // Erasure must not leave values in freed pages: zero them as they are freed.
    this.#db.pragma('secure_delete = ON');
    // Derived data: a crash may lose the newest puts (the ledger still has them), so a put does
    // not wait for an fsync. Removals are made durable by the checkpoint that follows each one,
    // which syncs the WAL and then the database in WAL mode at this level.
    this.#db.pragma('synchronous = NORMAL');
    this.#migrate();
  }

  /**
   * Indexes `resource` as the current version of its type/id, replacing whatever was indexed
   * for it before. Throws TypeError unless it has a string resourceType and id, RangeError
   * unless meta.lastUpdated is an integer.
   */
  put(resource: JsonObject, meta: IndexedMeta): void {
    this.putAll([{ resource, meta }]);
  }

  /**
   * put() batched with the others of this event-loop turn into one transaction: the write path
   * of a busy server. Anything that reads or removes flushes the batch first, so a search always
   * sees every put made before it.
   */
  putSoon(resource: JsonObject, meta: IndexedMeta): void {
    if (this.#pending.length === 0) setImmediate(() => this.#flush());
    this.#pending.push({ resource, meta });
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.putAll(pending);
  }

  /** put() for many resources in one transaction, which is how a bulk import should call it. */
  putAll(entries: readonly { resource: JsonObject; meta: IndexedMeta }[]): void {
    const prepared = entries.map(({ resource, meta }) => ({ ...identify(resource, meta), meta, rows: rowsFor(resource, meta) }));
    this.#db.transaction(() => {
      for (const entry of prepared) this.#insert(entry.type, entry.id, entry.meta, entry.rows);
    })();
  }

  /** Forgets `type/id` and every value derived from it. Returns true when it was indexed. */
  remove(type: string, id: string): boolean {
    this.#flush();
    const removed = this.#statement('DELETE FROM resource WHERE type = ? AND id = ?').run(type, id).changes > 0;
    this.#truncateLog();
    return removed;
  }

  /** Forgets every resource indexed under `patientId`, the Patient included. Returns how many. */
  removePatient(patientId: string): number {
    this.#flush();
    const removed = this.#statement('DELETE FROM resource WHERE patient_id = ?').run(patientId).changes;
    this.#truncateLog();
    return removed;
  }

  /**
   * Searches `type` (hl7.org/fhir/R4/search.html) with `params`, as a query string parses.
   * Supported: every parameter in parameters.ts with its type's modifiers (string :exact
   * :contains; token :not :text; reference :[Type]; :missing on all), date and quantity
   * prefixes, comma for OR, repetition or different parameters for AND. Result parameters:
   * _count (default 50, at most 1000), _sort, and _offset, the 0-based index of the page's
   * first match: our paging token, so a next link is the same query with _offset + _count.
   * _total is ignored (total is always exact); _include, _revinclude, _format and _pretty are
   * left to the caller (include.ts). Throws FhirError 400 as compileSearch() does.
   */
  search(type: string, params: URLSearchParams): SearchResult {
    this.#flush();
    const { where, orderBy, count, offset } = compileSearch(type, params, this.#now());
    const total = this.#statement(`SELECT COUNT(*) AS n FROM resource r WHERE ${where.sql}`).get(...where.args) as { n: number };
    if (count === 0) return { ids: [], total: total.n };
    const sql = `SELECT r.id FROM resource r WHERE ${where.sql} ORDER BY ${orderBy.sql} LIMIT ? OFFSET ?`;
    const ids = this.#statement(sql).pluck().all(...where.args, ...orderBy.args, count, offset) as string[];
    return { ids, total: total.n };
  }

  /**
   * Ids of the `type` resources matching `params` (as search() reads them, but ignoring _count
   * and _offset), in result order, from the `start`th match, at most `limit`: the candidates a
   * caller's search pages over once consent has filtered them. No total is counted.
   */
  searchIds(type: string, params: URLSearchParams, start: number, limit: number): string[] {
    this.#flush();
    const { where, orderBy } = compileSearch(type, params, this.#now());
    const sql = `SELECT r.id FROM resource r WHERE ${where.sql} ORDER BY ${orderBy.sql} LIMIT ? OFFSET ?`;
    return this.#statement(sql).pluck().all(...where.args, ...orderBy.args, limit, start) as string[];
  }

  /**
   * The references ('Type/id') that reference parameter `param` of the `type` resources `ids`
   * holds, each once, ordered by the position of its first holder in `ids`: what
   * _include=type:param follows, read from the index rather than from decrypted resources.
   * References naming no Type/id are left out. Throws FhirError 400 as idsReferencing().
   */
  referencesFrom(type: string, param: string, ids: readonly string[]): string[] {
    this.#flush();
    if (searchParameter(type, param)?.kind !== 'reference') throw FhirError.of(400, 'not-supported', `${type} has no reference search parameter '${param}'`);
    if (ids.length === 0) return [];
    const sql =
      'SELECT r.id AS id, v.reference AS reference FROM resource r JOIN reference_value v ON v.rid = r.rid ' +
      'WHERE r.type = ? AND v.param = ? AND v.id IS NOT NULL AND r.id IN (SELECT value FROM json_each(?)) ORDER BY v.rowid';
    const rows = this.#statement(sql).all(type, parameterKey(type, param), JSON.stringify(ids)) as { id: string; reference: string }[];
    const position = new Map(ids.map((id, i) => [id, i]));
    rows.sort((left, right) => position.get(left.id)! - position.get(right.id)!);
    return [...new Set(rows.map((row) => row.reference))];
  }

  /**
   * Ids of the `type` resources whose reference parameter `param` names any of `references`
   * ('Type/id'), sorted: the matches of _revinclude=type:param. Throws FhirError 400
   * not-supported unless `param` is a reference parameter of `type`.
   */
  idsReferencing(type: string, param: string, references: readonly string[]): string[] {
    this.#flush();
    if (searchParameter(type, param)?.kind !== 'reference') throw FhirError.of(400, 'not-supported', `${type} has no reference search parameter '${param}'`);
    if (references.length === 0) return [];
    const sql =
      'SELECT DISTINCT r.id FROM resource r JOIN reference_value v ON v.rid = r.rid ' +
      'WHERE r.type = ? AND v.param = ? AND v.reference IN (SELECT value FROM json_each(?)) ORDER BY r.id';
    return this.#statement(sql).pluck().all(type, parameterKey(type, param), JSON.stringify(references)) as string[];
  }

  /** How many resources and value rows the index holds: for tests and monitoring. */
  counts(): { resources: number; values: number } {
    this.#flush();
    const resources = this.#statement('SELECT COUNT(*) FROM resource').pluck().get() as number;
    const values = Object.values(VALUE_TABLES).reduce((sum, table) => sum + (this.#statement(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number), 0);
    return { resources, values };
  }

  /** Closes the file; the index is unusable afterwards. */
  close(): void {
    this.#flush();
    this.#statements.clear();
    this.#db.close();
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version === SEARCH_SCHEMA_VERSION) return;
    if (version !== 0) throw new Error(`search index has schema version ${version}, not ${SEARCH_SCHEMA_VERSION}; delete it and re-index`);
    this.#db.transaction(() => {
      this.#db.exec(SCHEMA);
      this.#db.pragma(`user_version = ${SEARCH_SCHEMA_VERSION}`);
    })();
  }

  #insert(type: string, id: string, meta: IndexedMeta, rows: readonly IndexRow[]): void {
    this.#statement('DELETE FROM resource WHERE type = ? AND id = ?').run(type, id);
    const insert = this.#statement('INSERT INTO resource (type, id, patient_id, last_updated) VALUES (?, ?, ?, ?)');
    const rid = Number(insert.run(type, id, meta.patientId, meta.lastUpdated).lastInsertRowid);
    for (const row of rows) this.#insertRow(rid, parameterKey(type, row.param), row);
  }

  #insertRow(rid: number, key: string, row: IndexRow): void {
    const [table, columns, values] = rowColumns(row);
    const placeholders = columns.map(() => '?').join(', ');
    this.#statement(`INSERT INTO ${table} (rid, param, ${columns.join(', ')}) VALUES (?, ?, ${placeholders})`).run(rid, key, ...values);
  }

  /** Moves the WAL into the database and empties it, so no old page images of erased rows remain. */
  #truncateLog(): void {
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= STATEMENT_CACHE_MAX) this.#statements.clear();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function identify(resource: JsonObject, meta: IndexedMeta): { type: string; id: string } {
  const type = resource['resourceType'];
  const id = resource['id'];
  if (typeof type !== 'string' || typeof id !== 'string' || id === '') throw new TypeError('resource must have a string resourceType and id');
  if (!Number.isSafeInteger(meta.lastUpdated)) throw new RangeError('meta.lastUpdated must be an integer epoch ms');
  return { type, id };
}

/** The resource's rows, with _lastUpdated from `meta`: the store strips meta.lastUpdated from what it keeps. */
function rowsFor(resource: JsonObject, meta: IndexedMeta): IndexRow[] {
  const rows = extractValues(resource).filter((row) => row.param !== '_lastUpdated');
  return [...rows, { param: '_lastUpdated', kind: 'date', low: meta.lastUpdated, high: meta.lastUpdated + 1 }];
}

function rowColumns(row: IndexRow): [string, string[], SqlValue[]] {
  switch (row.kind) {
    case 'token':
      return [VALUE_TABLES.token, ['system', 'code', 'text'], [row.system, row.code, row.text]];
    case 'string':
      return [VALUE_TABLES.string, ['value', 'exact'], [row.value, row.exact]];
    case 'date':
      return [VALUE_TABLES.date, ['low', 'high'], [row.low, row.high]];
    case 'quantity':
      return [VALUE_TABLES.quantity, ['value', 'system', 'code', 'unit'], [row.value, row.system, row.code, row.unit]];
    case 'reference':
      return [VALUE_TABLES.reference, ['reference', 'id'], [row.reference, row.id]];
  }
}
