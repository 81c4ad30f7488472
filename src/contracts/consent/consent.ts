/**
 * The consent contract (DESIGN.md, consent): a patient grants, updates and revokes access to
 * their records, restricts their home organisation (restriction.ts), and opts in or out of
 * break-the-glass. Only the patient's own key signs; a
 * custodial patient's key signs only inside their authenticated session on the home node.
 */
import type { Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE, auditWrites } from '../audit/index.js';
import { accept, refuse, type ContractResult, type TxContext, contractOf } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { ORGS, PRACTITIONERS } from '../membership/index.js';
import type { StateReader, Write } from '../state.js';
import { executeLiftRestriction, executeRestrict } from './restriction.js';
import {
  CONSENT_GRANT,
  CONSENT_LIFT_RESTRICTION,
  CONSENT_RESTRICT,
  CONSENT_REVOKE,
  CONSENT_SET_BREAK_THE_GLASS,
  CONSENT_UPDATE,
} from './txs.js';
import {
  GRANT_TABLE,
  GRANTS,
  PATIENT_CONSENT_TABLE,
  PATIENT_CONSENTS,
  PATIENT_RESTRICTION_TABLE,
  RESTRICTION_TABLE,
  type Grantee,
  type GrantRow,
  type PatientConsentRow,
} from './tables.js';
import { GRANT_COUNT_MAX } from '../../ledger/index.js';

/** The patient's consent row, or the default: no grants, break-the-glass opted out. */
export function patientConsent(state: StateReader, patientId: string): PatientConsentRow {
  const row = PATIENT_CONSENTS.get(state, patientId);
  return row ?? { patientId, breakTheGlass: 'opt-out', grants: [] };
}

/** Every grant of `patientId`, active or revoked, by grant id. */
export function grantsOf(state: StateReader, patientId: string): GrantRow[] {
  return patientConsent(state, patientId).grants.map((grantId) => GRANTS.get(state, grantId)!);
}

/** Executes `consent.grant`: { grantId, grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period }. */
function executeGrant(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_GRANT.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { grantId, terms } = body;
  if (GRANTS.get(state, grantId) !== undefined) return refuse('denied:grant-exists');
  if (!granteeExists(state, terms.grantee)) return refuse('denied:no-such-grantee');
  const patientId = context.signer.subject;
  const consent = patientConsent(state, patientId);
  if (consent.grants.length >= GRANT_COUNT_MAX) return refuse('denied:too-many-grants');
  const time = context.block.time;
  const row: GrantRow = {
    grantId,
    patientId,
    ...terms,
    status: 'active',
    version: 1,
    grantedAt: time,
    updatedAt: time,
    revokedAt: null,
  };
  return accept(
    [
      grantWrite(row),
      {
        table: PATIENT_CONSENT_TABLE,
        key: patientId,
        value: { ...consent, grants: [...consent.grants, grantId].sort() },
      },
      ...auditWrites(
        state,
        patientId,
        { kind: 'grant', actor: patientActor(context), reason: grantId },
        context,
      ),
    ],
    [{ type: 'consent.granted', subject: grantId }],
  );
}

/** Executes `consent.update`: the grant's id and its new terms, replacing the old ones from this block on. */
function executeUpdate(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_UPDATE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { terms } = body;
  const grant = ownActiveGrant(state, body.grantId, context);
  if (typeof grant === 'string') return refuse(grant);
  if (!granteeExists(state, terms.grantee)) return refuse('denied:no-such-grantee');
  const row: GrantRow = {
    ...grant,
    ...terms,
    version: grant.version + 1,
    updatedAt: context.block.time,
  };
  return accept(
    [
      grantWrite(row),
      ...auditWrites(
        state,
        grant.patientId,
        { kind: 'consent-update', actor: patientActor(context), reason: grant.grantId },
        context,
      ),
    ],
    [{ type: 'consent.updated', subject: grant.grantId }],
  );
}

/** Executes `consent.revoke`: { grantId }. Effective from this block: no serving and no key sharing after it. */
function executeRevoke(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_REVOKE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const grant = ownActiveGrant(state, body.grantId, context);
  if (typeof grant === 'string') return refuse(grant);
  const row: GrantRow = {
    ...grant,
    status: 'revoked',
    version: grant.version + 1,
    updatedAt: context.block.time,
    revokedAt: context.block.time,
  };
  return accept(
    [
      grantWrite(row),
      ...auditWrites(
        state,
        grant.patientId,
        { kind: 'revoke', actor: patientActor(context), reason: grant.grantId },
        context,
      ),
    ],
    [{ type: 'consent.revoked', subject: grant.grantId }],
  );
}

/** Executes `consent.set-break-the-glass`: { optIn }. */
function executeSetBreakTheGlass(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = CONSENT_SET_BREAK_THE_GLASS.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { optIn } = body;
  const patientId = context.signer.subject;
  const consent: PatientConsentRow = {
    ...patientConsent(state, patientId),
    breakTheGlass: optIn ? 'opt-in' : 'opt-out',
  };
  const audit = auditWrites(
    state,
    patientId,
    {
      kind: 'break-the-glass-setting',
      actor: patientActor(context),
      reason: consent.breakTheGlass,
    },
    context,
  );
  return accept(
    [
      {
        table: PATIENT_CONSENT_TABLE,
        key: patientId,
        value: { ...consent, grants: [...consent.grants] },
      },
      ...audit,
    ],
    [{ type: 'consent.break-the-glass-set', subject: patientId }],
  );
}

function ownActiveGrant(
  state: StateReader,
  grantId: string,
  context: TxContext,
): GrantRow | Refusal {
  const grant = GRANTS.get(state, grantId);
  if (grant === undefined || grant.patientId !== context.signer.subject)
    return 'denied:no-such-grant';
  return grant.status === 'active' ? grant : 'denied:grant-revoked';
}

function granteeExists(state: StateReader, grantee: Grantee): boolean {
  if (grantee.kind === 'organisation') return ORGS.get(state, grantee.id)?.status === 'active';
  return PRACTITIONERS.get(state, grantee.id) !== undefined;
}

function patientActor(context: TxContext) {
  return { role: 'patient', subject: context.signer.subject, org: context.signer.org };
}

function grantWrite(row: GrantRow): Write {
  const value = {
    ...row,
    grantee: { ...row.grantee },
    actions: [...row.actions],
    period: { ...row.period },
  };
  return { table: GRANT_TABLE, key: row.grantId, value };
}

/** The consent contract. */
export const consentContract = contractOf({
  name: 'consent',
  tables: [GRANT_TABLE, PATIENT_CONSENT_TABLE, RESTRICTION_TABLE, PATIENT_RESTRICTION_TABLE],
  appendsTo: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE],
  handlers: {
    [CONSENT_GRANT.type]: executeGrant,
    [CONSENT_UPDATE.type]: executeUpdate,
    [CONSENT_REVOKE.type]: executeRevoke,
    [CONSENT_SET_BREAK_THE_GLASS.type]: executeSetBreakTheGlass,
    [CONSENT_RESTRICT.type]: executeRestrict,
    [CONSENT_LIFT_RESTRICTION.type]: executeLiftRestriction,
  },
});
