/**
 * The token-signing key, sealed in the node's keystore so that access tokens, and with them
 * every session, outlive a restart. Created on first use; kept as PKCS #8 (RFC 5958) PEM, the
 * form jose imports.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { importJWK, importPKCS8, type CryptoKey, type GenerateKeyPairResult } from 'jose';
import { generatePemKeyPair } from '../../crypto/index.js';
import type { Keystore } from '../../storage/index.js';
import { ACCESS_TOKEN_ALG } from './tokens.js';

/** The keystore entry holding the token-signing key. */
export const TOKEN_KEY_ENTRY = 'auth:token-signing';
const TOKEN_KEY_KIND = 'ed25519-pkcs8-pem';

/**
 * The token-signing key pair sealed in `keystore`, generated and sealed first if there is none.
 * Throws KeystoreError when the keystore cannot be written, TypeError when the entry holds no
 * Ed25519 key.
 */
export async function sealedTokenKeyPair(keystore: Keystore): Promise<GenerateKeyPairResult> {
  if (!keystore.has(TOKEN_KEY_ENTRY)) {
    keystore.put(
      TOKEN_KEY_ENTRY,
      Buffer.from(generatePemKeyPair('ed25519').privateKeyPem, 'utf8'),
      TOKEN_KEY_KIND,
    );
  }
  const sealed = keystore.get(TOKEN_KEY_ENTRY);
  try {
    return await keyPairOf(Buffer.from(sealed).toString('utf8'));
  } finally {
    sealed.fill(0);
  }
}

async function keyPairOf(pem: string): Promise<GenerateKeyPairResult> {
  const privateKey = await importPKCS8(pem, ACCESS_TOKEN_ALG);
  const publicJwk = createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' });
  const publicKey = (await importJWK(
    { ...publicJwk, alg: ACCESS_TOKEN_ALG },
    ACCESS_TOKEN_ALG,
  )) as CryptoKey;
  return { privateKey, publicKey };
}
