/**
 * npx tsx bench/hpke-speed.ts [-- --seconds S]
 *
 * Wrapping a 32-byte data key with HPKE base mode (DHKEM-X25519, HKDF-SHA256, AES-256-GCM), one
 * operation at a time on one core, for about S seconds (default 2) each:
 *   ours     src/crypto/hpke.ts on node:crypto (sealBase / openBase)
 *   hpkeCore @hpke/core on WebCrypto (CipherSuite.seal / open, awaited one by one)
 * Prints seals/s and opens/s for both; the last line is JSON. Never part of `npm test`.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import {
  exportX25519PrivateRaw,
  generateX25519,
  openBase,
  recordAad,
  sealBase,
  utf8,
} from '../src/crypto/index.js';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const seconds = Number(flag('seconds', '2'));
const info = utf8('chartchain/dek/v1');
const aad = recordAad({ recordId: 'rec-0001', version: 1, resourceType: 'Observation' });
const dataKey = new Uint8Array(32).fill(7);

/** Operations per second of `operation`, run back to back for `seconds` after a short warm-up. */
async function rate(operation: () => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await operation();
  let count = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) await operation();
    count += 50;
    now = performance.now();
  }
  return count / ((now - started) / 1000);
}

const recipient = generateX25519();
const ourSealed = sealBase(recipient.publicKey, info, aad, dataKey);
const ours = {
  sealPerSec: await rate(() => sealBase(recipient.publicKey, info, aad, dataKey)),
  openPerSec: await rate(() =>
    openBase(recipient.privateKey, ourSealed.enc, info, aad, ourSealed.ciphertext),
  ),
};

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});
const theirPublicKey = await suite.kem.deserializePublicKey(recipient.publicKey);
const theirPrivateKey = await suite.kem.deserializePrivateKey(
  exportX25519PrivateRaw(recipient.privateKey),
);
const theirSealed = await suite.seal({ recipientPublicKey: theirPublicKey, info }, dataKey, aad);
const hpkeCore = {
  sealPerSec: await rate(() =>
    suite.seal({ recipientPublicKey: theirPublicKey, info }, dataKey, aad),
  ),
  openPerSec: await rate(() =>
    suite.open({ recipientKey: theirPrivateKey, enc: theirSealed.enc, info }, theirSealed.ct, aad),
  ),
};

const round = (value: number): number => Math.round(value);
console.log(
  `ours (node:crypto)   seal ${round(ours.sealPerSec)}/s   open ${round(ours.openPerSec)}/s`,
);
console.log(
  `@hpke/core           seal ${round(hpkeCore.sealPerSec)}/s   open ${round(hpkeCore.openPerSec)}/s`,
);
console.log(
  `speed-up             seal ×${(ours.sealPerSec / hpkeCore.sealPerSec).toFixed(1)}   open ×${(ours.openPerSec / hpkeCore.openPerSec).toFixed(1)}`,
);
console.log(
  JSON.stringify({
    node: process.version,
    seconds,
    ours: { sealPerSec: round(ours.sealPerSec), openPerSec: round(ours.openPerSec) },
    hpkeCore: { sealPerSec: round(hpkeCore.sealPerSec), openPerSec: round(hpkeCore.openPerSec) },
  }),
);
