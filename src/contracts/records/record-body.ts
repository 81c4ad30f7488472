/**
 * Validators for records transaction bodies, in the manner of ../body.ts: each returns the
 * parsed value or undefined, so contract logic only ever sees well-formed fields.
 */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import {
  countField,
  enumField,
  hex32Field,
  objectField,
  onlyFields,
  RECORD_ID_PATTERN,
  stringField,
  textField,
} from '../body.js';
import {
  BATCH_WRITE_COUNT_MAX,
  ENVELOPE_COUNT_MAX,
  KEY_SHARE_COUNT_MAX,
  LEGAL_BASIS_LENGTH_MAX,
  RECORD_CIPHERTEXT_BYTES_MAX,
  RECORD_VERSION_MAX,
  SECURITY_LABEL_CODE_LENGTH_MAX,
  SECURITY_LABEL_COUNT_MAX,
  SECURITY_LABEL_SYSTEM_LENGTH_MAX,
} from '../../ledger/index.js';
import type { KeyEnvelope, SecurityLabel } from './tables.js';

export { RECORD_ID_PATTERN, RESOURCE_TYPE_PATTERN } from '../body.js';
const HEX48_PATTERN = /^[0-9a-f]{96}$/;
const BLANK_PATTERN = /^ *$/;

/** The fields a new version carries, whether it is an anchor or a supersede. */
export const CONTENT_FIELDS = [
  'ciphertextHash',
  'ciphertextSize',
  'commitment',
  'securityLabels',
  'envelopes',
] as const;

/**
 * A ciphertext as the chain names it: its blob's hash and size, the salted commitment to its
 * plaintext, and the key envelopes of who can open it (a type, so rows holding one are JSON).
 */
export type SealedContent = {
  ciphertextHash: string;
  ciphertextSize: number;
  commitment: string;
  envelopes: KeyEnvelope[];
};

/** What a body says about a new version's ciphertext and who can open it. */
export type VersionContent = SealedContent & { securityLabels: SecurityLabel[] };

/** The `recordId` field (see RECORD_ID_PATTERN). */
export function recordIdField(body: JsonObject): string | undefined {
  return stringField(body, 'recordId', RECORD_ID_PATTERN);
}

/** A version number field (`version` unless named): an integer in [1, RECORD_VERSION_MAX]. */
export function versionField(body: JsonObject, name = 'version'): number | undefined {
  const value = body[name];
  return typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 1 &&
    value <= RECORD_VERSION_MAX
    ? value
    : undefined;
}

/** The CONTENT_FIELDS of `body`, or undefined when any is missing or malformed. */
export function versionContent(body: JsonObject): VersionContent | undefined {
  const content = sealedContentOf(body, RECORD_CIPHERTEXT_BYTES_MAX);
  const securityLabels = securityLabelsOf(body['securityLabels']);
  if (content === undefined || securityLabels === undefined) return undefined;
  const { ciphertextHash, ciphertextSize, commitment, envelopes } = content;
  return { ciphertextHash, ciphertextSize, commitment, securityLabels, envelopes };
}

/** `body`'s ciphertextHash, ciphertextSize (1 to `sizeMax`), commitment and envelopes, or undefined when any is missing or malformed. */
export function sealedContentOf(body: JsonObject, sizeMax: number): SealedContent | undefined {
  const ciphertextHash = hex32Field(body, 'ciphertextHash');
  const ciphertextSize = body['ciphertextSize'];
  const commitment = hex32Field(body, 'commitment');
  const envelopes = envelopesOf(body['envelopes']);
  if (ciphertextHash === undefined || commitment === undefined || envelopes === undefined)
    return undefined;
  if (
    typeof ciphertextSize !== 'number' ||
    !Number.isSafeInteger(ciphertextSize) ||
    ciphertextSize < 1 ||
    ciphertextSize > sizeMax
  )
    return undefined;
  return { ciphertextHash, ciphertextSize, commitment, envelopes };
}

/**
 * The optional `legalBasis` field: null when absent, empty or only spaces; undefined when it is
 * not a string of at most LEGAL_BASIS_LENGTH_MAX code units without control characters.
 */
export function legalBasisField(body: JsonObject): string | null | undefined {
  const value = body['legalBasis'];
  if (value === undefined || (typeof value === 'string' && BLANK_PATTERN.test(value))) return null;
  return textField(body, 'legalBasis', LEGAL_BASIS_LENGTH_MAX);
}

function securityLabelsOf(value: JsonValue | undefined): SecurityLabel[] | undefined {
  if (!Array.isArray(value) || value.length > SECURITY_LABEL_COUNT_MAX) return undefined;
  const labels: SecurityLabel[] = [];
  for (const item of value) {
    const label = objectOf(item, ['system', 'code']);
    const system = label && textField(label, 'system', SECURITY_LABEL_SYSTEM_LENGTH_MAX);
    const code = label && textField(label, 'code', SECURITY_LABEL_CODE_LENGTH_MAX);
    if (system === undefined || code === undefined) return undefined;
    if (labels.some((other) => other.system === system && other.code === code)) return undefined;
    labels.push({ system, code });
  }
  return labels;
}

function envelopesOf(value: JsonValue | undefined): KeyEnvelope[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > ENVELOPE_COUNT_MAX)
    return undefined;
  const envelopes: KeyEnvelope[] = [];
  for (const item of value) {
    const envelope = objectOf(item, ['recipient', 'enc', 'wrappedKey']);
    const recipient = envelope && hex32Field(envelope, 'recipient');
    const enc = envelope && hex32Field(envelope, 'enc');
    const wrappedKey = envelope && stringField(envelope, 'wrappedKey', HEX48_PATTERN);
    if (recipient === undefined || enc === undefined || wrappedKey === undefined) return undefined;
    // One envelope per recipient: a second would be either redundant or a conflicting key.
    if (envelopes.some((other) => other.recipient === recipient)) return undefined;
    envelopes.push({ recipient, enc, wrappedKey });
  }
  return envelopes;
}

/** `value` as an object with exactly `fields`, or undefined. */
export function objectOf(value: JsonValue, fields: readonly string[]): JsonObject | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === fields.length && fields.every((field) => keys.includes(field))
    ? value
    : undefined;
}

/** The version a records.share-keys share re-wraps, and the grantee's envelope for it. */
export interface KeyShare {
  readonly recordId: string;
  readonly version: number;
  readonly enc: string;
  readonly wrappedKey: string;
}

/** The `shares` of a records.share-keys body: 1 to KEY_SHARE_COUNT_MAX, each exactly { recordId, version, enc, wrappedKey }. */
export function sharesOf(value: JsonValue | undefined): KeyShare[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > KEY_SHARE_COUNT_MAX)
    return undefined;
  const shares: KeyShare[] = [];
  for (const item of value) {
    if (
      item === null ||
      typeof item !== 'object' ||
      Array.isArray(item) ||
      !onlyFields(item, ['recordId', 'version', 'enc', 'wrappedKey'])
    )
      return undefined;
    const recordId = stringField(item, 'recordId', RECORD_ID_PATTERN);
    const version = countField(item, 'version');
    const enc = hex32Field(item, 'enc');
    const wrappedKey = stringField(item, 'wrappedKey', HEX48_PATTERN);
    if (
      recordId === undefined ||
      version === undefined ||
      version < 1 ||
      version > RECORD_VERSION_MAX ||
      enc === undefined ||
      wrappedKey === undefined
    )
      return undefined;
    shares.push({ recordId, version, enc, wrappedKey });
  }
  return shares;
}

/** The kinds of write a records.batch carries, each the body of the transaction type it names. */
export const BATCH_WRITE_KINDS = ['anchor', 'supersede', 'tombstone'] as const;

/** One write of a records.batch: its kind and the body it would have on its own. */
export interface BatchWrite {
  readonly kind: (typeof BATCH_WRITE_KINDS)[number];
  readonly body: JsonObject;
}

/** The writes of a records.batch body ({ writes } and nothing else): 1 to BATCH_WRITE_COUNT_MAX, each exactly { kind, body }. */
export function batchWritesOf(body: JsonObject): BatchWrite[] | undefined {
  const value: JsonValue | undefined = body['writes'];
  if (
    !onlyFields(body, ['writes']) ||
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > BATCH_WRITE_COUNT_MAX
  )
    return undefined;
  const writes: BatchWrite[] = [];
  for (const item of value) {
    if (
      item === null ||
      typeof item !== 'object' ||
      Array.isArray(item) ||
      !onlyFields(item, ['kind', 'body'])
    )
      return undefined;
    const kind = enumField(item, 'kind', BATCH_WRITE_KINDS);
    const writeBody = objectField(item, 'body');
    if (kind === undefined || writeBody === undefined) return undefined;
    writes.push({ kind, body: writeBody });
  }
  return writes;
}
