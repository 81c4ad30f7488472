/**
 * Sealing and opening notes (src/contracts/records/sealed-note.ts): a short free text sealed
 * like a record version (a fresh data key, HPKE envelopes, a salted commitment) whose
 * ciphertext goes into the blob store, so only a reference to it goes on the chain.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { SealedNote } from '../contracts/index.js';
import {
  canonicalBytes,
  canonicalize,
  commitmentOf,
  COMMITMENT_SALT_BYTES,
  fromHex,
  fromUtf8,
  openRecordContent,
  unwrapDataKey,
  utf8,
} from '../crypto/index.js';
import { sealToBlob } from './record-service.js';
import { BlobError, BlobMissingError, type BlobStore } from '../storage/index.js';

/**
 * What a note is about: bound into its AAD, so a note copied into an event about another
 * patient, by another organisation or practitioner, or for another purpose does not open.
 */
export interface NoteContext {
  readonly kind: 'break-the-glass-reason' | 'break-the-glass-review';
  readonly patientId: string;
  readonly org: string;
  readonly practitionerId: string;
  readonly purpose: string;
}

/** A note that cannot be opened: not wrapped to the reader, its ciphertext absent, or not what the chain committed to. */
export class NoteUnavailableError extends Error {
  constructor(readonly reason: 'not-a-recipient' | 'missing' | 'integrity') {
    super(`sealed note: ${reason}`);
    this.name = 'NoteUnavailableError';
  }
}

function noteAad(context: NoteContext): Uint8Array {
  return utf8(
    canonicalize({
      note: context.kind,
      patientId: context.patientId,
      org: context.org,
      practitionerId: context.practitionerId,
      purpose: context.purpose,
    }),
  );
}

/** Seals `text` to `recipients` (raw X25519 public keys, hex), stores the ciphertext, and returns what the chain holds. */
export async function sealNote(
  blobs: BlobStore,
  text: string,
  recipients: readonly string[],
  context: NoteContext,
): Promise<SealedNote> {
  const salt = randomBytes(COMMITMENT_SALT_BYTES);
  const content = await sealToBlob(
    blobs,
    canonicalBytes({ text, salt: salt.toString('hex') }),
    noteAad(context),
    recipients,
  );
  return { ...content, commitment: commitmentOf(salt, canonicalBytes(text)) };
}

/**
 * Opens `note` with whichever of `keys` (raw X25519 public key hex → private key) has an
 * envelope, checking blob hash, envelope, ciphertext and commitment. Throws NoteUnavailableError.
 */
export function openNote(
  blobs: BlobStore,
  note: SealedNote,
  keys: ReadonlyMap<string, KeyObject>,
  context: NoteContext,
): string {
  const envelope = note.envelopes.find((candidate) => keys.has(candidate.recipient));
  if (envelope === undefined) throw new NoteUnavailableError('not-a-recipient');
  const sealed = stored(blobs, note.ciphertextHash);
  const aad = noteAad(context);
  let plaintext: { text: unknown; salt: unknown };
  try {
    plaintext = JSON.parse(
      fromUtf8(
        openRecordContent(sealed, unwrapDataKey(envelope, keys.get(envelope.recipient)!, aad), aad),
      ),
    ) as typeof plaintext;
  } catch {
    throw new NoteUnavailableError('integrity');
  }
  const { text, salt } = plaintext;
  if (typeof text !== 'string' || typeof salt !== 'string' || !/^[0-9a-f]{64}$/.test(salt))
    throw new NoteUnavailableError('integrity');
  if (commitmentOf(fromHex(salt), canonicalBytes(text)) !== note.commitment)
    throw new NoteUnavailableError('integrity');
  return text;
}

function stored(blobs: BlobStore, hash: string): Uint8Array {
  try {
    return blobs.get(hash);
  } catch (error) {
    if (error instanceof BlobError)
      throw new NoteUnavailableError(error instanceof BlobMissingError ? 'missing' : 'integrity');
    throw error;
  }
}
