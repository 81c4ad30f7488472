/**
 * Contract state with a write-back overlay. Blocks are durable as soon as they commit; state
 * tables are written in larger batches (a savepoint), because their keys (txIds, key ids) are
 * random and one B-tree page write per key would make commit cost grow with the table. After a
 * crash the node replays the blocks after the savepoint, as Fabric peers do.
 */
import assert from 'node:assert/strict';
import type { Statement } from 'better-sqlite3';
import type { JsonValue } from '../crypto/index.js';
import type { StateReader, WriteSetEntry } from '../contracts/index.js';
import { AbsentKeys } from './absent-keys.js';
import { stateTableName } from './chain-schema.js';
import type { SqliteDatabase } from './database.js';
import type { WriteStep } from './sqlite-writer.js';
import { STATE_CACHE_ENTRY_COUNT_MAX } from '../ledger/index.js';

const STATE_HEIGHT_KEY = 'state_height';

interface TableStatements {
  readonly get: Statement;
  readonly put: Statement | undefined;
  readonly remove: Statement | undefined;
  readonly putSql: string;
  readonly removeSql: string;
}

type Overlay = Map<string, Map<string, string | null>>;
const WRITE_HEIGHT_SQL =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/** State tables plus the writes of blocks committed since the last savepoint. */
export class StateStore implements StateReader {
  readonly #statements = new Map<string, TableStatements>();
  /** table → key → canonical value text, or null for a deletion. */
  #overlay: Overlay = new Map();
  #overlayCount = 0;
  /** The overlay a savepoint is writing on another connection: read until that commits. */
  #saving: Overlay | undefined;
  /**
   * Parsed values of recently read or written keys, `null` for known-absent. Hot rows (the
   * signer's key and organisation, its nonce) are read by every transaction, and each txId is
   * looked up at admission and again at execution. Values are shared: callers never mutate them.
   */
  readonly #cache = new Map<string, JsonValue | null>();
  readonly #readHeight: Statement;
  readonly #writeHeight: Statement | undefined;
  /** Keys the tables certainly lack, answered without SQLite once built. */
  readonly absentKeys: AbsentKeys;

  constructor(
    private readonly db: SqliteDatabase,
    readonly tables: readonly string[],
  ) {
    for (const table of tables) {
      const name = stateTableName(table);
      const putSql = `INSERT INTO ${name} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
      const removeSql = `DELETE FROM ${name} WHERE key = ?`;
      this.#statements.set(table, {
        get: db.prepare(`SELECT value FROM ${name} WHERE key = ?`).pluck(),
        put: db.readonly ? undefined : db.prepare(putSql),
        remove: db.readonly ? undefined : db.prepare(removeSql),
        putSql,
        removeSql,
      });
    }
    this.#readHeight = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.#writeHeight = db.readonly ? undefined : db.prepare(WRITE_HEIGHT_SQL);
    this.absentKeys = new AbsentKeys(db, tables, () => this.#unsavedKeys());
  }

  get(table: string, key: string): JsonValue | undefined {
    const cacheKey = `${table}\u0000${key}`;
    let value = this.#cache.get(cacheKey);
    if (value === undefined) {
      value = this.#read(table, key, cacheKey);
      this.#remember(cacheKey, value);
    }
    return value ?? undefined;
  }

  #read(table: string, key: string, cacheKey: string): JsonValue | null {
    const written = this.#overlay.get(table)?.get(key) ?? this.#saving?.get(table)?.get(key);
    if (written !== undefined) return written === null ? null : (JSON.parse(written) as JsonValue);
    const statements = this.#statements.get(table);
    if (statements === undefined) throw new RangeError(`unknown state table ${table}`);
    if (!this.absentKeys.mightHave(cacheKey)) return null;
    const text = statements.get.get(key) as string | undefined;
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  }

  #remember(cacheKey: string, value: JsonValue | null): void {
    if (this.#cache.size >= STATE_CACHE_ENTRY_COUNT_MAX) this.#cache.clear();
    this.#cache.set(cacheKey, value);
  }

  /** Records a block's write-set in the overlay. `valueTexts[i]` is the canonical text of entry i's value. */
  apply(writeSet: readonly WriteSetEntry[], valueTexts: readonly string[]): void {
    writeSet.forEach(([table, key, value], i) => {
      let rows = this.#overlay.get(table);
      if (rows === undefined) this.#overlay.set(table, (rows = new Map()));
      if (!rows.has(key)) this.#overlayCount += 1;
      rows.set(key, value === null ? null : valueTexts[i]!);
      const cacheKey = `${table}\u0000${key}`;
      this.#remember(cacheKey, value);
      this.absentKeys.add(cacheKey);
    });
  }

  /** `table\0key` of every write not yet in the tables. */
  *#unsavedKeys(): IterableIterator<string> {
    for (const overlay of [this.#overlay, this.#saving ?? new Map()])
      for (const [table, rows] of overlay)
        for (const key of rows.keys()) yield `${table}\u0000${key}`;
  }

  /** Stops the filter's scan, if one runs: before the database closes. */
  close(): void {
    this.absentKeys.close();
  }

  /** Writes not yet in the state tables. */
  get overlayCount(): number {
    return this.#overlayCount;
  }

  /** Height whose state the tables hold (the savepoint); -1 before the first. */
  get savedHeight(): number {
    const value = this.#readHeight.get(STATE_HEIGHT_KEY) as string | undefined;
    return value === undefined ? -1 : Number(value);
  }

  /** Writes the overlay into the tables as the state after block `height`, in one transaction. */
  save(height: number): void {
    assert.equal(this.#saving, undefined, 'a savepoint is being written on another connection');
    this.db.transaction(() => {
      for (const [table, rows] of this.#overlay) {
        const { put, remove } = this.#statements.get(table)!;
        for (const [key, text] of rows) {
          if (text === null) remove!.run(key);
          else put!.run(key, text);
        }
      }
      this.#writeHeight!.run(STATE_HEIGHT_KEY, String(height));
    })();
    this.#overlay.clear();
    this.#overlayCount = 0;
  }

  /**
   * Starts a savepoint written elsewhere (a SqliteWriter): returns the steps that write the
   * overlay as the state after block `height`, in parts that end with the first row to reach
   * `charsPerPart` characters (keys and values), built as they are taken. Until endSave() or
   * abandonSave(), reads still see those writes, and new blocks go to a fresh overlay.
   */
  beginSave(height: number, charsPerPart: number): Iterable<WriteStep[]> {
    assert.equal(this.#saving, undefined, 'one savepoint at a time');
    const saving = (this.#saving = this.#overlay);
    this.#overlay = new Map();
    this.#overlayCount = 0;
    const statements = this.#statements;
    return (function* parts() {
      let part: WriteStep[] = [];
      let chars = 0;
      for (const [table, rows] of saving) {
        const { putSql, removeSql } = statements.get(table)!;
        let puts: [string, string][] = [];
        let removes: [string][] = [];
        for (const [key, text] of rows) {
          if (text === null) removes.push([key]);
          else puts.push([key, text]);
          if ((chars += key.length + (text?.length ?? 0)) < charsPerPart) continue;
          part.push([putSql, puts], [removeSql, removes]);
          yield part;
          [part, puts, removes, chars] = [[], [], [], 0];
        }
        part.push([putSql, puts], [removeSql, removes]);
      }
      part.push([WRITE_HEIGHT_SQL, [[STATE_HEIGHT_KEY, String(height)]]]);
      yield part;
    })();
  }

  /** The savepoint begun is committed: its writes are read from the tables from now on. */
  endSave(): void {
    this.#saving = undefined;
  }

  /** The savepoint begun failed and rolled back: its writes go back under the newer ones, for the next. */
  abandonSave(): void {
    for (const [table, rows] of this.#saving ?? []) {
      let newer = this.#overlay.get(table);
      if (newer === undefined) this.#overlay.set(table, (newer = new Map()));
      for (const [key, text] of rows) {
        if (newer.has(key)) continue;
        newer.set(key, text);
        this.#overlayCount += 1;
      }
    }
    this.#saving = undefined;
  }

  /** Every live key of `table`, the overlay included, sorted. */
  keys(table: string): string[] {
    const keys = new Set(
      this.db
        .prepare(`SELECT key FROM ${stateTableName(table)}`)
        .pluck()
        .all() as string[],
    );
    for (const [key, text] of [
      ...(this.#saving?.get(table) ?? []),
      ...(this.#overlay.get(table) ?? []),
    ]) {
      if (text === null) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }

  /** Every stored row of `table`, sorted by key, ignoring the overlay: for verification. */
  *storedRows(table: string): IterableIterator<[key: string, value: string]> {
    yield* this.db
      .prepare(`SELECT key, value FROM ${stateTableName(table)} ORDER BY key`)
      .raw()
      .iterate() as IterableIterator<[string, string]>;
  }
}
