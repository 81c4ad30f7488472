/**
 * Practitioners and patients. An organisation's admin key registers and suspends its
 * practitioners and registers patients with public keys the patient supplies.
 */
import { fromHex, keyIdOf } from '../../crypto/index.js';
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import type { StateReader } from '../state.js';
import {
  MEMBERSHIP_REGISTER_PATIENT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
  MEMBERSHIP_REINSTATE_PRACTITIONER,
  MEMBERSHIP_SUSPEND_PRACTITIONER,
} from './txs.js';
import {
  KEY_TABLE,
  KEYS,
  PATIENT_TABLE,
  PATIENTS,
  PRACTITIONER_TABLE,
  PRACTITIONERS,
  type KeyRow,
  type PatientRow,
  type PractitionerRow,
} from './tables.js';

interface Enrolment {
  id: string;
  keyId: string;
  signingKey: string;
  encryptionKey: string;
}

/** The enrolment of a parsed body's keys, or undefined when the body is malformed; refused when its signing key is taken. */
function enrolment(
  state: StateReader,
  id: string,
  keys: { signingKey: string; encryptionKey: string },
): Enrolment | Refusal {
  const { signingKey, encryptionKey } = keys;
  const keyId = keyIdOf(fromHex(signingKey));
  if (KEYS.get(state, keyId) !== undefined) return 'denied:key-in-use';
  return { id, keyId, signingKey, encryptionKey };
}

/** Executes `membership.register-practitioner`: { practitionerId, signingKey, encryptionKey }, signed by the organisation. */
export function executeRegisterPractitioner(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const body = MEMBERSHIP_REGISTER_PRACTITIONER.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const entry = enrolment(state, body.practitionerId, body);
  if (typeof entry === 'string') return refuse(entry);
  if (PRACTITIONERS.get(state, entry.id) !== undefined) return refuse('denied:practitioner-exists');
  const org = context.signer.org;
  const row: PractitionerRow = {
    practitionerId: entry.id,
    org,
    keyId: entry.keyId,
    encryptionKey: entry.encryptionKey,
    status: 'active',
    since: context.block.time,
  };
  const key: KeyRow = { publicKey: entry.signingKey, role: 'practitioner', subject: entry.id, org };
  return accept(
    [
      { table: PRACTITIONER_TABLE, key: entry.id, value: { ...row } },
      { table: KEY_TABLE, key: entry.keyId, value: { ...key } },
    ],
    [{ type: 'membership.practitioner-registered', subject: entry.id }],
  );
}

/** Executes `membership.suspend-practitioner` or `membership.reinstate-practitioner`: { practitionerId }, signed by their organisation. */
export function executeSetPractitionerStatus(status: PractitionerRow['status']) {
  const schema =
    status === 'suspended' ? MEMBERSHIP_SUSPEND_PRACTITIONER : MEMBERSHIP_REINSTATE_PRACTITIONER;
  return (state: StateReader, tx: Transaction, context: TxContext): ContractResult => {
    if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
    const body = schema.parse(tx.body);
    if (body === undefined) return refuse('invalid:bad-body');
    const { practitionerId } = body;
    const row = PRACTITIONERS.get(state, practitionerId);
    if (row === undefined || row.org !== context.signer.org)
      return refuse('denied:not-your-practitioner');
    if (row.status === status) return refuse(`denied:already-${status}`);
    return accept(
      [
        {
          table: PRACTITIONER_TABLE,
          key: practitionerId,
          value: { ...row, status, since: context.block.time },
        },
      ],
      [{ type: `membership.practitioner-${status}`, subject: practitionerId }],
    );
  };
}

/** Executes `membership.register-patient`: { patientId, signingKey, encryptionKey, custody }, signed by the home organisation. */
export function executeRegisterPatient(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const keys = MEMBERSHIP_REGISTER_PATIENT.parseExcept(tx.body, ['custody']);
  if (keys === undefined) return refuse('invalid:bad-body');
  const entry = enrolment(state, keys.patientId, keys);
  if (typeof entry === 'string') return refuse(entry);
  // Custody is checked after the key, as it always was: a body wrong in both is refused for the key.
  const custody = MEMBERSHIP_REGISTER_PATIENT.parse(tx.body)?.custody;
  if (custody === undefined) return refuse('invalid:bad-body');
  if (PATIENTS.get(state, entry.id) !== undefined) return refuse('denied:patient-exists');
  const homeOrg = context.signer.org;
  const row: PatientRow = {
    patientId: entry.id,
    homeOrg,
    keyId: entry.keyId,
    encryptionKey: entry.encryptionKey,
    custody,
    since: context.block.time,
  };
  const key: KeyRow = {
    publicKey: entry.signingKey,
    role: 'patient',
    subject: entry.id,
    org: homeOrg,
  };
  return accept([
    { table: PATIENT_TABLE, key: entry.id, value: { ...row } },
    { table: KEY_TABLE, key: entry.keyId, value: { ...key } },
  ]);
}
