/**
 * X25519 (RFC 7748 §5) key agreement keys through node:crypto. Private keys stay as KeyObjects so
 * OpenSSL does the scalar multiplication; public keys travel as their 32 raw bytes.
 * Raw keys cross into OpenSSL as JWK (RFC 8037 §2), not DER: OpenSSL 3's DER decoders and
 * encoders cost 100–800 µs a key here, JWK import/export 2–25 µs, which decides HPKE throughput.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/** Raw X25519 keys and shared secrets are 32 bytes (RFC 7748 §5; RFC 9180 §7.1: Npk = Nsk = Ndh = 32). */
export const X25519_PUBLIC_KEY_BYTES = 32;
export const X25519_PRIVATE_KEY_BYTES = 32;
export const X25519_SHARED_SECRET_BYTES = 32;

/** A private key ready for key agreement, with its raw public key. */
export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/**
 * A fresh random key pair: 32 random bytes are a private key (RFC 7748 §5 clamps them on use).
 * Not `generateKeyPairSync`: exporting a key such a job made can deadlock Node 20 (see
 * key-generation.ts), and this export runs on every HPKE seal.
 */
export function generateX25519(): X25519KeyPair {
  const raw = randomBytes(X25519_PRIVATE_KEY_BYTES);
  try {
    return x25519FromPrivate(raw);
  } finally {
    raw.fill(0);
  }
}

/** The key pair whose raw private key is `raw`. Throws RangeError unless `raw` is 32 bytes. */
export function x25519FromPrivate(raw: Uint8Array): X25519KeyPair {
  if (raw.byteLength !== X25519_PRIVATE_KEY_BYTES) {
    throw new RangeError(
      `privateKey must be ${X25519_PRIVATE_KEY_BYTES} bytes, got ${raw.byteLength}`,
    );
  }
  // Node builds a private key from `d` alone and does not read `x`; the public half returned is
  // the one OpenSSL computes from `d`.
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(raw), x: '' },
    format: 'jwk',
  });
  return { privateKey, publicKey: rawFromJwk(privateKey.export({ format: 'jwk' }).x) };
}

/**
 * Imports a raw public key. Every 32-byte string is a valid X25519 input (RFC 7748 §5), so the
 * only check is the length: throws RangeError naming `publicKey` otherwise.
 */
export function x25519PublicFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_PUBLIC_KEY_BYTES) {
    throw new RangeError(
      `publicKey must be ${X25519_PUBLIC_KEY_BYTES} bytes, got ${raw.byteLength}`,
    );
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(raw) },
    format: 'jwk',
  });
}

/** The 32 raw bytes of an X25519 private key, for sealing into a keystore. Throws TypeError for another key type. */
export function exportX25519PrivateRaw(privateKey: KeyObject): Uint8Array {
  checkX25519(privateKey, 'privateKey', 'private');
  return rawFromJwk(privateKey.export({ format: 'jwk' }).d);
}

/** The 32 raw bytes of the public half of `key` (a public or a private X25519 key). Throws TypeError for another key type. */
export function exportX25519PublicRaw(key: KeyObject): Uint8Array {
  checkX25519(key, 'key');
  // A private key's JWK carries its public half as `x`.
  return rawFromJwk(key.export({ format: 'jwk' }).x);
}

/**
 * The X25519 function of `privateKey` and `publicKey` (RFC 7748 §6.1). It may return all zeros for
 * a low-order public key; callers that need contributory behaviour must check (RFC 9180 §7.1.4).
 */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  const shared = diffieHellman({ privateKey, publicKey });
  return new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength);
}

function rawFromJwk(member: JsonWebKey[string]): Uint8Array {
  if (typeof member !== 'string')
    throw new TypeError('OpenSSL exported an X25519 JWK without its key bytes');
  const raw = Buffer.from(member, 'base64url');
  if (raw.byteLength !== X25519_PUBLIC_KEY_BYTES)
    throw new TypeError(`OpenSSL exported an X25519 key of ${raw.byteLength} bytes`);
  // Copy out of Buffer's shared pool: private key bytes should not sit in memory other code reuses.
  return new Uint8Array(raw);
}

function toBase64Url(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
}

function checkX25519(key: KeyObject, name: string, type?: 'private' | 'public'): void {
  if (key.asymmetricKeyType !== 'x25519' || (type !== undefined && key.type !== type)) {
    throw new TypeError(`${name} must be an X25519 ${type ?? 'asymmetric'} key`);
  }
}
