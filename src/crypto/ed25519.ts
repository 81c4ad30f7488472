/**
 * Ed25519 (RFC 8032 §5.1) through node:crypto. Keys stay as KeyObjects: importing DER on
 * every call halves throughput, and OpenSSL is an order of magnitude faster than pure JS.
 */
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { concatBytes, toHex } from './bytes.js';
import { sha256Hex } from './sha256.js';

/** Raw Ed25519 public keys, seeds and signatures have these lengths (RFC 8032 §5.1.5, §5.1.6). */
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// DER prefixes that wrap a raw key in SPKI / PKCS#8 (RFC 8410 §4, §7).
const SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** A private key ready to sign, with its raw public key and key id. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
}

/**
 * A fresh random signing key: an RFC 8032 secret is 32 random bytes. Not `generateKeyPairSync`:
 * exporting a key such a job made can deadlock Node 20 (see key-generation.ts).
 */
export function generateSigningKey(): SigningKey {
  const seed = randomBytes(ED25519_SEED_BYTES);
  try {
    return signingKeyFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** The signing key whose RFC 8032 secret is `seed`. Throws RangeError unless `seed` is 32 bytes. */
export function signingKeyFromSeed(seed: Uint8Array): SigningKey {
  if (seed.byteLength !== ED25519_SEED_BYTES)
    throw new RangeError(`seed must be ${ED25519_SEED_BYTES} bytes`);
  const privateKey = createPrivateKey({
    key: Buffer.from(concatBytes(PKCS8_PREFIX, seed)),
    format: 'der',
    type: 'pkcs8',
  });
  return signingKeyFromPrivate(privateKey);
}

/** The 32-byte RFC 8032 secret of `key`, for sealing into a keystore. */
export function exportSeed(key: SigningKey): Uint8Array {
  const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(der.byteLength - ED25519_SEED_BYTES));
}

function signingKeyFromPrivate(privateKey: KeyObject): SigningKey {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.byteLength - ED25519_PUBLIC_KEY_BYTES));
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** A key id names a public key: the lowercase hex SHA-256 of its 32 raw bytes. */
export function keyIdOf(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

/** Imports a raw public key. Throws RangeError unless it is 32 bytes, TypeError if it is not a curve point. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ED25519_PUBLIC_KEY_BYTES)
    throw new RangeError(`publicKey must be ${ED25519_PUBLIC_KEY_BYTES} bytes`);
  try {
    return createPublicKey({
      key: Buffer.from(concatBytes(SPKI_PREFIX, raw)),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new TypeError('publicKey is not an Ed25519 point');
  }
}

/** Ed25519 signature of `message` (RFC 8032 §5.1.6). */
export function sign(key: SigningKey, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, key.privateKey));
}

/** True when `signature` is a valid RFC 8032 §5.1.7 signature of `message` under `publicKey`. */
export function verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== ED25519_SIGNATURE_BYTES) return false;
  return nodeVerify(null, message, publicKey, signature);
}

/**
 * Imported public keys by raw hex, bounded so a stream of new signers cannot grow it without
 * limit. Eviction is oldest-first: the working set of a node's signers is small.
 */
export class PublicKeyCache {
  readonly #keys = new Map<string, KeyObject>();
  constructor(readonly sizeMax = 4096) {}

  /** The KeyObject for `raw`, importing it on a miss. Throws as publicKeyFromRaw does. */
  get(raw: Uint8Array): KeyObject {
    const id = toHex(raw);
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = publicKeyFromRaw(raw);
      if (this.#keys.size >= this.sizeMax)
        this.#keys.delete(this.#keys.keys().next().value as string);
      this.#keys.set(id, key);
    }
    return key;
  }
}
