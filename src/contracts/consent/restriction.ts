/**
 * Patient restrictions on their home organisation (DESIGN.md, agreements): `consent.restrict`
 * withholds records by resource type, security label or practitioner from the home
 * organisation's grant-less access, and `consent.lift-restriction` ends it from its block on.
 * Only the patient's own key signs either, as with a grant.
 */
import type { Transaction } from '../../ledger/index.js';
import { auditWrites } from '../audit/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import { PRACTITIONERS } from '../membership/index.js';
import type { StateReader, Write } from '../state.js';
import {
  PATIENT_RESTRICTION_TABLE,
  PATIENT_RESTRICTIONS,
  RESTRICTION_TABLE,
  RESTRICTIONS,
  type PatientRestrictionsRow,
  type RestrictionRow,
} from './tables.js';
import { CONSENT_LIFT_RESTRICTION, CONSENT_RESTRICT } from './txs.js';
import { RESTRICTION_COUNT_MAX } from '../../ledger/index.js';

/** Every restriction of `patientId`, active or lifted, by restriction id. */
export function restrictionsOf(state: StateReader, patientId: string): RestrictionRow[] {
  const row = PATIENT_RESTRICTIONS.get(state, patientId);
  return (row?.restrictions ?? []).map((restrictionId) => RESTRICTIONS.get(state, restrictionId)!);
}

/** Executes `consent.restrict`: { restrictionId, resourceTypes, labels, practitionerIds }. */
export function executeRestrict(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_RESTRICT.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { restrictionId, terms } = body;
  if (RESTRICTIONS.get(state, restrictionId) !== undefined)
    return refuse('denied:restriction-exists');
  if (!terms.practitionerIds.every((id) => PRACTITIONERS.get(state, id) !== undefined))
    return refuse('denied:no-such-practitioner');
  const patientId = context.signer.subject;
  const ids = PATIENT_RESTRICTIONS.get(state, patientId)?.restrictions ?? [];
  if (ids.length >= RESTRICTION_COUNT_MAX) return refuse('denied:too-many-restrictions');
  const row: RestrictionRow = {
    restrictionId,
    patientId,
    ...terms,
    status: 'active',
    restrictedAt: context.block.time,
    liftedAt: null,
  };
  const list: PatientRestrictionsRow = { patientId, restrictions: [...ids, restrictionId].sort() };
  return accept(
    [
      restrictionWrite(row),
      {
        table: PATIENT_RESTRICTION_TABLE,
        key: patientId,
        value: { ...list, restrictions: [...list.restrictions] },
      },
      ...audit(state, context, patientId, 'restriction', restrictionId),
    ],
    [{ type: 'consent.restricted', subject: restrictionId }],
  );
}

/** Executes `consent.lift-restriction`: { restrictionId }. Effective from this block. */
export function executeLiftRestriction(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_LIFT_RESTRICTION.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { restrictionId } = body;
  const row = RESTRICTIONS.get(state, restrictionId);
  if (row === undefined || row.patientId !== context.signer.subject)
    return refuse('denied:no-such-restriction');
  if (row.status !== 'active') return refuse('denied:restriction-lifted');
  const lifted: RestrictionRow = { ...row, status: 'lifted', liftedAt: context.block.time };
  return accept(
    [
      restrictionWrite(lifted),
      ...audit(state, context, row.patientId, 'restriction-lift', restrictionId),
    ],
    [{ type: 'consent.restriction-lifted', subject: restrictionId }],
  );
}

function audit(
  state: StateReader,
  context: TxContext,
  patientId: string,
  kind: 'restriction' | 'restriction-lift',
  restrictionId: string,
): Write[] {
  const actor = { role: 'patient', subject: context.signer.subject, org: context.signer.org };
  return auditWrites(state, patientId, { kind, actor, reason: restrictionId }, context);
}

function restrictionWrite(row: RestrictionRow): Write {
  const value = {
    ...row,
    resourceTypes: [...row.resourceTypes],
    labels: [...row.labels],
    practitionerIds: [...row.practitionerIds],
  };
  return { table: RESTRICTION_TABLE, key: row.restrictionId, value };
}
