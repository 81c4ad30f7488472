/**
 * Practitioners and patients. An organisation's admin key registers and suspends its
 * practitioners and registers patients with public keys the patient supplies.
 */
import { fromHex, keyIdOf } from '../../crypto/index.js';
import type { Transaction } from '../../ledger/index.js';
import { enumField, hex32Field, idField, onlyFields } from '../body.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import type { StateReader } from '../state.js';
import { KEY_TABLE, KEYS, PATIENT_TABLE, PATIENTS, PRACTITIONER_TABLE, PRACTITIONERS, type KeyRow, type PatientRow, type PractitionerRow } from './tables.js';

interface Enrolment {
  id: string;
  keyId: string;
  signingKey: string;
  encryptionKey: string;
}

function enrolment(state: StateReader, tx: Transaction, idName: string, extra: readonly string[]): Enrolment | Refusal {
  if (!onlyFields(tx.body, [idName, 'signingKey', 'encryptionKey', ...extra])) return 'invalid:bad-body';
  const id = idField(tx.body, idName);
  const signingKey = hex32Field(tx.body, 'signingKey');
  const encryptionKey = hex32Field(tx.body, 'encryptionKey');
  if (id === undefined || signingKey === undefined || encryptionKey === undefined) return 'invalid:bad-body';
  const keyId = keyIdOf(fromHex(signingKey));
  if (KEYS.get(state, keyId) !== undefined) return 'denied:key-in-use';
  return { id, keyId, signingKey, encryptionKey };
}

/** Executes `membership.register-practitioner`: { practitionerId, signingKey, encryptionKey }, signed by the organisation. */
export function executeRegisterPractitioner(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const entry = enrolment(state, tx, 'practitionerId', []);
  if (typeof entry === 'string') return refuse(entry);
  if (PRACTITIONERS.get(state, entry.id) !== undefined) return refuse('denied:practitioner-exists');
  const org = context.signer.org;
  const row: PractitionerRow = { practitionerId: entry.id, org, keyId: entry.keyId, encryptionKey: entry.encryptionKey, status: 'active', since: context.block.time };
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
  return (state: StateReader, tx: Transaction, context: TxContext): ContractResult => {
    if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
    if (!onlyFields(tx.body, ['practitionerId'])) return refuse('invalid:bad-body');
    const practitionerId = idField(tx.body, 'practitionerId');
    if (practitionerId === undefined) return refuse('invalid:bad-body');
    const row = PRACTITIONERS.get(state, practitionerId);
    if (row === undefined || row.org !== context.signer.org) return refuse('denied:not-your-practitioner');
    if (row.status === status) return refuse(`denied:already-${status}`);
    return accept(
      [{ table: PRACTITIONER_TABLE, key: practitionerId, value: { ...row, status, since: context.block.time } }],
      [{ type: `membership.practitioner-${status}`, subject: practitionerId }],
    );
  };
}

/** Executes `membership.register-patient`: { patientId, signingKey, encryptionKey, custody }, signed by the home organisation. */
export function executeRegisterPatient(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const entry = enrolment(state, tx, 'patientId', ['custody']);
  if (typeof entry === 'string') return refuse(entry);
  const custody = enumField(tx.body, 'custody', ['custodial', 'self'] as const);
  if (custody === undefined) return refuse('invalid:bad-body');
  if (PATIENTS.get(state, entry.id) !== undefined) return refuse('denied:patient-exists');
  const homeOrg = context.signer.org;
  const row: PatientRow = { patientId: entry.id, homeOrg, keyId: entry.keyId, encryptionKey: entry.encryptionKey, custody, since: context.block.time };
  const key: KeyRow = { publicKey: entry.signingKey, role: 'patient', subject: entry.id, org: homeOrg };
  return accept([
    { table: PATIENT_TABLE, key: entry.id, value: { ...row } },
    { table: KEY_TABLE, key: entry.keyId, value: { ...key } },
  ]);
}
