/**
 * A chain held in memory: what the verifier rebuilds from blocks alone, trusting no stored
 * state. State rows are kept as their canonical text and log nodes in one dense buffer per
 * level, so a replay of millions of transactions holds few objects for the collector to trace.
 */
import type { JsonValue } from '../crypto/index.js';
import type { StateReader } from '../contracts/index.js';
import type { BlockHeader, MerkleNodeStore } from '../ledger/index.js';
import type { BlockCommit } from '../storage/index.js';
import type { ChainView } from './block-assembly.js';

const HASH_BYTES = 32;

/** Perfect-subtree hashes, each level one growable buffer indexed by node index. */
class DenseNodeStore implements MerkleNodeStore {
  readonly #levels: { buffer: Buffer; count: number }[] = [];

  getNode(level: number, index: number): Uint8Array | undefined {
    const nodes = this.#levels[level];
    if (nodes === undefined || index >= nodes.count) return undefined;
    return new Uint8Array(nodes.buffer.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES));
  }

  /** Requires nodes of a level to arrive in index order, as an append-only log writes them. */
  putNode(level: number, index: number, hash: Uint8Array): void {
    const nodes = (this.#levels[level] ??= { buffer: Buffer.alloc(HASH_BYTES * 1024), count: 0 });
    if (index > nodes.count)
      throw new RangeError(
        `node (${level}, ${index}) arrived before node (${level}, ${nodes.count})`,
      );
    if ((index + 1) * HASH_BYTES > nodes.buffer.length) {
      const grown = Buffer.alloc(nodes.buffer.length * 2);
      nodes.buffer.copy(grown);
      nodes.buffer = grown;
    }
    nodes.buffer.set(hash, index * HASH_BYTES);
    nodes.count = Math.max(nodes.count, index + 1);
  }
}

/** In-memory ChainView that applies commits. */
export class MemoryChain implements ChainView {
  /** table → key → canonical JSON text of the value. */
  readonly #tables = new Map<string, Map<string, string>>();
  readonly logNodes: MerkleNodeStore = new DenseNodeStore();
  #head: BlockHeader | undefined;

  readonly state: StateReader = {
    get: (table, key) => {
      const text = this.#tables.get(table)?.get(key);
      return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
    },
  };

  head(): BlockHeader | undefined {
    return this.#head;
  }

  /** The rows of `table` as canonical text, for comparison with a store. */
  rows(table: string): ReadonlyMap<string, string> {
    return this.#tables.get(table) ?? new Map();
  }

  /** Applies a validated block. */
  apply(commit: BlockCommit): void {
    for (const [level, index, hash] of commit.logNodes) this.logNodes.putNode(level, index, hash);
    commit.writeSet.forEach(([table, key, value], i) => {
      let rows = this.#tables.get(table);
      if (rows === undefined) this.#tables.set(table, (rows = new Map()));
      if (value === null) rows.delete(key);
      else rows.set(key, commit.valueTexts[i]!);
    });
    this.#head = commit.header;
  }
}
