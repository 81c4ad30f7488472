/** The access transaction types and their bodies, declared once for the contract and for every signer. */
import { CODE_PATTERN, stringField } from '../body.js';
import { recordIdPart, recordVersionPart, sealedNoteField } from '../records/index.js';
import {
  boolean,
  count,
  defineTx,
  field,
  fieldGroup,
  hex32,
  id,
  nullable,
  oneOf,
  optional,
} from '../tx-schema.js';
import { namedPrincipalField } from './principal-body.js';
import { listedRecordsOf, type ListedRecord } from './search-body.js';

const principal = field(namedPrincipalField);
const purpose = field((body, name) => stringField(body, name, CODE_PATTERN));
const sealedNote = field(sealedNoteField);

/**
 * `access.log`: { principal: { kind, id }, recordId, version, action, purpose, released }. The
 * contract refuses a principal its signer did not authenticate only once the body parses.
 */
export const ACCESS_LOG = defineTx('access.log', {
  principal,
  recordId: recordIdPart,
  version: recordVersionPart,
  action: oneOf(['read', 'write'] as const),
  purpose,
  released: boolean,
});
/** `access.search`: { principal, purpose, patientId: string | null, records: [{ recordId, version, released }] }. */
export const ACCESS_SEARCH = defineTx('access.search', {
  principal,
  purpose,
  patientId: nullable(id),
  records: fieldGroup(
    ['records'],
    (body) => listedRecordsOf(body['records']),
    (records: readonly ListedRecord[]) => ({ records: records.map((record) => ({ ...record })) }),
  ),
});
/**
 * `access.break-the-glass`: { principal, patientId, purpose, reason: SealedNote, minutes? }. The
 * contract checks the minutes' range after the practitioner, as bad-body.
 */
export const ACCESS_BREAK_THE_GLASS = defineTx('access.break-the-glass', {
  principal,
  patientId: id,
  purpose,
  reason: sealedNote,
  minutes: optional(count),
});
/** `access.review-break-the-glass`: { btgId, justified, note?: SealedNote }. */
export const ACCESS_REVIEW_BREAK_THE_GLASS = defineTx('access.review-break-the-glass', {
  btgId: hex32,
  justified: boolean,
  note: optional(sealedNote),
});
