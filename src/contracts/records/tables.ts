/** Records state: the tables and the shape of their rows. Contents never appear here, only anchors. */
import { defineTable } from '../table.js';
import { RECORD_VERSION_MAX, VERSION_KEY_DIGITS } from '../../ledger/index.js';

/** recordId → RecordRow. */
export const RECORD_TABLE = 'records_record';
/** versionKey(recordId, version) → VersionRow: every version ever written, tombstones included. */
export const VERSION_TABLE = 'records_version';
/** recordId → ErasureRow, for erased records. */
export const ERASURE_TABLE = 'records_erasure';

/** A record is active until tombstoned (deleted, history kept) or erased (ciphertexts destroyed). */
export type RecordStatus = 'active' | 'deleted' | 'erased';
/** How a version came to be: the first write, a later write, or a deletion. */
export type VersionKind = 'anchor' | 'supersede' | 'tombstone';

/** A FHIR Coding in meta.security, reduced to what access decisions read. */
export type SecurityLabel = { system: string; code: string };

/**
 * A version's data key wrapped with HPKE (RFC 9180 base mode) to one recipient: lowercase hex of
 * the recipient's raw X25519 public key, the encapsulated key, and the 32-byte key plus its tag.
 */
export type KeyEnvelope = { recipient: string; enc: string; wrappedKey: string };

/** Who wrote a version: the practitioner and the organisation they acted for. */
export type VersionAuthor = { practitioner: string; org: string };

/** The head of a record: who it is about, who created it, and its latest version. */
export interface RecordRow {
  recordId: string;
  /**
   * The patient the record is about; null for a directory record (an organisation, practitioner
   * or location resource): no patient's data, read by its own organisation without consent.
   */
  patientId: string | null;
  resourceType: string;
  /** The author organisation of version 1: the record's custodian. */
  org: string;
  latestVersion: number;
  status: RecordStatus;
  /** Block time of the last change. */
  updatedAt: number;
}

/** One version of a record. A tombstone has null hash, size and commitment, and no labels or envelopes. */
export interface VersionRow {
  recordId: string;
  version: number;
  resourceType: string;
  patientId: string | null;
  author: VersionAuthor;
  /** Lowercase hex SHA-256 of the ciphertext blob. */
  ciphertextHash: string | null;
  /** The blob's length in bytes, so a node fetching it from a peer knows how much to accept. */
  ciphertextSize: number | null;
  /** Lowercase hex SHA-256(salt ‖ canonical resource); the salt is inside the ciphertext. */
  commitment: string | null;
  securityLabels: SecurityLabel[];
  envelopes: KeyEnvelope[];
  /** The transaction that wrote this version, and its block time. */
  txId: string;
  time: number;
  kind: VersionKind;
}

/** An erasure request and the organisations that have confirmed deleting the ciphertexts. */
export interface ErasureRow {
  recordId: string;
  requestedBy: { role: 'patient' | 'org'; subject: string };
  /** Required when an organisation erases; null when the patient did not give one. */
  legalBasis: string | null;
  requestedAt: number;
  /** orgId → block time of its erasure receipt. */
  confirmations: Record<string, number>;
}

/**
 * The VERSION_TABLE key of `version` of `recordId`: `${recordId}/${version}` with the version
 * zero-padded to VERSION_KEY_DIGITS digits, so one record's versions sort in order. Throws
 * RangeError naming `version` unless it is an integer in [1, RECORD_VERSION_MAX].
 */
export function versionKey(recordId: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1 || version > RECORD_VERSION_MAX) {
    throw new RangeError(
      `version must be an integer in [1, ${RECORD_VERSION_MAX}], got ${version}`,
    );
  }
  return `${recordId}/${String(version).padStart(VERSION_KEY_DIGITS, '0')}`;
}

/** The typed tables of records state. */
export const RECORDS = defineTable<RecordRow>(RECORD_TABLE);
export const VERSIONS = defineTable<VersionRow>(VERSION_TABLE);
export const ERASURES = defineTable<ErasureRow>(ERASURE_TABLE);
