/**
 * AES-256-GCM (NIST SP 800-38D) through node:crypto, the AEAD of every ChartChain envelope:
 * record content under a data key, and the data key itself inside HPKE (RFC 9180 §7.3, 0x0002).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** AES-256-GCM takes a 32-byte key and a 12-byte nonce, and appends a 16-byte tag (RFC 9180 §7.3: Nk, Nn, Nt). */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

/** The ciphertext, its tag, the key, the nonce or the AAD is not the one it was sealed with. */
export class AeadError extends Error {
  override readonly name = 'AeadError';
  constructor(message = 'AES-256-GCM authentication failed', options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Encrypts `plaintext` and authenticates it together with `aad`; returns ciphertext ‖ tag(16).
 * Requires a nonce never used before with this key: GCM leaks the authentication key on reuse.
 * Throws RangeError naming `key` or `nonce` when either has the wrong length.
 */
export function aeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  checkKeyAndNonce(key, nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  const tag = cipher.getAuthTag();
  const sealed = new Uint8Array(body.byteLength + last.byteLength + AEAD_TAG_BYTES);
  sealed.set(body, 0);
  sealed.set(last, body.byteLength);
  sealed.set(tag, body.byteLength + last.byteLength);
  return sealed;
}

/**
 * Authenticates `sealed` (ciphertext ‖ tag) with `aad` and returns the plaintext. No plaintext is
 * returned unless the tag verifies. Throws AeadError on any authentication failure, including
 * `sealed` shorter than a tag, and RangeError naming `key` or `nonce` for wrong lengths.
 */
export function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array {
  checkKeyAndNonce(key, nonce);
  if (sealed.byteLength < AEAD_TAG_BYTES)
    throw new AeadError(`sealed is shorter than the ${AEAD_TAG_BYTES}-byte tag`);
  const split = sealed.byteLength - AEAD_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const last = decipher.final();
    return last.byteLength === 0
      ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
      : new Uint8Array(Buffer.concat([body, last]));
  } catch (error) {
    // The unauthenticated plaintext must not outlive a failed tag check.
    body.fill(0);
    throw new AeadError(undefined, { cause: error });
  }
}

function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.byteLength !== AEAD_KEY_BYTES)
    throw new RangeError(`key must be ${AEAD_KEY_BYTES} bytes, got ${key.byteLength}`);
  if (nonce.byteLength !== AEAD_NONCE_BYTES)
    throw new RangeError(`nonce must be ${AEAD_NONCE_BYTES} bytes, got ${nonce.byteLength}`);
}
