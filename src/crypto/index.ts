/** Public API of src/crypto: hashing, signatures, canonical encoding, envelope encryption. Depends on nothing else in ChartChain. */
export { toHex, fromHex, isHex, concatBytes, bytesEqual, utf8, fromUtf8 } from './bytes.js';
export { sha256, sha256Hex, SHA256_BYTES } from './sha256.js';
export {
  canonicalize,
  canonicalBytes,
  CANONICAL_DEPTH_MAX,
  type JsonValue,
} from './canonical-json.js';
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
export { generatePemKeyPair, type GeneratedKeyType, type PemKeyPair } from './key-generation.js';
export { VerifyPool, type VerifyItem } from './verify-pool.js';
export { HpkePool, type UnwrapItem } from './hpke-pool.js';
export {
  aeadSeal,
  aeadOpen,
  AeadError,
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
} from './aead.js';
export {
  generateX25519,
  x25519FromPrivate,
  x25519PublicFromRaw,
  exportX25519PrivateRaw,
  exportX25519PublicRaw,
  x25519,
  X25519_PUBLIC_KEY_BYTES,
  X25519_PRIVATE_KEY_BYTES,
  X25519_SHARED_SECRET_BYTES,
  type X25519KeyPair,
} from './x25519.js';
export {
  sealBase,
  openBase,
  deriveKeyPair,
  encap,
  decap,
  keyScheduleBase,
  labeledExtract,
  labeledExpand,
  HpkeError,
  HPKE_MODE_BASE,
  HPKE_KEM_ID,
  HPKE_KDF_ID,
  HPKE_AEAD_ID,
  HPKE_ENC_BYTES,
  HPKE_SECRET_BYTES,
  type HpkeFailure,
  type HpkeKeySchedule,
  type HpkeLabelScope,
  type HpkeSealed,
  type SealBaseOptions,
} from './hpke.js';
export {
  recordAad,
  sealRecordContent,
  openRecordContent,
  wrapDataKey,
  unwrapDataKey,
  commitmentOf,
  DATA_KEY_BYTES,
  COMMITMENT_SALT_BYTES,
  DATA_KEY_WRAP_INFO,
  type RecordAadFields,
  type SealedRecordContent,
  type WrappedDataKey,
} from './record-envelope.js';
export {
  selfSignedCertificate,
  SELF_SIGNED_DEFAULT_HOSTS,
  SELF_SIGNED_VALIDITY_DAYS,
  type SelfSignedCertificate,
} from './self-signed-certificate.js';
