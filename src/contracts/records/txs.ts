/** The records transaction types and their bodies, declared once for the contract and for every signer. */
import type { JsonObject } from '../../ledger/index.js';
import { RECORD_ID_PATTERN, RESOURCE_TYPE_PATTERN, stringField } from '../body.js';
import {
  constant,
  defineTx,
  field,
  fieldGroup,
  id,
  nullable,
  type BodyPart,
} from '../tx-schema.js';
import {
  batchWritesOf,
  CONTENT_FIELDS,
  legalBasisField,
  sharesOf,
  versionContent,
  versionField,
  type BatchWrite,
  type KeyShare,
  type VersionContent,
} from './record-body.js';

/** A record id (RECORD_ID_PATTERN). */
export const recordIdPart: BodyPart<string> = field((body, name) =>
  stringField(body, name, RECORD_ID_PATTERN),
);
/** A version number: an integer in [1, RECORD_VERSION_MAX]. */
export const recordVersionPart: BodyPart<number> = field(versionField);
const content = fieldGroup(CONTENT_FIELDS, versionContent, contentBody);

/** The body fields that carry `content`: what versionContent reads back. */
function contentBody(value: VersionContent): JsonObject {
  const { ciphertextHash, ciphertextSize, commitment } = value;
  return {
    ciphertextHash,
    ciphertextSize,
    commitment,
    securityLabels: value.securityLabels.map((label) => ({ ...label })),
    envelopes: value.envelopes.map((envelope) => ({ ...envelope })),
  };
}

/** `legalBasis`: null when absent or blank, and then not written. */
const legalBasis: BodyPart<string | null> = {
  parse: (body) => legalBasisField(body),
  write: (value) => (value === null ? {} : { legalBasis: value }),
};

/** `records.anchor`: { recordId, patientId (null for a directory record), resourceType, version: 1, ...CONTENT_FIELDS }. */
export const RECORDS_ANCHOR = defineTx('records.anchor', {
  recordId: recordIdPart,
  patientId: nullable(id),
  resourceType: field((body, name) => stringField(body, name, RESOURCE_TYPE_PATTERN)),
  version: constant(1),
  content,
});
/** `records.supersede`: { recordId, version, ...CONTENT_FIELDS }. */
export const RECORDS_SUPERSEDE = defineTx('records.supersede', {
  recordId: recordIdPart,
  version: recordVersionPart,
  content,
});
/** `records.tombstone`: { recordId, version }. */
export const RECORDS_TOMBSTONE = defineTx('records.tombstone', {
  recordId: recordIdPart,
  version: recordVersionPart,
});
/** `records.erase`: { recordId, legalBasis? }. */
export const RECORDS_ERASE = defineTx('records.erase', { recordId: recordIdPart, legalBasis });
/** `records.erasure-receipt`: { recordId }. */
export const RECORDS_ERASURE_RECEIPT = defineTx('records.erasure-receipt', {
  recordId: recordIdPart,
});
/** `records.share-keys`: { grantId, shares: [{ recordId, version, enc, wrappedKey }] }. */
export const RECORDS_SHARE_KEYS = defineTx('records.share-keys', {
  grantId: id,
  shares: fieldGroup(
    ['shares'],
    (body) => sharesOf(body['shares']),
    (shares: readonly KeyShare[]) => ({ shares: shares.map((share) => ({ ...share })) }),
  ),
});
/** `records.batch`: { writes: [{ kind, body }] }, each body that of `records.<kind>`. */
export const RECORDS_BATCH = defineTx('records.batch', {
  writes: fieldGroup(['writes'], batchWritesOf, (writes: readonly BatchWrite[]) => ({
    writes: writes.map(({ kind, body }) => ({ kind, body })),
  })),
});
