/** Public API of src/crypto: hashing, signatures, canonical encoding. Depends on nothing else in ChartChain. */
export { toHex, fromHex, isHex, concatBytes, bytesEqual, utf8, fromUtf8 } from './bytes.js';
export { sha256, sha256Hex, SHA256_BYTES } from './sha256.js';
export { canonicalize, canonicalBytes, CANONICAL_DEPTH_MAX, type JsonValue } from './canonical-json.js';
export {
  generateSigningKey,
  signingKeyFromSeed,
  exportSeed,
  keyIdOf,
  publicKeyFromRaw,
  sign,
  verify,
  PublicKeyCache,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  type SigningKey,
} from './ed25519.js';
export { VerifyPool, type VerifyItem } from './verify-pool.js';
