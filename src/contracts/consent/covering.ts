/**
 * Does a patient's consent cover an action? Deterministic and read-only, so the node that
 * decides a read, the access contract that logs it and every replaying node agree.
 */
import type { StateReader } from '../state.js';
import { grantsOf } from './consent.js';
import type { ConsentAction, GrantRow } from './tables.js';

/** What is asked: who (a practitioner of an organisation, or the organisation itself), does what, to which record, why, when. */
export interface ConsentQuery {
  readonly patientId: string;
  readonly practitionerId: string | null;
  readonly orgId: string;
  readonly action: ConsentAction;
  readonly recordId: string;
  readonly resourceType: string;
  readonly labels: readonly string[];
  /** The purpose of use; null for a write, which any purpose the grant names allows. */
  readonly purpose: string | null;
  readonly time: number;
}

/** Why no grant covers a query, most specific last: the reason reported is the furthest any grant got. */
export const CONSENT_REFUSALS = [
  'denied:no-consent',
  'denied:consent-revoked',
  'denied:consent-not-started',
  'denied:consent-expired',
  'denied:action-not-permitted',
  'denied:out-of-scope',
  'denied:label-excluded',
  'denied:purpose-not-permitted',
] as const;
export type ConsentRefusal = (typeof CONSENT_REFUSALS)[number];

/** The first grant (by id) covering `query`, or the most specific reason none does. */
export function coveringGrant(
  state: StateReader,
  query: ConsentQuery,
): { grantId: string } | { reason: ConsentRefusal } {
  let furthest = 0;
  for (const grant of grantsOf(state, query.patientId)) {
    if (!namesGrantee(grant, query)) continue;
    const failed = firstFailure(grant, query);
    if (failed === undefined) return { grantId: grant.grantId };
    furthest = Math.max(furthest, CONSENT_REFUSALS.indexOf(failed));
  }
  return { reason: CONSENT_REFUSALS[furthest]! };
}

/** Active grants of `patientId` letting their grantee read a record of this type, id and labels at `time`. */
export function readGrantsCovering(
  state: StateReader,
  record: Pick<ConsentQuery, 'patientId' | 'recordId' | 'resourceType' | 'labels' | 'time'>,
): GrantRow[] {
  return grantsOf(state, record.patientId).filter(
    (grant) =>
      grant.status === 'active' &&
      grant.actions.includes('read') &&
      coversRecord(grant, record) === undefined,
  );
}

function namesGrantee(grant: GrantRow, query: ConsentQuery): boolean {
  if (grant.grantee.kind === 'organisation') return grant.grantee.id === query.orgId;
  return query.practitionerId !== null && grant.grantee.id === query.practitionerId;
}

function firstFailure(grant: GrantRow, query: ConsentQuery): ConsentRefusal | undefined {
  if (grant.status !== 'active') return 'denied:consent-revoked';
  const period = periodFailure(grant, query.time);
  if (period !== undefined) return period;
  if (!grant.actions.includes(query.action)) return 'denied:action-not-permitted';
  const purposeAllowed = query.purpose === null || grant.purposes.includes(query.purpose);
  return (
    scopeFailure(grant, query) ?? (purposeAllowed ? undefined : 'denied:purpose-not-permitted')
  );
}

/** What a grant must cover about a record regardless of action and purpose: period, scope, labels. */
export function coversRecord(
  grant: GrantRow,
  record: Pick<ConsentQuery, 'recordId' | 'resourceType' | 'labels' | 'time'>,
): ConsentRefusal | undefined {
  return periodFailure(grant, record.time) ?? scopeFailure(grant, record);
}

function periodFailure(grant: GrantRow, time: number): ConsentRefusal | undefined {
  if (time < grant.period.start) return 'denied:consent-not-started';
  return grant.period.end !== null && time >= grant.period.end
    ? 'denied:consent-expired'
    : undefined;
}

function scopeFailure(
  grant: GrantRow,
  record: Pick<ConsentQuery, 'recordId' | 'resourceType' | 'labels'>,
): ConsentRefusal | undefined {
  if (grant.resourceTypes.length > 0 && !grant.resourceTypes.includes(record.resourceType))
    return 'denied:out-of-scope';
  if (grant.recordIds.length > 0 && !grant.recordIds.includes(record.recordId))
    return 'denied:out-of-scope';
  return record.labels.some((label) => grant.excludeLabels.includes(label))
    ? 'denied:label-excluded'
    : undefined;
}

/**
 * Why practitioner `practitionerId` of `orgId` may not write (anchor, supersede, tombstone) this
 * record of `patientId`, or undefined when they may: the patient's home organisation keeps
 * their chart; anyone else needs an active grant with the write action covering the record.
 */
export function writeRefusal(
  state: StateReader,
  query: Omit<ConsentQuery, 'action' | 'purpose'>,
  homeOrg: string,
): ConsentRefusal | undefined {
  if (query.orgId === homeOrg) return undefined;
  const grant = coveringGrant(state, { ...query, action: 'write', purpose: null });
  return 'reason' in grant ? grant.reason : undefined;
}
