/**
 * A contract table declared once with the shape of its rows: reads come back typed, so no
 * caller casts what state returns, and writes take only rows of that shape.
 */
import type { JsonValue } from '../crypto/index.js';
import type { StateReader, Write } from './state.js';

/** `T` when every value it can hold is JSON (what canonical state stores); never otherwise. */
export type JsonShaped<T> = T extends string | number | boolean | null
  ? T
  : T extends readonly (infer Item)[]
    ? readonly JsonShaped<Item>[]
    : T extends object
      ? { readonly [K in keyof T]: JsonShaped<T[K]> }
      : never;

/** One state table: its wire name and typed access to its rows. */
export interface Table<Row> {
  /** The table's name in state and in every write set: part of the wire format. */
  readonly name: string;
  /** The row at `key`, or undefined when absent. */
  get(state: StateReader, key: string): Row | undefined;
  /** True when `key` has a row. */
  has(state: StateReader, key: string): boolean;
  /** The write that stores `row` at `key`. */
  put(key: string, row: Row): Write;
  /** The write that deletes `key`. */
  remove(key: string): Write;
  /** The row a write-set entry stores, when the entry is of this table and not a deletion. */
  rowOf(table: string, value: JsonValue | null): Row | undefined;
}

/** A table name, accepted only for a `Row` that is JSON: a row with a Date or a function does not compile. */
export type TableName<Row> = [Row] extends [JsonShaped<Row>] ? string : never;

/**
 * Declares the table `name` whose rows are `Row`. Rows are trusted to have the shape their
 * table's contract wrote: only contracts write state, and only through validated bodies.
 */
export function defineTable<Row extends object>(name: TableName<Row>): Table<Row> {
  return {
    name,
    get: (state, key) => state.get(name, key) as unknown as Row | undefined,
    has: (state, key) => state.get(name, key) !== undefined,
    put: (key, row) => ({ table: name, key, value: row as unknown as JsonValue }),
    remove: (key) => ({ table: name, key, value: null }),
    rowOf: (table, value) =>
      table === name && value !== null ? (value as unknown as Row) : undefined,
  };
}
