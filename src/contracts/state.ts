/**
 * Contract state as tables of canonical JSON values, and the per-block overlay that lets a
 * transaction see the writes of those before it in the same block.
 */
import type { JsonValue } from '../crypto/index.js';

/** Read access to committed state. `undefined` means absent. */
export interface StateReader {
  get(table: string, key: string): JsonValue | undefined;
}

/** One state change. A `null` value deletes the key. */
export interface Write {
  readonly table: string;
  readonly key: string;
  readonly value: JsonValue | null;
}

/** A write-set entry in canonical order: [table, key, value]. */
export type WriteSetEntry = readonly [table: string, key: string, value: JsonValue | null];

/**
 * Committed state plus the writes of the block being executed. Reads see the newest write;
 * `writeSet()` returns each key's final value, sorted by table then key (code-unit order).
 */
export class BlockState implements StateReader {
  readonly #tables = new Map<string, Map<string, JsonValue | null>>();

  constructor(private readonly base: StateReader) {}

  get(table: string, key: string): JsonValue | undefined {
    const written = this.#tables.get(table)?.get(key);
    if (written !== undefined) return written ?? undefined;
    return this.base.get(table, key);
  }

  /** Records `writes` in order; a later write to a key replaces an earlier one. */
  apply(writes: readonly Write[]): void {
    for (const { table, key, value } of writes) {
      let rows = this.#tables.get(table);
      if (rows === undefined) this.#tables.set(table, (rows = new Map()));
      rows.set(key, value);
    }
  }

  /** The block's net writes in canonical order. */
  writeSet(): WriteSetEntry[] {
    const entries: WriteSetEntry[] = [];
    for (const table of [...this.#tables.keys()].sort()) {
      const rows = this.#tables.get(table)!;
      for (const key of [...rows.keys()].sort()) entries.push([table, key, rows.get(key)!]);
    }
    return entries;
  }
}
