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
  /**
   * True while `version` is `recordId`'s newest and the record is active. A write's values go
   * into the search index only then: by the time its commit is answered, a later update, a
   * deletion or an erasure may have committed, and whatever it removed must stay removed.
   */
  isNewest(recordId: string, version: number): boolean;
}

/** The node's own ledger. */
export function nodeLedger(node: NodeFacade): RecordLedger {
  return {
    submitAndWait: (tx) => node.submitAndWait(tx),
    committedVersion: (recordId, version) => node.records.version(recordId, version),
    isNewest: (recordId, version) => {
      const record = node.records.record(recordId);
      return record?.status === 'active' && record.latestVersion === version;
    },
  };
}
