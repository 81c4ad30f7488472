/**
 * Agreements state: the tables and the shape of their rows. An agreement is a data-sharing
 * agreement between two member organisations, in one direction: from discloser to recipient.
 */
import { defineTable } from '../table.js';
import type { StateReader } from '../state.js';

/** agreementId → AgreementRow: every agreement ever proposed, terminated ones included. */
export const AGREEMENT_TABLE = 'agreements_agreement';
/** pairKey(discloser, recipient) → AgreementPairRow: the pair's agreements not yet terminated. */
export const AGREEMENT_PAIR_TABLE = 'agreements_pair';

/** Where an agreement stands. Expiry is not a status: it follows from the period and block time. */
export type AgreementStatus = 'proposed' | 'active' | 'terminated';

/** Ms since the Unix epoch, compared with block time: the agreement covers [start, end); null end is open-ended. */
export type AgreementPeriod = { start: number; end: number | null };

/**
 * What an agreement lets the discloser share with the recipient, as both parties sign it. Empty
 * `resourceTypes` means every type; `excludeLabels` are meta.security codes (e.g. 42CFRPart2,
 * PSY) whose records it never covers; `purposes` are v3 ActReason codes (TREAT, ETREAT, HPAYMT,
 * HRESCH, …), at least one; `redisclosure` says whether the recipient may pass records on.
 */
export type AgreementTerms = {
  resourceTypes: string[];
  excludeLabels: string[];
  purposes: string[];
  period: AgreementPeriod;
  redisclosure: boolean;
};

/** An agreement and its lifecycle. Times are block times; organisations are org ids. */
export interface AgreementRow {
  agreementId: string;
  discloser: string;
  recipient: string;
  proposedBy: string;
  terms: AgreementTerms;
  status: AgreementStatus;
  proposedAt: number;
  activatedAt: number | null;
  terminatedAt: number | null;
  terminatedBy: string | null;
}

/** The ids of one pair's agreements not yet terminated, sorted. */
export interface AgreementPairRow {
  agreementIds: string[];
}

/** The AGREEMENT_PAIR_TABLE key of agreements from `discloser` to `recipient`. Org ids never contain '>'. */
export function pairKey(discloser: string, recipient: string): string {
  return `${discloser}>${recipient}`;
}

/** The sorted ids of the agreements from `discloser` to `recipient` not yet terminated. */
export function pairAgreementIds(
  state: StateReader,
  discloser: string,
  recipient: string,
): string[] {
  const row = AGREEMENT_PAIRS.get(state, pairKey(discloser, recipient));
  return row === undefined ? [] : row.agreementIds;
}

/** The typed tables of agreements state. */
export const AGREEMENTS = defineTable<AgreementRow>(AGREEMENT_TABLE);
export const AGREEMENT_PAIRS = defineTable<AgreementPairRow>(AGREEMENT_PAIR_TABLE);
