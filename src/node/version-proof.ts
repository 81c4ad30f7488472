/**
 * The anchoring transaction of a record version with its RFC 9162 inclusion proof, checked in
 * pairs before it is served: the stored bytes are re-hashed against the txId the version names,
 * the block they sit in against its txRoot, and the proof against the signed tree head. A
 * mismatch is a RecordIntegrityError naming record, version and stage, never a proof that a
 * client would only find broken later.
 */
import { fromHex } from '../crypto/index.js';
import type { VersionRow } from '../contracts/index.js';
import { hashLeaf, txIdOf, verifyInclusion } from '../ledger/index.js';
import { StorageIntegrityError, type ChainStore } from '../storage/index.js';
import { inclusionProof, type InclusionProofResponse } from './proofs.js';
import { RecordIntegrityError } from './record-service.js';

/** The checked transaction bytes and inclusion proof of `version`. Throws RecordIntegrityError, and ProofRequestError when its txId is not committed. */
export function versionProof(
  store: ChainStore,
  version: Pick<VersionRow, 'recordId' | 'version' | 'txId'>,
): { bytes: Uint8Array; proof: InclusionProofResponse } {
  const fault = (stage: RecordIntegrityError['stage'], expected: string, actual: string) =>
    new RecordIntegrityError(version.recordId, version.version, stage, expected, actual);
  const proof = inclusionProof(store, version.txId);
  const stored = store.tx(proof.leafIndex);
  if (stored === undefined) throw fault('transaction-hash', version.txId, 'no stored transaction');
  const actualTxId = txIdOf(stored.bytes);
  if (actualTxId !== version.txId) throw fault('transaction-hash', version.txId, actualTxId);
  try {
    store.block(stored.height);
  } catch (error) {
    if (error instanceof StorageIntegrityError)
      throw fault('tx-root', `block ${stored.height} as signed`, error.what);
    throw error;
  }
  try {
    verifyInclusion(
      proof.leafIndex,
      proof.treeSize,
      hashLeaf(stored.bytes),
      proof.inclusionProof.map((hash) => fromHex(hash)),
      fromHex(proof.treeHead.logRoot),
    );
  } catch (error) {
    throw fault(
      'inclusion',
      `a proof to logRoot ${proof.treeHead.logRoot}`,
      error instanceof Error ? error.message : String(error),
    );
  }
  return { bytes: stored.bytes, proof };
}
