/** A chain held in memory: what the verifier rebuilds from blocks alone, trusting no stored state. */
import type { JsonValue } from '../crypto/index.js';
import type { StateReader } from '../contracts/index.js';
import { MemoryNodeStore, type BlockHeader } from '../ledger/index.js';
import type { BlockCommit } from '../storage/index.js';
import type { ChainView } from './block-assembly.js';

/** In-memory ChainView that applies commits. */
export class MemoryChain implements ChainView {
  readonly tables = new Map<string, Map<string, JsonValue>>();
  readonly logNodes = new MemoryNodeStore();
  #head: BlockHeader | undefined;

  readonly state: StateReader = {
    get: (table, key) => this.tables.get(table)?.get(key),
  };

  head(): BlockHeader | undefined {
    return this.#head;
  }

  /** Applies a validated block. */
  apply(commit: BlockCommit): void {
    for (const [level, index, hash] of commit.logNodes) this.logNodes.putNode(level, index, hash);
    for (const [table, key, value] of commit.writeSet) {
      let rows = this.tables.get(table);
      if (rows === undefined) this.tables.set(table, (rows = new Map()));
      if (value === null) rows.delete(key);
      else rows.set(key, value);
    }
    this.#head = commit.header;
  }
}
