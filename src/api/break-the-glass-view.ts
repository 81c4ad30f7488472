/**
 * Break-the-glass events as /ledger serves them, and to whom: the privacy officer (an auditor of
 * this organisation) sees this organisation's events, a patient at their home organisation their
 * own from any organisation. The sealed reason and review note are opened for that reader, the
 * organisation or the patient, whose keys they are sealed to; what cannot be opened is null.
 */
import {
  AUDIT_ENTRIES,
  auditCount,
  auditKey,
  BTG_TABLE,
  BREAK_THE_GLASS,
  type AuditEntry,
  type BreakTheGlassRow,
} from '../contracts/index.js';
import { type NodeFacade, type NoteReader } from '../node/index.js';
import { ApiError } from './api-error.js';
import type { AccessGrant } from './auth/index.js';
import { homePatientOf } from './ledger-auth.js';
import { trailItemOf, type TrailItem } from './trail-items.js';

/** Which events a list shows: awaiting review (granted, not yet reviewed), reviewed, or all (denied ones too). */
export const BTG_STATUSES = ['pending', 'reviewed', 'all'] as const;
export type BreakTheGlassStatus = (typeof BTG_STATUSES)[number];

/** One break-the-glass event as served; times in milliseconds since the epoch. */
export interface BreakTheGlassItem {
  readonly btgId: string;
  /** The patient's ledger pseudonym. */
  readonly patient: string;
  readonly practitionerId: string;
  readonly org: string;
  readonly purpose: string;
  readonly outcome: 'permit' | 'deny';
  readonly denial: string | null;
  readonly start: number;
  readonly end: number;
  readonly review: { readonly justified: boolean; readonly at: number } | null;
  readonly reason: string | null;
  readonly reviewNote: string | null;
}

/** Who reads events: an auditor of this organisation reads as the organisation, a patient at home as themself; a 403 for anyone else. */
export function eventReaderOf(node: NodeFacade, grant: AccessGrant): NoteReader {
  const { kind, org } = grant.principal;
  if (kind === 'auditor' && org === node.config.orgId) return { kind: 'organisation' };
  if (kind === 'patient') return { kind: 'patient', patientId: homePatientOf(node, grant) };
  throw new ApiError(
    403,
    'forbidden',
    "break-the-glass events are for this organisation's auditors and for the patient they concern",
  );
}

/** The event `btgId` when `reader` may see it; undefined (a 404 to the caller) otherwise, so ids cannot be probed. */
export function eventFor(
  node: NodeFacade,
  reader: NoteReader,
  btgId: string,
): BreakTheGlassRow | undefined {
  const row = BREAK_THE_GLASS.get(node.ledger.state, btgId);
  return row !== undefined && concerns(node, reader, row) ? row : undefined;
}

/** The events `reader` may see with `status`, oldest first. */
export function eventsFor(
  node: NodeFacade,
  reader: NoteReader,
  status: BreakTheGlassStatus,
): BreakTheGlassRow[] {
  return node.ledger
    .stateKeys(BTG_TABLE)
    .map((btgId) => BREAK_THE_GLASS.get(node.ledger.state, btgId)!)
    .filter((row) => concerns(node, reader, row) && hasStatus(row, status))
    .sort((a, b) => a.start - b.start || (a.btgId < b.btgId ? -1 : 1));
}

function concerns(node: NodeFacade, reader: NoteReader, row: BreakTheGlassRow): boolean {
  return reader.kind === 'organisation'
    ? row.org === node.config.orgId
    : row.patientId === reader.patientId;
}

function hasStatus(row: BreakTheGlassRow, status: BreakTheGlassStatus): boolean {
  if (status === 'pending') return row.outcome === 'permit' && row.review === null;
  return status === 'all' || row.review !== null;
}

/** `row` as served to `reader`, its reason and note opened for them (null when they cannot be). */
export async function itemOf(
  node: NodeFacade,
  reader: NoteReader,
  row: BreakTheGlassRow,
): Promise<BreakTheGlassItem> {
  const texts = await node.breakTheGlass
    .texts(row.btgId, reader)
    .catch(() => ({ reason: null, reviewNote: null }));
  const review =
    row.review === null ? null : { justified: row.review.justified, at: row.review.at };
  const { btgId, patientId, practitionerId, org, purpose, outcome, denial, start, end } = row;
  return {
    btgId,
    patient: patientId,
    practitionerId,
    org,
    purpose,
    outcome,
    denial,
    start,
    end,
    review,
    reason: texts.reason,
    reviewNote: texts.reviewNote,
  };
}

/** What the practitioner did in the patient's trail while the glass was broken: their entries in [start, end], the event's own aside. */
export function readsDuring(node: NodeFacade, row: BreakTheGlassRow): TrailItem[] {
  const entryAt = (seq: number) =>
    AUDIT_ENTRIES.get(node.ledger.state, auditKey(row.patientId, seq))!;
  const count = auditCount(node.ledger.state, row.patientId);
  const items: TrailItem[] = [];
  for (let seq = firstAtOrAfter(entryAt, count, row.start); seq <= count; seq++) {
    const entry = entryAt(seq);
    if (entry.time > row.end) break;
    if (byDuring(entry, row))
      items.push(trailItemOf(node, { entry, proof: node.ledger.inclusionProof(entry.txId) }));
  }
  return items;
}

/** The first seq in 1..count whose entry's time is at least `time` (count + 1 if none): the trail is in ledger order, and block times never go back. */
function firstAtOrAfter(entryAt: (seq: number) => AuditEntry, count: number, time: number): number {
  let low = 1;
  let high = count + 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entryAt(middle).time < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

function byDuring(entry: AuditEntry, row: BreakTheGlassRow): boolean {
  const { role, subject, org } = entry.actor;
  return (
    role === 'practitioner' &&
    subject === row.practitionerId &&
    org === row.org &&
    entry.txId !== row.btgId
  );
}
