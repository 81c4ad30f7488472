/**
 * The node's keys, sealed in its keystore (`keys/keystore.json`): the organisation's Ed25519
 * signing key and X25519 encryption keys (every generation, so envelopes wrapped before a
 * rotation stay readable), and custodial keys of practitioners and patients. The keystore's
 * KEK comes from scrypt over CHARTCHAIN_KEYSTORE_SECRET or, for the embedded default, a random
 * node secret in `keys/node-secret` (owner-only).
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportSeed,
  exportX25519PrivateRaw,
  generateSigningKey,
  generateX25519,
  signingKeyFromSeed,
  toHex,
  x25519FromPrivate,
  type SigningKey,
} from '../crypto/index.js';
import { Keystore } from '../storage/index.js';

const KEYSTORE_FILE = join('keys', 'keystore.json');
const SECRET_FILE = join('keys', 'node-secret');
const SIGNING_ENTRY = 'org:signing';
const ENCRYPTION_PREFIX = 'org:encryption:';

/** The organisation's keys, and the keystore holding them and any custodial keys. */
export interface OrgKeys {
  readonly signing: SigningKey;
  /** The newest X25519 public key, hex. Envelopes are wrapped to the key the chain names. */
  encryptionPublicKey: string;
  /** Every generation's X25519 private key by public key hex; rotateEncryptionKey adds to it. */
  readonly encryptionKeys: Map<string, KeyObject>;
  readonly keystore: Keystore;
}

function keystoreSecret(dataDir: string): string {
  const fromEnvironment = process.env['CHARTCHAIN_KEYSTORE_SECRET'];
  if (fromEnvironment !== undefined && fromEnvironment.length > 0) return fromEnvironment;
  const path = join(dataDir, SECRET_FILE);
  if (!existsSync(path)) writeFileSync(path, toHex(randomBytes(32)) + '\n', { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/** Creates the keystore under `dataDir` with fresh organisation keys. Throws if one exists. */
export function createOrgKeys(dataDir: string): OrgKeys {
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  const keystore = Keystore.create(join(dataDir, KEYSTORE_FILE), keystoreSecret(dataDir));
  keystore.put(SIGNING_ENTRY, exportSeed(generateSigningKey()), 'ed25519-seed');
  keystore.put(
    `${ENCRYPTION_PREFIX}1`,
    exportX25519PrivateRaw(generateX25519().privateKey),
    'x25519-private',
  );
  return orgKeysFrom(keystore);
}

/** Opens the keystore under `dataDir`. Throws KeystoreError on a wrong secret or a damaged file. */
export function loadOrgKeys(dataDir: string): OrgKeys {
  return orgKeysFrom(Keystore.open(join(dataDir, KEYSTORE_FILE), keystoreSecret(dataDir)));
}

/**
 * Adds a new encryption key generation to the keystore and to `keys`, keeping every older one
 * so envelopes wrapped before stay readable; returns its public key hex, to be announced
 * on-chain with membership.rotate-encryption-key.
 */
export function rotateEncryptionKey(keys: OrgKeys): string {
  const next = generations(keys.keystore).length + 1;
  const pair = generateX25519();
  keys.keystore.put(
    `${ENCRYPTION_PREFIX}${next}`,
    exportX25519PrivateRaw(pair.privateKey),
    'x25519-private',
  );
  keys.encryptionPublicKey = toHex(pair.publicKey);
  keys.encryptionKeys.set(keys.encryptionPublicKey, pair.privateKey);
  return keys.encryptionPublicKey;
}

function generations(keystore: Keystore): string[] {
  const names = keystore.names().filter((name) => name.startsWith(ENCRYPTION_PREFIX));
  return names.sort(
    (a, b) => Number(a.slice(ENCRYPTION_PREFIX.length)) - Number(b.slice(ENCRYPTION_PREFIX.length)),
  );
}

function orgKeysFrom(keystore: Keystore): OrgKeys {
  const signing = signingKeyFromSeed(keystore.get(SIGNING_ENTRY));
  const encryptionKeys = new Map<string, KeyObject>();
  let encryptionPublicKey = '';
  for (const name of generations(keystore)) {
    const pair = x25519FromPrivate(keystore.get(name));
    encryptionPublicKey = toHex(pair.publicKey);
    encryptionKeys.set(encryptionPublicKey, pair.privateKey);
  }
  return { signing, encryptionPublicKey, encryptionKeys, keystore };
}
