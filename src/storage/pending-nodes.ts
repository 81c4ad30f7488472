/** Merkle nodes of a block not yet committed, layered over the committed ones. */
import type { MerkleNodeStore } from '../ledger/index.js';

/** Reads fall through to `base`; writes stay here until the block commits. */
export class PendingNodeStore implements MerkleNodeStore {
  readonly #nodes = new Map<number, [level: number, index: number, hash: Uint8Array]>();

  constructor(private readonly base: MerkleNodeStore) {}

  getNode(level: number, index: number): Uint8Array | undefined {
    return this.#nodes.get(index * 64 + level)?.[2] ?? this.base.getNode(level, index);
  }

  putNode(level: number, index: number, hash: Uint8Array): void {
    this.#nodes.set(index * 64 + level, [level, index, hash]);
  }

  /** The nodes written since construction, as ChainStore.commit takes them. */
  written(): [level: number, index: number, hash: Uint8Array][] {
    return [...this.#nodes.values()];
  }
}
