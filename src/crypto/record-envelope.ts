/**
 * The per-record-version envelope of DESIGN.md "Encryption": content sealed under a fresh
 * AES-256-GCM data key (DEK), the DEK wrapped with HPKE to each reader, both bound by one AAD
 * naming the record version, and the salted on-chain commitment to the canonical resource.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  AeadError,
  aeadOpen,
  aeadSeal,
} from './aead.js';
import { concatBytes, fromHex, isHex, toHex, utf8 } from './bytes.js';
import { canonicalize } from './canonical-json.js';
import { HPKE_ENC_BYTES, HpkeError, openBase, sealBase } from './hpke.js';
import { sha256Hex } from './sha256.js';

/** A data key is one AES-256-GCM key; the commitment salt is 32 bytes (DESIGN.md). */
export const DATA_KEY_BYTES = AEAD_KEY_BYTES;
export const COMMITMENT_SALT_BYTES = 32;
/** HPKE info for wrapping data keys; the version suffix lets a future scheme never open under the old one. */
export const DATA_KEY_WRAP_INFO = 'chartchain/dek/v1';

const WRAP_INFO_BYTES = utf8(DATA_KEY_WRAP_INFO);
const WRAPPED_KEY_BYTES = DATA_KEY_BYTES + AEAD_TAG_BYTES;

/** The record version an AAD names. */
export interface RecordAadFields {
  readonly recordId: string;
  readonly version: number;
  readonly resourceType: string;
}

/** Content sealed under a fresh data key: sealed = nonce(12) ‖ ciphertext ‖ tag(16). */
export interface SealedRecordContent {
  readonly dataKey: Uint8Array;
  readonly sealed: Uint8Array;
}

/** A data key wrapped to one recipient with HPKE base mode, as lowercase hex for the chain. */
export interface WrappedDataKey {
  readonly enc: string;
  readonly wrappedKey: string;
}

/**
 * The AAD binding a record version: UTF-8 of canonicalize({recordId, resourceType, version})
 * (RFC 8785), so content or a key replayed under another record, version or resource type fails
 * to open. Throws TypeError unless recordId and resourceType are non-empty strings, and
 * RangeError unless version is a non-negative safe integer.
 */
export function recordAad({ recordId, version, resourceType }: RecordAadFields): Uint8Array {
  if (typeof recordId !== 'string' || recordId.length === 0)
    throw new TypeError('recordId must be a non-empty string');
  if (typeof resourceType !== 'string' || resourceType.length === 0)
    throw new TypeError('resourceType must be a non-empty string');
  if (!Number.isSafeInteger(version) || version < 0)
    throw new RangeError(`version must be a non-negative safe integer, got ${version}`);
  return utf8(canonicalize({ recordId, resourceType, version }));
}

/**
 * Seals `plaintext` under a fresh random data key with a fresh random nonce. A key seals exactly
 * one plaintext, so the random nonce can never repeat under it.
 */
export function sealRecordContent(plaintext: Uint8Array, aad: Uint8Array): SealedRecordContent {
  const dataKey = new Uint8Array(randomBytes(DATA_KEY_BYTES));
  const nonce = randomBytes(AEAD_NONCE_BYTES);
  return { dataKey, sealed: concatBytes(nonce, aeadSeal(dataKey, nonce, aad, plaintext)) };
}

/**
 * Opens what sealRecordContent sealed. Throws AeadError when `sealed`, `dataKey` or `aad` differ
 * from the seal's (including `sealed` too short to hold a nonce and tag), and RangeError naming
 * `dataKey` unless it is 32 bytes.
 */
export function openRecordContent(
  sealed: Uint8Array,
  dataKey: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (dataKey.byteLength !== DATA_KEY_BYTES)
    throw new RangeError(`dataKey must be ${DATA_KEY_BYTES} bytes, got ${dataKey.byteLength}`);
  if (sealed.byteLength < AEAD_NONCE_BYTES + AEAD_TAG_BYTES)
    throw new AeadError('sealed is shorter than a nonce and a tag');
  return aeadOpen(
    dataKey,
    sealed.subarray(0, AEAD_NONCE_BYTES),
    aad,
    sealed.subarray(AEAD_NONCE_BYTES),
  );
}

/**
 * Wraps `dataKey` to `recipientPublicKey` (raw X25519) with HPKE base mode (RFC 9180 §6.1),
 * info "chartchain/dek/v1" and the record's `aad`. Throws RangeError naming `dataKey` or
 * `recipientPublicKey` for wrong lengths, and HpkeError for a low-order recipient key.
 */
export function wrapDataKey(
  dataKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  aad: Uint8Array,
): WrappedDataKey {
  if (dataKey.byteLength !== DATA_KEY_BYTES)
    throw new RangeError(`dataKey must be ${DATA_KEY_BYTES} bytes, got ${dataKey.byteLength}`);
  const { enc, ciphertext } = sealBase(recipientPublicKey, WRAP_INFO_BYTES, aad, dataKey);
  return { enc: toHex(enc), wrappedKey: toHex(ciphertext) };
}

/**
 * Unwraps a data key wrapped by wrapDataKey. The envelope comes from the chain, so anything
 * wrong with it (not hex, wrong lengths, wrong recipient, another record's aad, flipped bytes)
 * throws HpkeError; a raw private key of the wrong length throws RangeError naming
 * `recipientPrivateKey`.
 */
export function unwrapDataKey(
  envelope: WrappedDataKey,
  recipientPrivateKey: KeyObject | Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (!isHex(envelope.enc, HPKE_ENC_BYTES))
    throw new HpkeError('invalid-enc', `enc must be ${HPKE_ENC_BYTES} bytes of lowercase hex`);
  if (!isHex(envelope.wrappedKey, WRAPPED_KEY_BYTES)) {
    throw new HpkeError(
      'open-failed',
      `wrappedKey must be ${WRAPPED_KEY_BYTES} bytes of lowercase hex`,
    );
  }
  return openBase(
    recipientPrivateKey,
    fromHex(envelope.enc),
    WRAP_INFO_BYTES,
    aad,
    fromHex(envelope.wrappedKey),
  );
}

/**
 * The on-chain commitment: lowercase hex SHA-256(salt ‖ canonical resource) (DESIGN.md). The salt
 * travels inside the ciphertext, so without it a guessed resource cannot be confirmed against the
 * hash. Throws RangeError naming `salt` unless it is 32 bytes.
 */
export function commitmentOf(salt: Uint8Array, canonicalResource: Uint8Array): string {
  if (salt.byteLength !== COMMITMENT_SALT_BYTES)
    throw new RangeError(`salt must be ${COMMITMENT_SALT_BYTES} bytes, got ${salt.byteLength}`);
  return sha256Hex(concatBytes(salt, canonicalResource));
}
