/**
 * Validators for records transaction bodies, in the manner of ../body.ts: each returns the
 * parsed value or undefined, so contract logic only ever sees well-formed fields.
 */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { hex32Field, RECORD_ID_PATTERN, stringField, textField } from '../body.js';
import {
  ENVELOPE_COUNT_MAX,
  LEGAL_BASIS_LENGTH_MAX,
  RECORD_CIPHERTEXT_BYTES_MAX,
  RECORD_VERSION_MAX,
  SECURITY_LABEL_CODE_LENGTH_MAX,
  SECURITY_LABEL_COUNT_MAX,
  SECURITY_LABEL_SYSTEM_LENGTH_MAX,
} from './limits.js';
import type { KeyEnvelope, SecurityLabel } from './tables.js';

export { RECORD_ID_PATTERN, RESOURCE_TYPE_PATTERN } from '../body.js';
const HEX48_PATTERN = /^[0-9a-f]{96}$/;
const BLANK_PATTERN = /^ *$/;

/** The fields a new version carries, whether it is an anchor or a supersede. */
export const CONTENT_FIELDS = ['ciphertextHash', 'ciphertextSize', 'commitment', 'securityLabels', 'envelopes'] as const;

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

/** The `version` field: an integer in [1, RECORD_VERSION_MAX]. */
export function versionField(body: JsonObject): number | undefined {
  const value = body['version'];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= RECORD_VERSION_MAX ? value : undefined;
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
  if (ciphertextHash === undefined || commitment === undefined || envelopes === undefined) return undefined;
  if (typeof ciphertextSize !== 'number' || !Number.isSafeInteger(ciphertextSize) || ciphertextSize < 1 || ciphertextSize > sizeMax) return undefined;
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
  if (!Array.isArray(value) || value.length === 0 || value.length > ENVELOPE_COUNT_MAX) return undefined;
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
  return keys.length === fields.length && fields.every((field) => keys.includes(field)) ? value : undefined;
}
