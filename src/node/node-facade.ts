/**
 * The one view of a node that the FHIR and HTTP layers use: records, access (bound per request
 * to its caller and purpose, `as`), consent,
 * break-the-glass, erasure, proofs and checkpoints, submission, and read-only ledger reads.
 * Never the store, the executor, the orderer or a private key; the compiler holds them to it.
 */
import type { ChartChainNode } from './node.js';
import type { NodePeerBlobs } from './peer-blobs.js';

/** The organisation as those layers may see it: public key ids only. */
export interface NodeIdentity {
  readonly orgId: string;
  readonly signingKeyId: string;
  /** True when `publicKey` (X25519, hex) is one of this organisation's encryption keys, of any generation. */
  holdsEncryptionKey(publicKey: string): boolean;
}

type FacadeMember =
  | 'dataDir'
  | 'config'
  | 'identity'
  | 'ledger'
  | 'records'
  | 'as'
  | 'trail'
  | 'consent'
  | 'breakTheGlass'
  | 'checkpoints'
  | 'pseudonyms'
  | 'homePatients'
  | 'peerAuth'
  | 'halted'
  | 'pendingCount'
  | 'head'
  | 'block'
  | 'blockHash'
  | 'submit'
  | 'submitAndWait'
  | 'waitForTx'
  | 'lookupTx'
  | 'signAsOrg'
  | 'erasure'
  | 'erasures'
  | 'onCommitted'
  | 'observeCommits'
  | 'observeLedgerTurns'
  | 'collectAfterFailedWrite';

export type NodeFacade = Pick<ChartChainNode, FacadeMember> & {
  /** Serving ciphertexts to peers, and hearing of those fetched from them. */
  readonly peerBlobs: Pick<NodePeerBlobs, 'serve' | 'onArrival'>;
};
