/**
 * The per-patient audit trail: every access, denial, grant, revocation, break-the-glass and
 * erasure touching a patient, in order, each naming the transaction that carries it. It is
 * what HIPAA's accounting of disclosures reads, with an inclusion proof per entry.
 */
import type { TxContext } from '../contract.js';
import type { StateReader, Write } from '../state.js';
import { defineTable } from '../table.js';

/** `${patientId}|${seq, zero-padded}` → AuditEntry. */
export const AUDIT_ENTRY_TABLE = 'audit_entry';
/** patientId → { count }: the number of entries, so the next seq needs no scan. */
export const AUDIT_HEAD_TABLE = 'audit_head';
/** Digits of a seq in an AUDIT_ENTRY_TABLE key, so keys sort by seq. */
export const AUDIT_SEQ_DIGITS = 10;

/** What happened. */
export type AuditKind =
  | 'access'
  | 'search'
  | 'grant'
  | 'consent-update'
  | 'revoke'
  | 'restriction'
  | 'restriction-lift'
  | 'break-the-glass-setting'
  | 'break-the-glass'
  | 'break-the-glass-review'
  | 'key-share'
  | 'erasure';

/** Why a read was allowed: the patient themself, a consent grant (and an agreement across organisations), the patient's home organisation, break-the-glass, or a directory record of the reader's organisation. */
export interface AccessBasis {
  /**
   * 'directory': a directory record (no patient) read by its own organisation.
   * 'home-organisation': the patient's home organisation, in an opt-out network, with no restriction of the patient's covering the read.
   */
  kind: 'patient' | 'consent' | 'home-organisation' | 'break-the-glass' | 'directory';
  grantId: string | null;
  agreementId: string | null;
  breakTheGlassId: string | null;
}

/** One entry of a patient's audit trail. */
export interface AuditEntry {
  seq: number;
  kind: AuditKind;
  txId: string;
  time: number;
  /** Who acted: for an access, the principal the organisation's node authenticated (and for a system principal, the OAuth client, when named). */
  actor: { role: string; subject: string; org: string | null; client?: string };
  recordId: string | null;
  version: number | null;
  purpose: string | null;
  outcome: 'permit' | 'deny' | null;
  /** The refusal reason of a denial, the grant, the erasure basis, or a review's verdict; never free text about the patient (a break-the-glass reason is sealed). */
  reason: string | null;
  basis: AccessBasis | null;
  /** For an access: whether the node released plaintext. True with outcome 'deny' marks a release that raced a revocation. */
  released: boolean | null;
  /** For a search: each record of this patient it touched, with the contract's decision. Absent on every other kind. */
  records?: SearchedRecord[];
}

/** One record a search touched, as its patient's trail records it. */
export interface SearchedRecord {
  recordId: string;
  version: number;
  /** Whether the node released the plaintext; false only for the records of a patient the search was scoped to and could not read. */
  released: boolean;
  outcome: 'permit' | 'deny';
  reason: string | null;
  basis: AccessBasis | null;
}

/** The entry fields a contract supplies; seq, txId and time come from the trail and the context. */
export type AuditInput = Omit<
  AuditEntry,
  | 'seq'
  | 'txId'
  | 'time'
  | 'recordId'
  | 'version'
  | 'purpose'
  | 'outcome'
  | 'reason'
  | 'basis'
  | 'released'
> &
  Partial<AuditEntry>;

/** A patient's AUDIT_HEAD_TABLE row. */
export interface AuditHead {
  count: number;
}

/** The typed tables of the audit trail. */
export const AUDIT_ENTRIES = defineTable<AuditEntry>(AUDIT_ENTRY_TABLE);
export const AUDIT_HEADS = defineTable<AuditHead>(AUDIT_HEAD_TABLE);

/** The key of entry `seq` of `patientId`'s trail. */
export function auditKey(patientId: string, seq: number): string {
  return `${patientId}|${String(seq).padStart(AUDIT_SEQ_DIGITS, '0')}`;
}

/** Number of entries in `patientId`'s trail. */
export function auditCount(state: StateReader, patientId: string): number {
  return AUDIT_HEADS.get(state, patientId)?.count ?? 0;
}

/** The writes that append `input` to `patientId`'s trail; none for a directory record, which has no patient. */
export function auditWrites(
  state: StateReader,
  patientId: string | null,
  input: AuditInput,
  context: TxContext,
): Write[] {
  if (patientId === null) return [];
  const seq = auditCount(state, patientId) + 1;
  const entry: Omit<AuditEntry, 'records'> = {
    seq,
    kind: input.kind,
    txId: context.txId,
    time: context.block.time,
    actor: { ...input.actor },
    recordId: input.recordId ?? null,
    version: input.version ?? null,
    purpose: input.purpose ?? null,
    outcome: input.outcome ?? null,
    reason: input.reason ?? null,
    basis: input.basis === undefined || input.basis === null ? null : { ...input.basis },
    released: input.released ?? null,
  };
  // Only a search carries records, so every other kind's entries keep their exact earlier shape.
  const value = {
    ...entry,
    actor: { ...entry.actor },
    basis: entry.basis === null ? null : { ...entry.basis },
  };
  const records = input.records?.map((record) => ({
    ...record,
    basis: record.basis === null ? null : { ...record.basis },
  }));
  return [
    {
      table: AUDIT_ENTRY_TABLE,
      key: auditKey(patientId, seq),
      value: records === undefined ? value : { ...value, records },
    },
    { table: AUDIT_HEAD_TABLE, key: patientId, value: { count: seq } },
  ];
}
