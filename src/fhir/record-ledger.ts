/**
 * What FHIR writes need of the ledger: order and commit a transaction, then read back the
 * version it committed. The node is the one implementation a server uses; a benchmark passes
 * its own to measure a write without the ledger.
 */
import type { VersionRow } from '../contracts/index.js';
import type { Transaction } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';

/** A committed version as FHIR serves it: meta.versionId, meta.lastUpdated and the anchoring txId. */
export type CommittedVersion = Pick<VersionRow, 'version' | 'time' | 'txId'>;

export interface RecordLedger {
  /** Orders `tx` and resolves once its block commits, with the status the block recorded. */
  submitAndWait(tx: Transaction): Promise<{ readonly status: string; readonly txId?: string }>;
  /** Version `version` of `recordId` as committed, or undefined when no block holds it. */
  committedVersion(recordId: string, version: number): CommittedVersion | undefined;
}

/** The node's own ledger. */
export function nodeLedger(node: NodeFacade): RecordLedger {
  return {
    submitAndWait: (tx) => node.submitAndWait(tx),
    committedVersion: (recordId, version) => node.records.version(recordId, version),
  };
}
