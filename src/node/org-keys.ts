/**
 * The organisation's own keys: Ed25519 for signing blocks and transactions, X25519 for
 * receiving wrapped data keys. Stored in `keys/org.json`, readable by the node's user only.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportSeed, fromHex, generateSigningKey, signingKeyFromSeed, toHex, type SigningKey } from '../crypto/index.js';

/** The organisation's key pair set. */
export interface OrgKeys {
  readonly signing: SigningKey;
  /** Raw X25519 public key, hex. */
  readonly encryptionPublicKey: string;
  /** Raw X25519 private key, hex. Never logged or exported. */
  readonly encryptionPrivateKey: string;
}

const KEY_FILE = join('keys', 'org.json');
const X25519_PKCS8_PREFIX = '302e020100300506032b656e04220420';

/** Fresh organisation keys. */
export function generateOrgKeys(): OrgKeys {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const rawPrivate = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const rawPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { signing: generateSigningKey(), encryptionPublicKey: toHex(rawPublic), encryptionPrivateKey: toHex(rawPrivate) };
}

/** Writes `keys` under `dataDir` with owner-only permissions. */
export function saveOrgKeys(dataDir: string, keys: OrgKeys): void {
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  const file = { signingSeed: toHex(exportSeed(keys.signing)), encryptionPrivateKey: keys.encryptionPrivateKey };
  writeFileSync(join(dataDir, KEY_FILE), JSON.stringify(file) + '\n', { mode: 0o600 });
}

/** Loads the organisation keys from `dataDir`. Throws when the file is missing or malformed. */
export function loadOrgKeys(dataDir: string): OrgKeys {
  const file = JSON.parse(readFileSync(join(dataDir, KEY_FILE), 'utf8')) as { signingSeed: string; encryptionPrivateKey: string };
  const signing = signingKeyFromSeed(fromHex(file.signingSeed, 'signingSeed', 32));
  const privateKey = createPrivateKey({ key: Buffer.from(X25519_PKCS8_PREFIX + file.encryptionPrivateKey, 'hex'), format: 'der', type: 'pkcs8' });
  const rawPublic = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { signing, encryptionPublicKey: toHex(rawPublic), encryptionPrivateKey: file.encryptionPrivateKey };
}
