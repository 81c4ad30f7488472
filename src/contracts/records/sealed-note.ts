/**
 * Sealed notes: free text a transaction needs (a break-the-glass reason, a reviewer's note)
 * that must not be on the chain, where every member organisation and auditor reads it. The text
 * is sealed off-chain like a record version, to named readers only; the chain holds the
 * ciphertext's hash and size, a salted commitment to the text, and the key envelopes.
 */
import type { JsonObject } from '../../ledger/index.js';
import { hex32Field } from '../body.js';
import { envelopesOf, objectOf } from './record-body.js';
import type { KeyEnvelope } from './tables.js';

/** A sealed note's ciphertext: room for a thousand characters of any script, their salt and the AEAD overhead. */
export const NOTE_CIPHERTEXT_BYTES_MAX = 8 * 1024;

/** What the chain holds of a sealed note (a type, not an interface, so rows holding one are JSON values). */
export type SealedNote = {
  /** Lowercase hex SHA-256 of the ciphertext blob. */
  ciphertextHash: string;
  ciphertextSize: number;
  /** Lowercase hex SHA-256(salt ‖ canonical text); the salt is inside the ciphertext. */
  commitment: string;
  envelopes: KeyEnvelope[];
};

/** The sealed note at `body[field]`, or undefined when it is absent or malformed (plain text included). */
export function sealedNoteField(body: JsonObject, field: string): SealedNote | undefined {
  const note = objectOf(body[field] ?? null, ['ciphertextHash', 'ciphertextSize', 'commitment', 'envelopes']);
  if (note === undefined) return undefined;
  const ciphertextHash = hex32Field(note, 'ciphertextHash');
  const commitment = hex32Field(note, 'commitment');
  const envelopes = envelopesOf(note['envelopes']);
  const size = note['ciphertextSize'];
  if (ciphertextHash === undefined || commitment === undefined || envelopes === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > NOTE_CIPHERTEXT_BYTES_MAX) return undefined;
  return { ciphertextHash, ciphertextSize: size, commitment, envelopes };
}

/** True when `note` is wrapped to exactly `recipients` (X25519 public keys, hex): no reader more, none fewer. */
export function sealedFor(note: SealedNote, recipients: readonly string[]): boolean {
  const wanted = new Set(recipients);
  return note.envelopes.length === wanted.size && note.envelopes.every((envelope) => wanted.has(envelope.recipient));
}
