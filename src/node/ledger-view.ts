/**
 * What the HTTP and FHIR layers may read of the chain: committed state, blocks, transactions
 * and RFC 9162 proofs. Read-only, and never the store itself.
 */
import type { StateReader } from '../contracts/index.js';
import type { BlockHeader } from '../ledger/index.js';
import type { ChainStore, StoredTx } from '../storage/index.js';
import { blockPage } from './peer-blocks.js';
import {
  consistencyProof,
  inclusionProof,
  type ConsistencyProofResponse,
  type InclusionProofResponse,
} from './proofs.js';

export class LedgerView {
  readonly #store: ChainStore;

  constructor(store: ChainStore) {
    this.#store = store;
  }

  /** Committed contract state. */
  get state(): StateReader {
    return this.#store.state;
  }

  /** Every key of a state table, sorted. */
  stateKeys(table: string): string[] {
    return this.#store.stateKeys(table);
  }

  /** The transaction at log position `leafIndex`. */
  tx(leafIndex: number): StoredTx | undefined {
    return this.#store.tx(leafIndex);
  }

  /** The header at `height`, its stored hash re-checked. */
  header(height: number): BlockHeader | undefined {
    return this.#store.header(height);
  }

  /** The signed tree head of the log at `logSize`. */
  headerAtLogSize(logSize: number): BlockHeader | undefined {
    return this.#store.headerAtLogSize(logSize);
  }

  /** Proves `txId` is in the log of size `treeSize` (default: the newest). Throws ProofRequestError. */
  inclusionProof(txId: string, treeSize?: number): InclusionProofResponse {
    return inclusionProof(this.#store, txId, treeSize);
  }

  /** Proves the log at size `first` is a prefix of the log at size `second`. Throws ProofRequestError. */
  consistencyProof(first: number, second: number): ConsistencyProofResponse {
    return consistencyProof(this.#store, first, second);
  }

  /** Canonical blocks from `from`, one per line, for a peer catching up. */
  blockPage(from: number, countMax: number): Uint8Array {
    return blockPage(this.#store, from, countMax);
  }
}
