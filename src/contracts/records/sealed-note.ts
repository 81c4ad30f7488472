/**
 * Sealed notes: free text a transaction needs (a break-the-glass reason, a reviewer's note)
 * that must not be on the chain, where every member organisation and auditor reads it. The text
 * is sealed off-chain like a record version, to named readers only; the chain holds the
 * ciphertext's hash and size, a salted commitment to the text, and the key envelopes.
 */
import type { JsonObject } from '../../ledger/index.js';
import { objectOf, sealedContentOf, type SealedContent } from './record-body.js';
import { NOTE_CIPHERTEXT_BYTES_MAX } from '../../ledger/index.js';

/** What the chain holds of a sealed note: its ciphertext, named like a record version's. */
export type SealedNote = SealedContent;

/** The sealed note at `body[field]`, or undefined when it is absent or malformed (plain text included). */
export function sealedNoteField(body: JsonObject, field: string): SealedNote | undefined {
  const note = objectOf(body[field] ?? null, [
    'ciphertextHash',
    'ciphertextSize',
    'commitment',
    'envelopes',
  ]);
  return note === undefined ? undefined : sealedContentOf(note, NOTE_CIPHERTEXT_BYTES_MAX);
}

/** True when `value` is a sealed note's shape (rows written before notes were sealed hold plain text). */
export function isSealedNote(value: unknown): value is SealedNote {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as SealedNote).envelopes)
  );
}

/** True when `note` is wrapped to exactly `recipients` (X25519 public keys, hex): no reader more, none fewer. */
export function sealedFor(note: SealedNote, recipients: readonly string[]): boolean {
  const wanted = new Set(recipients);
  return (
    note.envelopes.length === wanted.size &&
    note.envelopes.every((envelope) => wanted.has(envelope.recipient))
  );
}
