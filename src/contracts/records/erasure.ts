/**
 * Erasure (GDPR Art. 17, DESIGN.md Encryption): the patient, or one of the organisations that
 * hold the record with a legal basis, erases a record. Every node then deletes the ciphertexts
 * and their cached keys and confirms on-chain, so anyone can check that all of them did. What
 * stays on-chain (hashes, commitments, wrapped keys) is useless without the ciphertext.
 */
import type { Transaction } from '../../ledger/index.js';
import { auditWrites } from '../audit/index.js';
import { accept, refuse, type ContractResult, type Signer, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { PATIENTS } from '../membership/index.js';
import type { StateReader } from '../state.js';
import { RECORDS_ERASE, RECORDS_ERASURE_RECEIPT } from './txs.js';
import {
  ERASURE_TABLE,
  ERASURES,
  RECORD_TABLE,
  RECORDS,
  type ErasureRow,
  type RecordRow,
} from './tables.js';

/**
 * Executes `records.erase`: { recordId, legalBasis? }. Signed by the record's patient, or by the
 * organisation key of the record's organisation or of the patient's home organisation, which
 * must give a legal basis. Emits `records.erased`, on which nodes delete the ciphertexts.
 */
export function executeErase(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  const body = RECORDS_ERASE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId, legalBasis } = body;
  const record = RECORDS.get(state, recordId);
  if (record === undefined) return refuse('denied:no-such-record');
  const requester = erasureRequester(state, record, context.signer, legalBasis);
  if (typeof requester === 'string') return refuse(requester);
  if (record.status === 'erased') return refuse('denied:record-erased');
  const time = context.block.time;
  const erasure: ErasureRow = {
    recordId,
    requestedBy: requester,
    legalBasis,
    requestedAt: time,
    confirmations: {},
  };
  return accept(
    [
      {
        table: RECORD_TABLE,
        key: recordId,
        value: { ...record, status: 'erased', updatedAt: time },
      },
      { table: ERASURE_TABLE, key: recordId, value: { ...erasure, requestedBy: { ...requester } } },
      ...auditWrites(
        state,
        record.patientId,
        {
          kind: 'erasure',
          actor: { role: requester.role, subject: requester.subject, org: context.signer.org },
          recordId,
          reason: legalBasis,
        },
        context,
      ),
    ],
    [{ type: 'records.erased', subject: recordId }],
  );
}

/**
 * Executes `records.erasure-receipt`: { recordId }, signed by a member organisation's key once
 * its node has deleted the record's ciphertexts. One receipt per organisation.
 */
export function executeErasureReceipt(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const body = RECORDS_ERASURE_RECEIPT.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId } = body;
  const record = RECORDS.get(state, recordId);
  if (record === undefined) return refuse('denied:no-such-record');
  if (record.status !== 'erased') return refuse('denied:not-erased');
  const erasure = ERASURES.get(state, recordId)!;
  const org = context.signer.org;
  // hasOwn, not `confirmations[org] !== undefined`: an org id such as 'constructor' names an inherited member.
  if (Object.hasOwn(erasure.confirmations, org)) return refuse('denied:already-confirmed');
  const confirmations = { ...erasure.confirmations, [org]: context.block.time };
  return accept(
    [
      {
        table: ERASURE_TABLE,
        key: recordId,
        value: { ...erasure, requestedBy: { ...erasure.requestedBy }, confirmations },
      },
    ],
    [{ type: 'records.erasure-confirmed', subject: recordId }],
  );
}

/** Who asks for the erasure, when `signer` is entitled to: the patient, or a holding organisation with a legal basis. */
function erasureRequester(
  state: StateReader,
  record: RecordRow,
  signer: Signer,
  legalBasis: string | null,
): ErasureRow['requestedBy'] | Refusal {
  if (signer.role === 'patient')
    return signer.subject === record.patientId
      ? { role: 'patient', subject: signer.subject }
      : 'denied:not-entitled';
  if (signer.role !== 'org') return 'denied:not-entitled';
  const patient = record.patientId === null ? undefined : PATIENTS.get(state, record.patientId);
  if (signer.org !== record.org && signer.org !== patient?.homeOrg) return 'denied:not-entitled';
  return legalBasis === null ? 'denied:legal-basis-required' : { role: 'org', subject: signer.org };
}
