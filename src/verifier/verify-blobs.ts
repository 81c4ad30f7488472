/**
 * `chartchain verify --data`, for the off-chain half: every ciphertext blob of every version of a
 * record that was not erased must be stored and hash to the ciphertextHash the chain anchored.
 * The list of versions comes from the replayed chain, never from the node's stored state.
 */
import { existsSync } from 'node:fs';
import {
  RECORD_TABLE,
  TX_TABLE,
  VERSION_TABLE,
  type RecordRow,
  type TxRecord,
  type VersionRow,
} from '../contracts/index.js';
import { BlobIntegrityError, BlobMissingError, BlobStore } from '../storage/index.js';
import type { MemoryChain } from './memory-chain.js';
import { ChainVerificationError } from './verify-chain.js';
import { BLOB_FAULTS_LISTED_MAX } from '../ledger/index.js';

/**
 * Checks the blobs under `blobDir` against `chain`. Returns one ChainVerificationError per
 * missing or altered blob (at the height of the block that anchored it), in height order, at
 * most BLOB_FAULTS_LISTED_MAX; and how many there were in all.
 */
export function verifyBlobs(
  blobDir: string,
  chain: MemoryChain,
): { faults: ChainVerificationError[]; count: number } {
  const store = existsSync(blobDir) ? new BlobStore(blobDir, { readOnly: true }) : undefined;
  const records = chain.rows(RECORD_TABLE);
  const txs = chain.rows(TX_TABLE);
  const faults: ChainVerificationError[] = [];
  for (const text of chain.rows(VERSION_TABLE).values()) {
    const version = JSON.parse(text) as VersionRow;
    if (version.ciphertextHash === null) continue; // a tombstone has no ciphertext
    const record = JSON.parse(records.get(version.recordId)!) as RecordRow;
    if (record.status === 'erased') continue; // its ciphertexts are meant to be gone
    const problem = blobProblem(store, version.ciphertextHash);
    if (problem === undefined) continue;
    const height = (JSON.parse(txs.get(version.txId)!) as TxRecord).height;
    faults.push(
      new ChainVerificationError(
        height,
        `blob ${version.ciphertextHash} of record ${version.recordId} version ${version.version} ${problem}`,
      ),
    );
  }
  void store?.close();
  faults.sort((a, b) => a.height! - b.height!);
  return { faults: faults.slice(0, BLOB_FAULTS_LISTED_MAX), count: faults.length };
}

function blobProblem(store: BlobStore | undefined, hash: string): string | undefined {
  if (store === undefined) return 'is missing (no blob directory)';
  try {
    store.get(hash);
    return undefined;
  } catch (error) {
    if (error instanceof BlobMissingError) return 'is missing';
    if (error instanceof BlobIntegrityError)
      return `fails its hash: the stored bytes hash to ${error.actualHash}`;
    throw error;
  }
}
