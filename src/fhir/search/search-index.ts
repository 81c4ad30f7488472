/**
 * The node-local FHIR search index: the search values (extract.ts) of resources this
 * organisation may decrypt, in one SQLite file beside the node's stores. It is derived data
 * and never goes on-chain; but it holds patient data, so it can forget a resource or a whole
 * patient, and forgetting is real: secure_delete overwrites freed pages and a WAL checkpoint
 * after each removal truncates the log, so erased values linger in neither.
 */
import type { Statement as BetterSqliteStatement } from 'better-sqlite3';
import type { JsonObject } from '../../ledger/index.js';
import {
  storageFaultOf,
  truncateWal,
  WalCheckpointer,
  type SqliteDatabase,
  type StorageFaultKind,
} from '../../storage/index.js';
import { FhirError } from '../outcome.js';
import { extractValues, type IndexRow } from './extract.js';
import { IndexWriter, type IndexPut } from './index-writer.js';
import { openIndexDatabase, removeIndexFile } from './index-file.js';
import { searchParameter } from './parameters.js';
import {
  compileSearch,
  idAfter,
  parameterKey,
  sortOrderOf,
  VALUE_TABLES,
  type SqlPart,
  type SqlValue,
} from './query.js';
import { SEARCH_STATEMENT_CACHE_MAX } from '../../ledger/index.js';

type Statement = BetterSqliteStatement<unknown[], unknown>;

/** What the index knows of a resource besides its values. */
export interface IndexedMeta {
  /** The patient whose compartment holds the resource (the Patient's own id for a Patient), or null. */
  readonly patientId: string | null;
  /** When the indexed version was written, epoch ms: what _lastUpdated searches and sorts by. */
  readonly lastUpdated: number;
  /**
   * The chain record and version the entry was read from (none for an index not fed from a
   * chain): after a crash the node compares them with the chain to find the entries it lost.
   */
  readonly recordId?: string;
  readonly version?: number;
}

/** An entry as entryOf() finds it by its chain record. */
export interface IndexedRecord {
  readonly type: string;
  readonly id: string;
  readonly version: number | null;
}

/** One page of matches: ids of the searched type in result order, and how many match in all. */
export interface SearchResult {
  readonly ids: string[];
  readonly total: number;
}

/** Seconds a client is told to wait (Retry-After) while the index is being rebuilt. */
export const SEARCH_INDEX_RETRY_AFTER_SECONDS = 5;

/** Why the index stopped answering, its file deleted: the file was damaged, or the disk full. */
export interface SearchIndexFault {
  readonly kind: StorageFaultKind;
  /** The error's message: SQLite's or the file system's, never index contents. */
  readonly reason: string;
}

/** Options for a SearchIndex. */
export interface SearchIndexOptions {
  /** The present, epoch ms, for the 'ap' date prefix; Date.now by default. */
  readonly now?: () => number;
  /**
   * Told when a storage fault takes the index out of service; the owner raises an alarm and
   * calls reopen(). Until then searches are 503 and puts and removals are dropped (a rebuild
   * reads the chain, which has them all).
   */
  readonly onFault?: (fault: SearchIndexFault) => void;
}

/** Resources an index walk may test per match it is after, and at least, before the list form is used instead. */
const WALK_BUDGET_PER_MATCH = 8;
const WALK_BUDGET_MIN = 256;

/** A FHIR search index over one SQLite file (or ':memory:'). */
export class SearchIndex {
  readonly #path: string;
  #db: SqliteDatabase | undefined;
  #checkpointer: WalCheckpointer | undefined;
  /** Where batched puts are written, off the main thread; none for an in-memory index. */
  #writer: IndexWriter | undefined;
  readonly #now: () => number;
  readonly #onFault: (fault: SearchIndexFault) => void;
  readonly #statements = new Map<string, Statement>();
  #pending: { resource: JsonObject; meta: IndexedMeta }[] = [];
  /** Being filled from the chain while the node serves: puts and removals land, searches wait. */
  #filling = false;

  /**
   * Opens, creating if needed, the index at `path`. Throws Error when the file holds another
   * schema version. A file SQLite cannot read is deleted and reported to onFault (when given)
   * instead: the index then starts out of service, awaiting reopen().
   */
  constructor(path: string, options: SearchIndexOptions = {}) {
    this.#path = path;
    this.#now = options.now ?? Date.now;
    // Without an owner to rebuild it, a faulted index just stays out of service (searches 503).
    this.#onFault = options.onFault ?? (() => {});
    try {
      this.#open();
    } catch (error) {
      if (options.onFault === undefined || storageFaultOf(error) === undefined) throw error;
      this.#fail(error);
    }
  }

  /** False while a storage fault has taken the index out of service, until reopen() succeeds, and while it is being filled. */
  get available(): boolean {
    return this.#db !== undefined && !this.#filling;
  }

  /**
   * Until endFill(), searches answer 503 (with Retry-After) while puts and removals are taken:
   * the index is being filled from the chain a slice at a time, and a search must not answer
   * from part of it.
   */
  beginFill(): void {
    this.#filling = true;
  }

  /** Every entry the chain holds has been put: searches are answered again. */
  endFill(): void {
    this.#filling = false;
  }

  /**
   * Brings an out-of-service index back as a fresh, empty file being filled (see beginFill): its
   * owner fills it from the chain, then calls endFill(). Returns false, after reporting the
   * fault to onFault again, when the file cannot be opened either.
   */
  reopen(): boolean {
    if (this.#db !== undefined) return true;
    try {
      this.#open();
      this.#filling = true;
    } catch (error) {
      this.#fail(error);
    }
    return this.#db !== undefined;
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
   * put() batched with the others of this event-loop turn into one transaction, written on the
   * writer thread: the write path of a busy server. Anything that reads or removes first waits
   * for the batches in flight, so a search always sees every put made before it.
   */
  putSoon(resource: JsonObject, meta: IndexedMeta): void {
    if (this.#pending.length === 0) setImmediate(() => this.#flush());
    this.#pending.push({ resource, meta });
  }

  /**
   * Sends the batched puts to the writer thread (writes them, for an in-memory index). It runs
   * from setImmediate, where a throw would end the process, so any failure takes the index out of
   * service (to be rebuilt from the chain) instead.
   */
  #flush(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    if (this.#db === undefined) return;
    try {
      const puts = pending.map(({ resource, meta }) => indexPut(resource, meta));
      if (this.#writer === undefined) this.#insertAll(puts);
      else this.#writer.post(puts);
    } catch (error) {
      if (this.#db !== undefined) this.#fail(error);
    }
  }

  /** Every put made so far is written: the batch of this turn sent, and the writer thread waited for. */
  #caughtUp(): void {
    this.#flush();
    try {
      this.#writer?.settle();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** #caughtUp() before a read, which is refused (503) while the index is being filled. */
  #readyToRead(): void {
    if (this.#filling) throw unavailable();
    this.#caughtUp();
  }

  /**
   * put() for many resources in one transaction, which is how a bulk import should call it.
   * Throws TypeError and RangeError as put() does; a storage fault is reported to onFault and the
   * puts are dropped (the rebuild restores them).
   */
  putAll(entries: readonly { resource: JsonObject; meta: IndexedMeta }[]): void {
    const puts = entries.map(({ resource, meta }) => indexPut(resource, meta));
    this.#caughtUp();
    this.#write(() => this.#insertAll(puts));
  }

  /** Forgets `type/id` and every value derived from it. Returns true when it was indexed. */
  remove(type: string, id: string): boolean {
    return this.#removeWhere('type = ? AND id = ?', type, id) > 0;
  }

  /** Forgets every resource indexed under `patientId`, the Patient included. Returns how many. */
  removePatient(patientId: string): number {
    return this.#removeWhere('patient_id = ?', patientId);
  }

  /**
   * Forgets whatever is indexed from chain record `recordId`: a record no longer active, or one
   * whose newest version yields no entry. Looked up first without waiting for puts in flight, so
   * a record with no entry costs one lookup; dropped, never thrown, while the index is out of
   * service (a rebuild reads the chain). Returns true when something was removed.
   */
  removeRecord(recordId: string): boolean {
    const indexed = this.#write(
      () =>
        this.#statement('SELECT 1 FROM resource WHERE record_id = ?').get(recordId) !== undefined,
      false,
    );
    return indexed && this.#removeWhere('record_id = ?', recordId) > 0;
  }

  /**
   * Deletes the resources `where` selects, with their values, once the puts in flight are
   * written; the checkpoint after it truncates the WAL, so nothing removed lingers there.
   * Returns how many; none while the index is out of service.
   */
  #removeWhere(where: string, ...args: string[]): number {
    this.#caughtUp();
    return this.#write(() => {
      const removed = this.#statement(`DELETE FROM resource WHERE ${where}`).run(...args).changes;
      truncateWal(this.#database());
      return removed;
    }, 0);
  }

  /**
   * The entry read from chain record `recordId`, if any: what a start after a crash compares
   * with the chain. Answered while the index is being filled, from what the writer thread has
   * committed, without waiting for puts in flight (a walk asks this of every record): a put
   * still in flight shows as missing or older, and is put again, which is harmless.
   */
  entryOf(recordId: string): IndexedRecord | undefined {
    return this.#read(
      () =>
        this.#statement('SELECT type, id, version FROM resource WHERE record_id = ?').get(
          recordId,
        ) as IndexedRecord | undefined,
    );
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
    this.#readyToRead();
    const compiled = compileSearch(type, params, this.#now());
    return this.#read(() => this.#run(compiled));
  }

  #run({ where, orderBy, count, offset }: ReturnType<typeof compileSearch>): SearchResult {
    const total = this.#statement(`SELECT COUNT(*) AS n FROM resource r WHERE ${where.sql}`).get(
      ...where.args,
    ) as { n: number };
    if (count === 0) return { ids: [], total: total.n };
    const sql = `SELECT r.id FROM resource r WHERE ${where.sql} ORDER BY ${orderBy.sql} LIMIT ? OFFSET ?`;
    const ids = this.#statement(sql)
      .pluck()
      .all(...where.args, ...orderBy.args, count, offset) as string[];
    return { ids, total: total.n };
  }

  /**
   * Ids of the `type` resources matching `params` (as search() reads them, but ignoring _count
   * and _offset), in result order, from the `start`th match, at most `limit`: the candidates a
   * caller's search pages over once consent has filtered them. No total is counted. `links`
   * narrow it further: chains and _has the caller resolved (chain.ts). With `afterId`, a keyset
   * page of a search sorted by `_id` alone: only ids after it. Throws RangeError for a keyset
   * page of another order.
   */
  searchIds(
    type: string,
    params: URLSearchParams,
    start: number,
    limit: number,
    links: readonly SqlPart[] = [],
    afterId?: string,
  ): string[] {
    this.#readyToRead();
    const { indexOrdered, idOrdered } = sortOrderOf(params);
    if (afterId !== undefined && !idOrdered)
      throw new RangeError('a keyset page continues a search sorted by _id alone');
    const after = afterId === undefined ? [] : [idAfter(afterId)];
    if (indexOrdered) {
      const walked = this.#walkIds(type, params, start + limit, links, after);
      if (walked !== undefined) return walked.slice(start);
    }
    // Compiled only when the walk did not answer: most index-ordered pages never need it.
    const { where, orderBy } = compileSearch(type, params, this.#now(), [...links, ...after]);
    const sql = `SELECT r.id FROM resource r WHERE ${where.sql} ORDER BY ${orderBy.sql} LIMIT ? OFFSET ?`;
    return this.#statement(sql)
      .pluck()
      .all(...where.args, ...orderBy.args, limit, start) as string[];
  }

  /**
   * The first `wanted` matches found by walking the `type` resources in result order, testing
   * each with correlated filters, within a budget of WALK_BUDGET_PER_MATCH per wanted match:
   * when most resources match, this costs the page, not every match. Undefined when the budget
   * ran out first (few match), and the list form is the cheaper one.
   */
  #walkIds(
    type: string,
    params: URLSearchParams,
    wanted: number,
    links: readonly SqlPart[],
    after: readonly SqlPart[],
  ): string[] | undefined {
    const { where, orderBy } = compileSearch(type, params, this.#now(), links, 'correlated');
    const budget = Math.max(WALK_BUDGET_MIN, wanted * WALK_BUDGET_PER_MATCH);
    // The walk starts where a keyset page does: its window is the resources after that id.
    const from = `FROM resource r WHERE r.type = ?${after.map((part) => ` AND ${part.sql}`).join('')}`;
    const fromArgs = [type, ...after.flatMap((part) => part.args)];
    const window = `SELECT r.rid, r.type, r.id, r.patient_id, r.last_updated ${from} ORDER BY ${orderBy.sql} LIMIT ?`;
    const ids = this.#statement(
      `SELECT r.id FROM (${window}) r WHERE ${where.sql} ORDER BY ${orderBy.sql} LIMIT ?`,
    )
      .pluck()
      .all(
        ...fromArgs,
        ...orderBy.args,
        budget,
        ...where.args,
        ...orderBy.args,
        wanted,
      ) as string[];
    if (ids.length >= wanted) return ids;
    const walked = this.#statement(`SELECT COUNT(*) FROM (SELECT 1 ${from} LIMIT ?)`)
      .pluck()
      .get(...fromArgs, budget) as number;
    return walked < budget ? ids : undefined;
  }

  /**
   * The references ('Type/id') that reference parameter `param` of the `type` resources `ids`
   * holds, each once, ordered by the position of its first holder in `ids`: what
   * _include=type:param follows, read from the index rather than from decrypted resources.
   * References naming no Type/id are left out. Throws FhirError 400 as idsReferencing().
   */
  referencesFrom(type: string, param: string, ids: readonly string[]): string[] {
    this.#readyToRead();
    if (searchParameter(type, param)?.kind !== 'reference')
      throw FhirError.of(
        400,
        'not-supported',
        `${type} has no reference search parameter '${param}'`,
      );
    if (ids.length === 0) return [];
    const sql =
      'SELECT r.id AS id, v.reference AS reference FROM resource r JOIN reference_value v ON v.rid = r.rid ' +
      'WHERE r.type = ? AND v.param = ? AND v.id IS NOT NULL AND r.id IN (SELECT value FROM json_each(?)) ORDER BY v.rowid';
    const rows = this.#statement(sql).all(type, parameterKey(type, param), JSON.stringify(ids)) as {
      id: string;
      reference: string;
    }[];
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
    this.#readyToRead();
    if (searchParameter(type, param)?.kind !== 'reference')
      throw FhirError.of(
        400,
        'not-supported',
        `${type} has no reference search parameter '${param}'`,
      );
    if (references.length === 0) return [];
    const sql =
      'SELECT DISTINCT r.id FROM resource r JOIN reference_value v ON v.rid = r.rid ' +
      'WHERE r.type = ? AND v.param = ? AND v.reference IN (SELECT value FROM json_each(?)) ORDER BY r.id';
    return this.#read(
      () =>
        this.#statement(sql)
          .pluck()
          .all(type, parameterKey(type, param), JSON.stringify(references)) as string[],
    );
  }

  /** How many resources and value rows the index holds: for tests and monitoring. */
  counts(): { resources: number; values: number } {
    this.#readyToRead();
    return this.#read(() => {
      const resources = this.#statement('SELECT COUNT(*) FROM resource').pluck().get() as number;
      const values = Object.values(VALUE_TABLES).reduce(
        (sum, table) =>
          sum + (this.#statement(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number),
        0,
      );
      return { resources, values };
    });
  }

  /** Closes the file; the index is unusable afterwards. */
  close(): void {
    this.#caughtUp();
    this.#writer?.close();
    this.#writer = undefined;
    this.#statements.clear();
    this.#checkpointer?.close();
    this.#db?.close();
    this.#db = undefined;
  }

  /** Opens the file, with its puts written and its log checkpointed off the main thread: puts land all over its indexes. */
  #open(): void {
    const db = (this.#db = openIndexDatabase(this.#path));
    this.#checkpointer = WalCheckpointer.of(db);
    if (!db.memory)
      this.#writer = new IndexWriter(this.#path, (error) => {
        if (this.#db === db) this.#fail(error);
      });
  }

  /** Runs a read; out of service, or on a storage fault, throws FhirError 503 with Retry-After. */
  #read<T>(run: () => T): T {
    if (this.#db === undefined) throw unavailable();
    try {
      return run();
    } catch (error) {
      if (storageFaultOf(error) === undefined) throw error;
      this.#fail(error);
      throw unavailable();
    }
  }

  /** Runs a write; out of service, or on a storage fault, it is dropped (the rebuild restores it) and `dropped` returned. */
  #write<T>(run: () => T, dropped?: T): T {
    if (this.#db === undefined) return dropped as T;
    try {
      return run();
    } catch (error) {
      if (storageFaultOf(error) === undefined) throw error;
      this.#fail(error);
      return dropped as T;
    }
  }

  /**
   * Takes the index out of service after `error`: closes the file, then deletes it (derived data,
   * holding patients' values), so the rebuild starts from an empty file. Never throws; tells
   * onFault.
   */
  #fail(error: unknown): void {
    const kind = storageFaultOf(error) ?? 'damaged';
    this.#writer?.close();
    this.#writer = undefined;
    this.#checkpointer?.close();
    this.#checkpointer = undefined;
    try {
      this.#db?.close();
    } catch {
      // A damaged file may fail to close cleanly; it is deleted all the same.
    }
    this.#db = undefined;
    this.#statements.clear();
    this.#pending = [];
    if (this.#path !== ':memory:') removeIndexFile(this.#path);
    const reason = error instanceof Error ? error.message : String(error);
    this.#onFault({ kind, reason });
  }

  #database(): SqliteDatabase {
    if (this.#db === undefined) throw unavailable();
    return this.#db;
  }

  /** Writes `puts` in one transaction on this thread's connection, as the writer thread does. */
  #insertAll(puts: readonly IndexPut[]): void {
    this.#database().transaction(() => {
      for (const put of puts) this.#insert(put);
    })();
  }

  #insert([type, id, patientId, lastUpdated, recordId, version, rows]: IndexPut): void {
    this.#statement('DELETE FROM resource WHERE type = ? AND id = ?').run(type, id);
    const insert = this.#statement(
      'INSERT INTO resource (type, id, patient_id, last_updated, record_id, version) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const rid = insert.run(type, id, patientId, lastUpdated, recordId, version).lastInsertRowid;
    for (const [sql, ...values] of rows) this.#statement(sql).run(rid, ...values);
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= SEARCH_STATEMENT_CACHE_MAX) this.#statements.clear();
      statement = this.#database().prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** The answer to a search while the index is out of service. */
function unavailable(): FhirError {
  const diagnostics =
    'the search index is out of service and being rebuilt from the chain; retry later';
  return new FhirError(503, [{ severity: 'error', code: 'transient', diagnostics }], {
    'Retry-After': String(SEARCH_INDEX_RETRY_AFTER_SECONDS),
  });
}

/**
 * What indexing `resource` writes: its identity, its meta, and an INSERT per value. Throws
 * TypeError unless it has a string resourceType and id, RangeError unless meta.lastUpdated is an
 * integer.
 */
function indexPut(resource: JsonObject, meta: IndexedMeta): IndexPut {
  const type = resource['resourceType'];
  const id = resource['id'];
  if (typeof type !== 'string' || typeof id !== 'string' || id === '')
    throw new TypeError('resource must have a string resourceType and id');
  if (!Number.isSafeInteger(meta.lastUpdated))
    throw new RangeError('meta.lastUpdated must be an integer epoch ms');
  const rows = rowsFor(resource, meta).map((row) =>
    valueInsert(parameterKey(type, row.param), row),
  );
  return [
    type,
    id,
    meta.patientId,
    meta.lastUpdated,
    meta.recordId ?? null,
    meta.version ?? null,
    rows,
  ];
}

/** The INSERT of one value row under parameter key `key`, and its values but the rid. */
function valueInsert(key: string, row: IndexRow): readonly [string, ...SqlValue[]] {
  return [VALUE_INSERTS[row.kind], key, ...rowValues(row)];
}

/** Per kind of value, its table's columns after rid and param, in rowValues' order. */
const VALUE_COLUMNS: Readonly<Record<IndexRow['kind'], readonly string[]>> = {
  token: ['system', 'code', 'text'],
  string: ['value', 'exact'],
  date: ['low', 'high'],
  quantity: ['value', 'system', 'code', 'unit'],
  reference: ['reference', 'id'],
};

/** Per kind of value, the INSERT of one row: built once, not per value of every put. */
const VALUE_INSERTS = Object.fromEntries(
  Object.entries(VALUE_COLUMNS).map(([kind, columns]) => [
    kind,
    `INSERT INTO ${VALUE_TABLES[kind as IndexRow['kind']]} (rid, param, ${columns.join(', ')}) VALUES (?, ?, ${columns.map(() => '?').join(', ')})`,
  ]),
) as Readonly<Record<IndexRow['kind'], string>>;

/** The resource's rows, with _lastUpdated from `meta`: the store strips meta.lastUpdated from what it keeps. */
function rowsFor(resource: JsonObject, meta: IndexedMeta): IndexRow[] {
  const rows = extractValues(resource).filter((row) => row.param !== '_lastUpdated');
  return [
    ...rows,
    { param: '_lastUpdated', kind: 'date', low: meta.lastUpdated, high: meta.lastUpdated + 1 },
  ];
}

function rowValues(row: IndexRow): SqlValue[] {
  switch (row.kind) {
    case 'token':
      return [row.system, row.code, row.text];
    case 'string':
      return [row.value, row.exact];
    case 'date':
      return [row.low, row.high];
    case 'quantity':
      return [row.value, row.system, row.code, row.unit];
    case 'reference':
      return [row.reference, row.id];
  }
}
