/**
 * Fresh key pairs for jose, generated through the crypto layer's PEM key generation rather than
 * jose's own `generateKeyPair`: exporting a key that a Node 20 generation job made (as
 * `exportJWK` does) can deadlock the process.
 */
import { importPKCS8, importSPKI, type GenerateKeyPairResult } from 'jose';
import { generatePemKeyPair, type GeneratedKeyType } from '../../crypto/index.js';

/** The JWS algorithms (RFC 7518, RFC 8037) this node makes keys for, and their key types. */
const KEY_TYPE_OF = { EdDSA: 'ed25519', ES256: 'P-256', ES384: 'P-384' } as const satisfies Record<
  string,
  GeneratedKeyType
>;

/** A fresh, extractable key pair for `alg`. */
export async function generateJoseKeyPair(
  alg: keyof typeof KEY_TYPE_OF,
): Promise<GenerateKeyPairResult> {
  const { privateKeyPem, publicKeyPem } = generatePemKeyPair(KEY_TYPE_OF[alg]);
  return {
    privateKey: await importPKCS8(privateKeyPem, alg, { extractable: true }),
    publicKey: await importSPKI(publicKeyPem, alg, { extractable: true }),
  };
}
