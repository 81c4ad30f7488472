/** Public API of the records contract. */
export { recordsContract } from './records.js';
export { granteeKey, requiredRecipients, type RecipientQuery } from './recipients.js';
export {
  BATCH_WRITE_KINDS,
  RECORD_ID_PATTERN,
  RESOURCE_TYPE_PATTERN,
  type BatchWrite,
  type KeyShare,
  type SealedContent,
  type VersionContent,
} from './record-body.js';
export * from './tables.js';
export { isSealedNote, sealedFor, sealedNoteField, type SealedNote } from './sealed-note.js';
export * from './txs.js';
