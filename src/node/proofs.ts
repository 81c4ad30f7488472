/**
 * RFC 9162 proofs as the ledger API serves them. Sizes must be those of signed tree heads
 * (the logSize of some block), so a client can check every root against a proposer signature.
 */
import { toHex } from '../crypto/index.js';
import { TX_RECORDS } from '../contracts/index.js';
import { hashLeaf, MerkleLog, type BlockHeader } from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';

/** A proof request that cannot be answered; `kind` maps to HTTP 404 or 400. */
export class ProofRequestError extends Error {
  constructor(
    readonly kind: 'not-found' | 'bad-request',
    message: string,
  ) {
    super(message);
    this.name = 'ProofRequestError';
  }
}

/** RFC 9162 §2.1.3 inclusion proof of a transaction, with the signed tree head it proves against. */
export interface InclusionProofResponse {
  readonly txId: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly leafHash: string;
  readonly inclusionProof: string[];
  readonly treeHead: BlockHeader;
}

/** RFC 9162 §2.1.4 consistency proof between two signed tree heads. */
export interface ConsistencyProofResponse {
  readonly first: number;
  readonly second: number;
  readonly consistencyProof: string[];
  readonly firstTreeHead: BlockHeader;
  readonly secondTreeHead: BlockHeader;
}

function treeHead(store: ChainStore, treeSize: number, name: string): BlockHeader {
  const header = Number.isSafeInteger(treeSize) ? store.headerAtLogSize(treeSize) : undefined;
  if (header === undefined)
    throw new ProofRequestError(
      'bad-request',
      `${name} must be the logSize of a committed block (a signed tree head)`,
    );
  return header;
}

/** Proves `txId` is in the log of size `treeSize` (default: the newest). Throws ProofRequestError. */
export function inclusionProof(
  store: ChainStore,
  txId: string,
  treeSize?: number,
): InclusionProofResponse {
  const record = TX_RECORDS.get(store.state, txId);
  if (record === undefined)
    throw new ProofRequestError('not-found', 'no committed transaction has that txId');
  const head = store.head()!;
  const size = treeSize ?? head.logSize;
  const header = treeHead(store, size, 'treeSize');
  if (record.leafIndex >= size)
    throw new ProofRequestError(
      'bad-request',
      `transaction is at leafIndex ${record.leafIndex}, beyond treeSize ${size}`,
    );
  const log = new MerkleLog(store.logNodes, head.logSize);
  const stored = store.tx(record.leafIndex)!;
  return {
    txId,
    leafIndex: record.leafIndex,
    treeSize: size,
    leafHash: toHex(hashLeaf(stored.bytes)),
    inclusionProof: log.inclusionProof(record.leafIndex, size).map(toHex),
    treeHead: header,
  };
}

/** Proves the log at size `first` is a prefix of the log at size `second`. Throws ProofRequestError. */
export function consistencyProof(
  store: ChainStore,
  first: number,
  second: number,
): ConsistencyProofResponse {
  const firstTreeHead = treeHead(store, first, 'first');
  const secondTreeHead = treeHead(store, second, 'second');
  if (first > second) throw new ProofRequestError('bad-request', 'first must not exceed second');
  const log = new MerkleLog(store.logNodes, store.head()!.logSize);
  return {
    first,
    second,
    consistencyProof: log.consistencyProof(first, second).map(toHex),
    firstTreeHead,
    secondTreeHead,
  };
}
