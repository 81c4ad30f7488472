/**
 * Erasures as auditors read them: for each erased record, who asked and on what basis, which
 * member organisations have confirmed on-chain that they deleted the ciphertexts, and which
 * have not yet. Shown by /ledger/erasures and by `chartchain verify`.
 */
import {
  CONSORTIUM_KEY,
  CONSORTIUM_TABLE,
  ERASURE_TABLE,
  type ConsortiumRow,
  type ErasureRow,
} from '../contracts/index.js';

/** One erasure and its confirmations; `awaiting` lists current members that have not confirmed. */
export interface ErasureStatus {
  readonly recordId: string;
  readonly requestedBy: ErasureRow['requestedBy'];
  readonly legalBasis: string | null;
  readonly requestedAt: number;
  /** orgId → block time of its receipt. */
  readonly confirmedBy: Readonly<Record<string, number>>;
  readonly awaiting: readonly string[];
}

/** Reads state rows by table and key, as a ChainStore or a replayed MemoryChain holds them. */
export type RowReader = (table: string, key: string) => unknown;

/** The status of erasure `recordId`, or undefined when that record was never erased. */
export function erasureStatus(read: RowReader, recordId: string): ErasureStatus | undefined {
  const row = read(ERASURE_TABLE, recordId) as ErasureRow | undefined;
  if (row === undefined) return undefined;
  const members =
    (read(CONSORTIUM_TABLE, CONSORTIUM_KEY) as ConsortiumRow | undefined)?.members ?? [];
  return {
    recordId,
    requestedBy: row.requestedBy,
    legalBasis: row.legalBasis,
    requestedAt: row.requestedAt,
    confirmedBy: row.confirmations,
    awaiting: members.filter((org) => !Object.hasOwn(row.confirmations, org)),
  };
}

/** The status of every erasure among `recordIds`, in their order. */
export function erasureStatuses(read: RowReader, recordIds: Iterable<string>): ErasureStatus[] {
  const statuses: ErasureStatus[] = [];
  for (const recordId of recordIds) {
    const status = erasureStatus(read, recordId);
    if (status !== undefined) statuses.push(status);
  }
  return statuses;
}

/** One line per erasure for a terminal: requester, confirmations and who is still awaited. */
export function erasureLine(status: ErasureStatus): string {
  const confirmed = Object.keys(status.confirmedBy).sort();
  const by = `${status.requestedBy.role} ${status.requestedBy.subject}${status.legalBasis === null ? '' : ` (${status.legalBasis})`}`;
  const awaiting =
    status.awaiting.length === 0
      ? 'all members confirmed'
      : `awaiting ${status.awaiting.join(', ')}`;
  return `erasure ${status.recordId}: requested by ${by}; confirmed by ${confirmed.join(', ') || 'none'}; ${awaiting}`;
}
