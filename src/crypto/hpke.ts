/**
 * HPKE (RFC 9180) base mode for exactly one suite: DHKEM(X25519, HKDF-SHA256) 0x0020,
 * HKDF-SHA256 0x0001, AES-256-GCM 0x0002. Built on node:crypto rather than @hpke/core because the
 * same construction runs several times faster there (bench/hpke-speed.ts); the RFC's vectors and
 * an interop test against @hpke/core hold it to the standard.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AeadError, aeadOpen, aeadSeal } from './aead.js';
import { concatBytes, toHex, utf8 } from './bytes.js';
import {
  X25519_PRIVATE_KEY_BYTES,
  X25519_PUBLIC_KEY_BYTES,
  X25519_SHARED_SECRET_BYTES,
  exportX25519PublicRaw,
  generateX25519,
  x25519,
  x25519FromPrivate,
  x25519PublicFromRaw,
  type X25519KeyPair,
} from './x25519.js';

/** RFC 9180 §5 mode_base, and the identifiers of the one suite implemented here (§7.1, §7.2, §7.3). */
export const HPKE_MODE_BASE = 0x00;
export const HPKE_KEM_ID = 0x0020;
export const HPKE_KDF_ID = 0x0001;
export const HPKE_AEAD_ID = 0x0002;
/** Nenc for DHKEM(X25519, HKDF-SHA256) (§7.1). */
export const HPKE_ENC_BYTES = X25519_PUBLIC_KEY_BYTES;
/** Nsecret, and Nh of HKDF-SHA256 (§7.1, §7.2). */
export const HPKE_SECRET_BYTES = 32;

/** Which suite_id the labeled functions bind: the KEM's ("KEM" ‖ kem_id, §4.1) or the whole suite's ("HPKE" ‖ ids, §5.1). */
export type HpkeLabelScope = 'kem' | 'hpke';

/** Why an HPKE operation failed: a malformed `enc`, a DH result of all zeros (§7.1.4), or an AEAD tag that did not verify. */
export type HpkeFailure = 'invalid-enc' | 'zero-shared-secret' | 'open-failed';

/** Encapsulation or decryption failed; `reason` says which step, and nothing about the plaintext. */
export class HpkeError extends Error {
  override readonly name = 'HpkeError';
  constructor(
    readonly reason: HpkeFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The result of the base-mode key schedule (§5.1). */
export interface HpkeKeySchedule {
  readonly keyScheduleContext: Uint8Array;
  readonly secret: Uint8Array;
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

/** A single-shot seal: the encapsulated key and the AEAD ciphertext ‖ tag (§6.1). */
export interface HpkeSealed {
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** Test hook: a fixed ephemeral seed makes sealBase deterministic, as in RFC 9180 Appendix A. Never set it in production. */
export interface SealBaseOptions {
  readonly ephemeralIkm?: Uint8Array;
}

const VERSION_LABEL = utf8('HPKE-v1');
const KEM_SUITE_ID = concatBytes(utf8('KEM'), i2osp(HPKE_KEM_ID, 2));
const HPKE_SUITE_ID = concatBytes(
  utf8('HPKE'),
  i2osp(HPKE_KEM_ID, 2),
  i2osp(HPKE_KDF_ID, 2),
  i2osp(HPKE_AEAD_ID, 2),
);
const EMPTY = new Uint8Array(0);
const HKDF_SHA256_BYTES = 32;
const HKDF_EXPAND_BYTES_MAX = 255 * HKDF_SHA256_BYTES;
const MODE_BASE_BYTE = Uint8Array.of(HPKE_MODE_BASE);
// Base mode has no PSK, so psk_id_hash is the same for every message (§5.1).
const PSK_ID_HASH = labeledExtract('hpke', EMPTY, 'psk_id_hash', EMPTY);
// Decap needs pkRm for every open; the WeakMap saves an export from OpenSSL per message.
const publicKeyOfPrivate = new WeakMap<KeyObject, Uint8Array>();
// A record version wraps its key to the same few readers again and again (patient, organisation,
// grantees), so imported recipient keys are kept, oldest evicted first past this many.
const RECIPIENT_KEY_CACHE_SIZE_MAX = 1024;
const recipientKeys = new Map<string, KeyObject>();

/**
 * LabeledExtract(salt, label, ikm) of RFC 9180 §4: HKDF-Extract (RFC 5869 §2.2) over
 * "HPKE-v1" ‖ suite_id ‖ label ‖ ikm, with suite_id chosen by `scope`.
 */
export function labeledExtract(
  scope: HpkeLabelScope,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Uint8Array {
  return hmac(salt, VERSION_LABEL, suiteIdOf(scope), utf8(label), ikm);
}

/**
 * LabeledExpand(prk, label, info, L) of RFC 9180 §4: HKDF-Expand (RFC 5869 §2.3) with info
 * I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info. Throws RangeError naming `length`
 * unless 0 < length ≤ 255·Nh.
 */
export function labeledExpand(
  scope: HpkeLabelScope,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (!Number.isInteger(length) || length <= 0 || length > HKDF_EXPAND_BYTES_MAX) {
    throw new RangeError(
      `length must be an integer in [1, ${HKDF_EXPAND_BYTES_MAX}], got ${length}`,
    );
  }
  const labeledInfo = concatBytes(
    i2osp(length, 2),
    VERSION_LABEL,
    suiteIdOf(scope),
    utf8(label),
    info,
  );
  const out = new Uint8Array(length);
  let block: Uint8Array = EMPTY;
  for (let counter = 1, offset = 0; offset < length; counter++, offset += HKDF_SHA256_BYTES) {
    block = hmac(prk, block, labeledInfo, Uint8Array.of(counter));
    out.set(block.subarray(0, Math.min(HKDF_SHA256_BYTES, length - offset)), offset);
  }
  return out;
}

/**
 * DeriveKeyPair(ikm) for X25519 (RFC 9180 §7.1.3): sk = LabeledExpand(LabeledExtract("",
 * "dkp_prk", ikm), "sk", "", 32). Requires ikm to carry at least 32 bytes of entropy (§7.1.2);
 * throws RangeError naming `ikm` when it is shorter than 32 bytes.
 */
export function deriveKeyPair(ikm: Uint8Array): X25519KeyPair {
  if (ikm.byteLength < X25519_PRIVATE_KEY_BYTES)
    throw new RangeError(
      `ikm must be at least ${X25519_PRIVATE_KEY_BYTES} bytes, got ${ikm.byteLength}`,
    );
  const dkpPrk = labeledExtract('kem', EMPTY, 'dkp_prk', ikm);
  return x25519FromPrivate(labeledExpand('kem', dkpPrk, 'sk', EMPTY, X25519_PRIVATE_KEY_BYTES));
}

/**
 * Encap(pkR) of DHKEM (RFC 9180 §4.1): a fresh ephemeral key (or DeriveKeyPair(ephemeralIkm)),
 * dh = DH(skE, pkR), shared_secret = ExtractAndExpand(dh, enc ‖ pkRm). Throws RangeError naming
 * `recipientPublicKey` unless it is 32 bytes, and HpkeError('zero-shared-secret') for a
 * low-order recipient key (§7.1.4).
 */
export function encap(
  recipientPublicKey: Uint8Array,
  ephemeralIkm?: Uint8Array,
): { sharedSecret: Uint8Array; enc: Uint8Array } {
  if (recipientPublicKey.byteLength !== X25519_PUBLIC_KEY_BYTES) {
    throw new RangeError(
      `recipientPublicKey must be ${X25519_PUBLIC_KEY_BYTES} bytes, got ${recipientPublicKey.byteLength}`,
    );
  }
  const ephemeral = ephemeralIkm === undefined ? generateX25519() : deriveKeyPair(ephemeralIkm);
  const dh = checkedDh(ephemeral.privateKey, recipientKeyOf(recipientPublicKey));
  const enc = ephemeral.publicKey;
  return { sharedSecret: extractAndExpand(dh, enc, recipientPublicKey), enc };
}

/**
 * Decap(enc, skR) of DHKEM (RFC 9180 §4.1). Throws HpkeError('invalid-enc') unless `enc` is
 * 32 bytes, and HpkeError('zero-shared-secret') when DH(skR, pkE) is all zeros (§7.1.4).
 */
export function decap(enc: Uint8Array, recipientPrivateKey: KeyObject): Uint8Array {
  if (enc.byteLength !== HPKE_ENC_BYTES)
    throw new HpkeError(
      'invalid-enc',
      `enc must be ${HPKE_ENC_BYTES} bytes, got ${enc.byteLength}`,
    );
  const dh = checkedDh(recipientPrivateKey, x25519PublicFromRaw(enc));
  return extractAndExpand(dh, enc, publicKeyOf(recipientPrivateKey));
}

/**
 * KeySchedule for mode_base (RFC 9180 §5.1) with psk = psk_id = "": key_schedule_context =
 * mode ‖ psk_id_hash ‖ info_hash, secret = LabeledExtract(shared_secret, "secret", ""), and
 * key, base_nonce and exporter_secret expanded from it.
 */
export function keyScheduleBase(sharedSecret: Uint8Array, info: Uint8Array): HpkeKeySchedule {
  const infoHash = labeledExtract('hpke', EMPTY, 'info_hash', info);
  const keyScheduleContext = concatBytes(MODE_BASE_BYTE, PSK_ID_HASH, infoHash);
  const secret = labeledExtract('hpke', sharedSecret, 'secret', EMPTY);
  return {
    keyScheduleContext,
    secret,
    key: labeledExpand('hpke', secret, 'key', keyScheduleContext, AEAD_KEY_BYTES),
    baseNonce: labeledExpand('hpke', secret, 'base_nonce', keyScheduleContext, AEAD_NONCE_BYTES),
    exporterSecret: labeledExpand('hpke', secret, 'exp', keyScheduleContext, HPKE_SECRET_BYTES),
  };
}

/**
 * Single-shot Seal in mode_base (RFC 9180 §6.1): SetupBaseS(pkR, info) (§5.1.1), then
 * ContextS.Seal(aad, plaintext) at sequence number 0, whose nonce is base_nonce (§5.2).
 * Throws RangeError naming `recipientPublicKey` (or `ikm`) for wrong lengths, and
 * HpkeError('zero-shared-secret') for a low-order recipient key.
 */
export function sealBase(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  options: SealBaseOptions = {},
): HpkeSealed {
  const { sharedSecret, enc } = encap(recipientPublicKey, options.ephemeralIkm);
  const { key, baseNonce } = keyScheduleBase(sharedSecret, info);
  return { enc, ciphertext: aeadSeal(key, baseNonce, aad, plaintext) };
}

/**
 * Single-shot Open in mode_base (RFC 9180 §6.1): SetupBaseR(enc, skR, info) (§5.1.1), then
 * ContextR.Open(aad, ciphertext) at sequence number 0. Throws HpkeError when `enc`, `info`,
 * `aad`, `ciphertext` or the key differ from the seal's, and RangeError naming
 * `recipientPrivateKey` when a raw private key is not 32 bytes.
 */
export function openBase(
  recipientPrivateKey: KeyObject | Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const privateKey =
    recipientPrivateKey instanceof Uint8Array
      ? privateKeyFromRaw(recipientPrivateKey)
      : recipientPrivateKey;
  const { key, baseNonce } = keyScheduleBase(decap(enc, privateKey), info);
  try {
    return aeadOpen(key, baseNonce, aad, ciphertext);
  } catch (error) {
    if (error instanceof AeadError)
      throw new HpkeError(
        'open-failed',
        'HPKE open failed: wrong key, enc, info, aad or ciphertext',
        { cause: error },
      );
    throw error;
  }
}

function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_PRIVATE_KEY_BYTES) {
    throw new RangeError(
      `recipientPrivateKey must be ${X25519_PRIVATE_KEY_BYTES} bytes, got ${raw.byteLength}`,
    );
  }
  return x25519FromPrivate(raw).privateKey;
}

function extractAndExpand(
  dh: Uint8Array,
  enc: Uint8Array,
  recipientPublicKey: Uint8Array,
): Uint8Array {
  const eaePrk = labeledExtract('kem', EMPTY, 'eae_prk', dh);
  return labeledExpand(
    'kem',
    eaePrk,
    'shared_secret',
    concatBytes(enc, recipientPublicKey),
    HPKE_SECRET_BYTES,
  );
}

// OpenSSL refuses an all-zero X25519 result itself; the explicit check keeps §7.1.4 true on any build.
function checkedDh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  let dh: Uint8Array;
  try {
    dh = x25519(privateKey, publicKey);
  } catch (error) {
    throw new HpkeError(
      'zero-shared-secret',
      'X25519 produced no shared secret (low-order public key)',
      { cause: error },
    );
  }
  let bits = 0;
  for (const byte of dh) bits |= byte;
  if (bits === 0 || dh.byteLength !== X25519_SHARED_SECRET_BYTES) {
    throw new HpkeError(
      'zero-shared-secret',
      'X25519 shared secret is all zeros (low-order public key)',
    );
  }
  return dh;
}

function recipientKeyOf(raw: Uint8Array): KeyObject {
  const id = toHex(raw);
  let key = recipientKeys.get(id);
  if (key === undefined) {
    key = x25519PublicFromRaw(raw);
    if (recipientKeys.size >= RECIPIENT_KEY_CACHE_SIZE_MAX)
      recipientKeys.delete(recipientKeys.keys().next().value as string);
    recipientKeys.set(id, key);
  }
  return key;
}

function publicKeyOf(privateKey: KeyObject): Uint8Array {
  let publicKey = publicKeyOfPrivate.get(privateKey);
  if (publicKey === undefined) {
    publicKey = exportX25519PublicRaw(privateKey);
    publicKeyOfPrivate.set(privateKey, publicKey);
  }
  return publicKey;
}

function hmac(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  const digest = mac.digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

function suiteIdOf(scope: HpkeLabelScope): Uint8Array {
  return scope === 'kem' ? KEM_SUITE_ID : HPKE_SUITE_ID;
}

/** I2OSP(n, w) of RFC 8017 §4.1, for the small non-negative integers HPKE encodes. */
function i2osp(value: number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  for (let i = width - 1, rest = value; i >= 0; i--, rest = Math.floor(rest / 256))
    out[i] = rest % 256;
  return out;
}
