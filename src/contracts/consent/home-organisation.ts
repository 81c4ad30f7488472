/**
 * What the patient's home organisation may read without a grant in an opt-out network
 * (DESIGN.md, agreements): treatment, payment and operations, as HIPAA allows a covered entity
 * (45 CFR 164.506), less whatever the patient's active restrictions withhold.
 */
import type { StateReader } from '../state.js';
import { restrictionsOf } from './restriction.js';
import type { RestrictionRow } from './tables.js';

/** The v3 ActReason purposes of treatment, payment and operations. ETREAT is not one: emergency access stays break-the-glass. */
export const HOME_ORGANISATION_PURPOSES: readonly string[] = ['HOPERAT', 'HPAYMT', 'TREAT'];

/** A read by someone of the patient's home organisation, as a restriction sees it. */
export interface RestrictionQuery {
  readonly patientId: string;
  /** Null for the organisation's system client, which no practitioner restriction names. */
  readonly practitionerId: string | null;
  readonly resourceType: string;
  readonly labels: readonly string[];
}

/** The id of the first active restriction (by id) of the patient that withholds this read, or undefined. */
export function restrictionCovering(
  state: StateReader,
  query: RestrictionQuery,
): string | undefined {
  return restrictionsOf(state, query.patientId).find(
    (row) => row.status === 'active' && withholds(row, query),
  )?.restrictionId;
}

/** Every non-empty list of the restriction must match; an empty one matches anything. */
function withholds(row: RestrictionRow, query: RestrictionQuery): boolean {
  if (row.resourceTypes.length > 0 && !row.resourceTypes.includes(query.resourceType)) return false;
  if (row.labels.length > 0 && !query.labels.some((label) => row.labels.includes(label)))
    return false;
  return (
    row.practitionerIds.length === 0 ||
    (query.practitionerId !== null && row.practitionerIds.includes(query.practitionerId))
  );
}
