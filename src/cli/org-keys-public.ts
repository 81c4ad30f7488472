/** The public half of a node's organisation keys, for `chartchain keys`. */
import { toHex } from '../crypto/index.js';
import { loadOrgKeys, readNodeConfig } from '../node/index.js';

/** Key id and public keys; never the private ones. */
export function loadOrgKeysPublic(dataDir: string) {
  const config = readNodeConfig(dataDir);
  if (config === undefined) throw new Error(`${dataDir} holds no node: run chartchain init first`);
  const keys = loadOrgKeys(dataDir);
  return {
    orgId: config.orgId,
    keyId: keys.signing.keyId,
    signingKey: toHex(keys.signing.publicKey),
    encryptionKey: keys.encryptionPublicKey,
  };
}
