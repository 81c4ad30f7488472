/**
 * The closed set of statuses a contract records (TB): the ledger's envelope rejections and each
 * contract's refusals. The ledger's TxStatus stays open, so statuses on existing chains decode;
 * this is the type contracts produce and HTTP and FHIR map exhaustively.
 */
import type { EnvelopeRejection } from '../ledger/index.js';
import { ACCESS_REFUSALS, type AccessRefusal } from './access/refusals.js';
import { AGREEMENTS_REFUSALS, type AgreementsRefusal } from './agreements/refusals.js';
import { CONSENT_CONTRACT_REFUSALS, type ConsentContractRefusal } from './consent/refusals.js';
import { CONSENT_REFUSALS, type ConsentRefusal } from './consent/covering.js';
import { MEMBERSHIP_REFUSALS, type MembershipRefusal } from './membership/refusals.js';
import { RECORDS_REFUSALS, type RecordsRefusal } from './records/refusals.js';

/** A refusal some contract gives. */
export type ContractRefusal =
  | MembershipRefusal
  | RecordsRefusal
  | AgreementsRefusal
  | ConsentContractRefusal
  | ConsentRefusal
  | AccessRefusal;

/** Every status a transaction can get from this code: 'ok', an envelope rejection, or a contract refusal. */
export type KnownTxStatus = 'ok' | EnvelopeRejection | ContractRefusal;

/** A status other than 'ok': what refuse() takes. */
export type Refusal = Exclude<KnownTxStatus, 'ok'>;

/** Every contract refusal, sorted, each once. */
export const CONTRACT_REFUSALS: readonly ContractRefusal[] = [
  ...new Set<ContractRefusal>([
    ...MEMBERSHIP_REFUSALS,
    ...RECORDS_REFUSALS,
    ...AGREEMENTS_REFUSALS,
    ...CONSENT_CONTRACT_REFUSALS,
    ...CONSENT_REFUSALS,
    ...ACCESS_REFUSALS,
  ]),
].sort();

/** True when `status` is one this code gives: a status read from an older chain may not be. */
export function isKnownTxStatus(status: string): status is KnownTxStatus {
  return (
    status === 'ok' ||
    (ENVELOPE_REJECTIONS as readonly string[]).includes(status) ||
    (CONTRACT_REFUSALS as readonly string[]).includes(status)
  );
}

/** The ledger's envelope rejections, as a list (the ledger declares them as a type). */
export const ENVELOPE_REJECTIONS: readonly EnvelopeRejection[] = [
  'invalid:malformed',
  'invalid:oversized',
  'invalid:unknown-type',
  'invalid:unknown-signer',
  'invalid:bad-signature',
  'invalid:duplicate-txid',
  'invalid:stale-nonce',
  'denied:signer-inactive',
];
