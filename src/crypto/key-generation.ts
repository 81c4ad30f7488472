/**
 * Fresh asymmetric keys that are safe to export. Node 20 can deadlock exporting a key that came
 * out of `generateKeyPair`/`generateKeyPairSync` as a KeyObject: the export holds the key's lock
 * while it allocates, and a garbage collection that then finalises the generation job takes the
 * same lock in the job's destructor, on the same thread. A key generated already encoded is
 * exported inside the job, while the job is still alive; importing the encoding gives a key that
 * no job owns.
 */
import { generateKeyPairSync } from 'node:crypto';

/** The key types ChartChain generates with OpenSSL's own key generation. */
export type GeneratedKeyType = 'ed25519' | 'P-256' | 'P-384';

/** A fresh key pair as PKCS #8 and SPKI PEM (RFC 5958, RFC 5280). */
export interface PemKeyPair {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/** A fresh key pair of `type`, encoded by the generation job itself. */
export function generatePemKeyPair(type: GeneratedKeyType): PemKeyPair {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const { privateKey, publicKey } =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding })
      : generateKeyPairSync('ec', { namedCurve: type, publicKeyEncoding, privateKeyEncoding });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
