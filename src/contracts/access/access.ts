/**
 * The access contract (DESIGN.md, access): every read and its denial, every break-the-glass and
 * its review, becomes a transaction signed by the organisation whose node authenticated the
 * principal. The decision recorded is the one this contract makes from state at its block.
 */
import type { Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE, auditWrites } from '../audit/index.js';
import { patientConsent } from '../consent/index.js';
import { accept, refuse, type ContractResult, type TxContext, contractOf } from '../contract.js';
import { ORGS, PATIENTS, PRACTITIONERS } from '../membership/index.js';
import { RECORDS, sealedFor, type SealedNote } from '../records/index.js';
import type { StateReader } from '../state.js';
import { decideAccess } from './decide.js';
import { actorOf, outcomeOf, principalOf } from './principal-body.js';
import { executeSearch } from './search-log.js';
import {
  ACCESS_BREAK_THE_GLASS,
  ACCESS_LOG,
  ACCESS_REVIEW_BREAK_THE_GLASS,
  ACCESS_SEARCH,
} from './txs.js';
import {
  BTG_ACTIVE_TABLE,
  BTG_MINUTES_DEFAULT,
  BTG_PURPOSES,
  BTG_REVIEW_TABLE,
  BTG_TABLE,
  BREAK_THE_GLASS,
  type BreakTheGlassRow,
} from './tables.js';
import { BTG_MINUTES_MAX } from '../../ledger/index.js';

const MINUTE_MS = 60_000;

/**
 * Executes `access.log`: { principal: {kind, id}, recordId, version, action, purpose, released }.
 * `released` says whether the node released plaintext (its own decision at the height it read);
 * the entry's outcome is this contract's decision, so a release that raced a revocation shows.
 */
function executeLog(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  const body = ACCESS_LOG.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId, version, action, purpose, released } = body;
  const principal = principalOf(state, body.principal, context);
  if (typeof principal === 'string') return refuse(principal);
  const record = RECORDS.get(state, recordId);
  if (record === undefined) return refuse('denied:no-such-record');
  const decision = decideAccess(state, {
    principal,
    action,
    recordId,
    version,
    purpose,
    time: context.block.time,
  });
  const audit = auditWrites(
    state,
    record.patientId,
    {
      kind: 'access',
      actor: actorOf(principal),
      recordId,
      version,
      purpose,
      released,
      ...outcomeOf(decision),
    },
    context,
  );
  return accept(audit, [
    {
      type: decision.outcome === 'permit' ? 'access.permitted' : 'access.denied',
      subject: record.patientId ?? recordId,
    },
  ]);
}

/**
 * Executes `access.break-the-glass`: { principal: {kind: 'practitioner', id}, patientId, purpose,
 * reason, minutes? }. Granted only when the patient opted in, for purpose ETREAT or BTG with a
 * reason, for at most BTG_MINUTES_MAX; a refusal is recorded too. Either way the patient's trail
 * (their notification feed) shows it, and a grant enters the organisation's review queue. The
 * reason is a SealedNote to the patient and the organisation (its privacy officer) alone.
 */
function executeBreakTheGlass(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  const body = ACCESS_BREAK_THE_GLASS.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { patientId, purpose, reason, minutes = BTG_MINUTES_DEFAULT } = body;
  const principal = principalOf(state, body.principal, context);
  if (typeof principal === 'string') return refuse(principal);
  if (principal.kind !== 'practitioner') return refuse('denied:not-a-practitioner');
  const practitioner = PRACTITIONERS.get(state, principal.id);
  if (practitioner === undefined || practitioner.org !== principal.org)
    return refuse('denied:unknown-principal');
  if (practitioner.status !== 'active') return refuse('denied:practitioner-suspended');
  // The range is checked after the practitioner, as it always was.
  if (minutes < 1 || minutes > BTG_MINUTES_MAX) return refuse('invalid:bad-body');
  if (PATIENTS.get(state, patientId) === undefined) return refuse('denied:no-such-patient');
  if (!sealedToPatientAndOrg(state, reason, patientId, principal.org))
    return refuse('invalid:note-recipients');
  const time = context.block.time;
  const denial = breakTheGlassDenial(state, patientId, purpose);
  const row: BreakTheGlassRow = {
    btgId: context.txId,
    patientId,
    practitionerId: principal.id,
    org: principal.org,
    purpose,
    reason,
    outcome: denial === undefined ? 'permit' : 'deny',
    denial: denial ?? null,
    start: time,
    end: time + minutes * MINUTE_MS,
    review: null,
  };
  const outcome =
    denial === undefined
      ? { outcome: 'permit' as const, reason: null }
      : { outcome: 'deny' as const, reason: denial };
  const writes = [
    { table: BTG_TABLE, key: row.btgId, value: { ...row } },
    ...auditWrites(
      state,
      patientId,
      { kind: 'break-the-glass', actor: actorOf(principal), purpose, ...outcome, basis: null },
      context,
    ),
  ];
  if (denial === undefined) {
    writes.push({
      table: BTG_ACTIVE_TABLE,
      key: `${patientId}|${principal.id}`,
      value: { btgId: row.btgId },
    });
    writes.push({
      table: BTG_REVIEW_TABLE,
      key: `${principal.org}|${row.btgId}`,
      value: { btgId: row.btgId },
    });
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
  const body = ACCESS_REVIEW_BREAK_THE_GLASS.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { btgId, justified, note = null } = body;
  const row = BREAK_THE_GLASS.get(state, btgId);
  if (row === undefined || row.org !== context.signer.org || row.outcome !== 'permit')
    return refuse('denied:no-such-break-the-glass');
  if (row.review !== null) return refuse('denied:already-reviewed');
  if (note !== null && !sealedToPatientAndOrg(state, note, row.patientId, row.org))
    return refuse('invalid:note-recipients');
  const review = { justified, note, at: context.block.time };
  const actor = { role: 'org', subject: context.signer.org, org: context.signer.org };
  return accept(
    [
      { table: BTG_TABLE, key: btgId, value: { ...row, review } },
      { table: BTG_REVIEW_TABLE, key: `${row.org}|${btgId}`, value: null },
      ...auditWrites(
        state,
        row.patientId,
        {
          kind: 'break-the-glass-review',
          actor,
          outcome: justified ? 'permit' : 'deny',
          reason: justified ? 'justified' : 'not justified',
        },
        context,
      ),
    ],
    [{ type: 'access.break-the-glass-reviewed', subject: row.patientId }],
  );
}

/** True when `note` is wrapped to exactly the patient's and the organisation's current encryption keys. */
function sealedToPatientAndOrg(
  state: StateReader,
  note: SealedNote,
  patientId: string,
  orgId: string,
): boolean {
  const patient = PATIENTS.get(state, patientId);
  const org = ORGS.get(state, orgId);
  return (
    patient !== undefined &&
    org !== undefined &&
    sealedFor(note, [patient.encryptionKey, org.encryptionKey])
  );
}

function breakTheGlassDenial(
  state: StateReader,
  patientId: string,
  purpose: string,
): string | undefined {
  if (!(BTG_PURPOSES as readonly string[]).includes(purpose))
    return 'denied:purpose-not-break-the-glass';
  return patientConsent(state, patientId).breakTheGlass === 'opt-in'
    ? undefined
    : 'denied:patient-opted-out';
}

/** The access contract; it also owns the audit trail's tables, which other contracts append to. */
export const accessContract = contractOf({
  name: 'access',
  tables: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE, BTG_ACTIVE_TABLE, BTG_REVIEW_TABLE, BTG_TABLE],
  handlers: {
    [ACCESS_LOG.type]: executeLog,
    [ACCESS_SEARCH.type]: executeSearch,
    [ACCESS_BREAK_THE_GLASS.type]: executeBreakTheGlass,
    [ACCESS_REVIEW_BREAK_THE_GLASS.type]: executeReview,
  },
});
