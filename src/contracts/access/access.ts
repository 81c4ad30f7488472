/**
 * The access contract (DESIGN.md, access): every read and its denial, every break-the-glass and
 * its review, becomes a transaction signed by the organisation whose node authenticated the
 * principal. The decision recorded is the one this contract makes from state at its block.
 */
import type { Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE, auditWrites } from '../audit/index.js';
import { booleanField, CODE_PATTERN, countField, enumField, ID_PATTERN, onlyFields, RECORD_ID_PATTERN, stringField } from '../body.js';
import { patientConsent } from '../consent/index.js';
import { accept, refuse, type ContractResult, type TxContext, contractOf } from '../contract.js';
import { ORGS, PATIENTS, PRACTITIONERS } from '../membership/index.js';
import { RECORDS, RECORD_VERSION_MAX, sealedFor, sealedNoteField, type SealedNote } from '../records/index.js';
import type { StateReader } from '../state.js';
import { decideAccess } from './decide.js';
import { actorOf, outcomeOf, principalField } from './principal-body.js';
import { executeSearch } from './search-log.js';
import { BTG_ACTIVE_TABLE, BTG_MINUTES_DEFAULT, BTG_MINUTES_MAX, BTG_PURPOSES, BTG_REVIEW_TABLE, BTG_TABLE, BREAK_THE_GLASS, type BreakTheGlassRow } from './tables.js';

const MINUTE_MS = 60_000;

/**
 * Executes `access.log`: { principal: {kind, id}, recordId, version, action, purpose, released }.
 * `released` says whether the node released plaintext (its own decision at the height it read);
 * the entry's outcome is this contract's decision, so a release that raced a revocation shows.
 */
function executeLog(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (!onlyFields(tx.body, ['principal', 'recordId', 'version', 'action', 'purpose', 'released'])) return refuse('invalid:bad-body');
  const principal = principalField(state, tx.body, context);
  const recordId = stringField(tx.body, 'recordId', RECORD_ID_PATTERN);
  const version = countField(tx.body, 'version');
  if (version !== undefined && (version < 1 || version > RECORD_VERSION_MAX)) return refuse('invalid:bad-body');
  const action = enumField(tx.body, 'action', ['read', 'write'] as const);
  const purpose = stringField(tx.body, 'purpose', CODE_PATTERN);
  const released = booleanField(tx.body, 'released');
  if (principal === undefined || recordId === undefined || version === undefined || action === undefined || purpose === undefined || released === undefined) return refuse('invalid:bad-body');
  if (typeof principal === 'string') return refuse(principal);
  const record = RECORDS.get(state, recordId);
  if (record === undefined) return refuse('denied:no-such-record');
  const decision = decideAccess(state, { principal, action, recordId, version, purpose, time: context.block.time });
  const audit = auditWrites(state, record.patientId, { kind: 'access', actor: actorOf(principal), recordId, version, purpose, released, ...outcomeOf(decision) }, context);
  return accept(audit, [{ type: decision.outcome === 'permit' ? 'access.permitted' : 'access.denied', subject: record.patientId ?? recordId }]);
}

/**
 * Executes `access.break-the-glass`: { principal: {kind: 'practitioner', id}, patientId, purpose,
 * reason, minutes? }. Granted only when the patient opted in, for purpose ETREAT or BTG with a
 * reason, for at most BTG_MINUTES_MAX; a refusal is recorded too. Either way the patient's trail
 * (their notification feed) shows it, and a grant enters the organisation's review queue. The
 * reason is a SealedNote to the patient and the organisation (its privacy officer) alone.
 */
function executeBreakTheGlass(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (!onlyFields(tx.body, ['principal', 'patientId', 'purpose', 'reason', 'minutes'])) return refuse('invalid:bad-body');
  const principal = principalField(state, tx.body, context);
  const patientId = stringField(tx.body, 'patientId', ID_PATTERN);
  const purpose = stringField(tx.body, 'purpose', CODE_PATTERN);
  const reason = sealedNoteField(tx.body, 'reason');
  const minutes = tx.body['minutes'] === undefined ? BTG_MINUTES_DEFAULT : countField(tx.body, 'minutes');
  if (principal === undefined || patientId === undefined || purpose === undefined || reason === undefined || minutes === undefined) return refuse('invalid:bad-body');
  if (typeof principal === 'string') return refuse(principal);
  if (principal.kind !== 'practitioner') return refuse('denied:not-a-practitioner');
  const practitioner = PRACTITIONERS.get(state, principal.id);
  if (practitioner === undefined || practitioner.org !== principal.org) return refuse('denied:unknown-principal');
  if (practitioner.status !== 'active') return refuse('denied:practitioner-suspended');
  if (minutes < 1 || minutes > BTG_MINUTES_MAX) return refuse('invalid:bad-body');
  if (PATIENTS.get(state, patientId) === undefined) return refuse('denied:no-such-patient');
  if (!sealedToPatientAndOrg(state, reason, patientId, principal.org)) return refuse('invalid:note-recipients');
  const time = context.block.time;
  const denial = breakTheGlassDenial(state, patientId, purpose);
  const row: BreakTheGlassRow = { btgId: context.txId, patientId, practitionerId: principal.id, org: principal.org, purpose, reason, outcome: denial === undefined ? 'permit' : 'deny', denial: denial ?? null, start: time, end: time + minutes * MINUTE_MS, review: null };
  const outcome = denial === undefined ? { outcome: 'permit' as const, reason: null } : { outcome: 'deny' as const, reason: denial };
  const writes = [
    { table: BTG_TABLE, key: row.btgId, value: { ...row } },
    ...auditWrites(state, patientId, { kind: 'break-the-glass', actor: actorOf(principal), purpose, ...outcome, basis: null }, context),
  ];
  if (denial === undefined) {
    writes.push({ table: BTG_ACTIVE_TABLE, key: `${patientId}|${principal.id}`, value: { btgId: row.btgId } });
    writes.push({ table: BTG_REVIEW_TABLE, key: `${principal.org}|${row.btgId}`, value: { btgId: row.btgId } });
  }
  return accept(writes, [{ type: 'access.break-the-glass', subject: patientId }]);
}

/**
 * Executes `access.review-break-the-glass`: { btgId, justified, note? }, signed by the
 * organisation whose practitioner broke the glass. A note is a SealedNote to the patient and
 * the organisation, like the reason it answers.
 */
function executeReview(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  if (!onlyFields(tx.body, ['btgId', 'justified', 'note'])) return refuse('invalid:bad-body');
  const btgId = stringField(tx.body, 'btgId', /^[0-9a-f]{64}$/);
  const justified = booleanField(tx.body, 'justified');
  const note = tx.body['note'] === undefined ? null : sealedNoteField(tx.body, 'note');
  if (btgId === undefined || justified === undefined || note === undefined) return refuse('invalid:bad-body');
  const row = BREAK_THE_GLASS.get(state, btgId);
  if (row === undefined || row.org !== context.signer.org || row.outcome !== 'permit') return refuse('denied:no-such-break-the-glass');
  if (row.review !== null) return refuse('denied:already-reviewed');
  if (note !== null && !sealedToPatientAndOrg(state, note, row.patientId, row.org)) return refuse('invalid:note-recipients');
  const review = { justified, note, at: context.block.time };
  const actor = { role: 'org', subject: context.signer.org, org: context.signer.org };
  return accept(
    [
      { table: BTG_TABLE, key: btgId, value: { ...row, review } },
      { table: BTG_REVIEW_TABLE, key: `${row.org}|${btgId}`, value: null },
      ...auditWrites(state, row.patientId, { kind: 'break-the-glass-review', actor, outcome: justified ? 'permit' : 'deny', reason: justified ? 'justified' : 'not justified' }, context),
    ],
    [{ type: 'access.break-the-glass-reviewed', subject: row.patientId }],
  );
}

/** True when `note` is wrapped to exactly the patient's and the organisation's current encryption keys. */
function sealedToPatientAndOrg(state: StateReader, note: SealedNote, patientId: string, orgId: string): boolean {
  const patient = PATIENTS.get(state, patientId);
  const org = ORGS.get(state, orgId);
  return patient !== undefined && org !== undefined && sealedFor(note, [patient.encryptionKey, org.encryptionKey]);
}

function breakTheGlassDenial(state: StateReader, patientId: string, purpose: string): string | undefined {
  if (!(BTG_PURPOSES as readonly string[]).includes(purpose)) return 'denied:purpose-not-break-the-glass';
  return patientConsent(state, patientId).breakTheGlass === 'opt-in' ? undefined : 'denied:patient-opted-out';
}

/** The access contract; it also owns the audit trail's tables, which other contracts append to. */
export const accessContract = contractOf({
  name: 'access',
  tables: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE, BTG_ACTIVE_TABLE, BTG_REVIEW_TABLE, BTG_TABLE],
  handlers: {
    'access.log': executeLog,
    'access.search': executeSearch,
    'access.break-the-glass': executeBreakTheGlass,
    'access.review-break-the-glass': executeReview,
  },
});
