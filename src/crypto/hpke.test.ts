import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { aeadOpen } from './aead.js';
import { fromHex, toHex, utf8 } from './bytes.js';
import {
  HpkeError,
  decap,
  deriveKeyPair,
  encap,
  keyScheduleBase,
  labeledExpand,
  openBase,
  sealBase,
} from './hpke.js';
import { exportX25519PrivateRaw, generateX25519 } from './x25519.js';

interface Rfc9180Vector {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmE: string;
  ikmR: string;
  skRm: string;
  skEm: string;
  pkRm: string;
  pkEm: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

const vector = JSON.parse(
  readFileSync(
    new URL('../../test/fixtures/rfc9180-base-x25519-sha256-aes256gcm.json', import.meta.url),
    'utf8',
  ),
) as Rfc9180Vector;
const first = vector.encryptions[0]!;
const info = fromHex(vector.info);

/** Nonce for sequence number `sequence` (RFC 9180 §5.2): base_nonce XOR I2OSP(sequence, Nn). */
function nonceAt(baseNonce: Uint8Array, sequence: number): Uint8Array {
  const nonce = Uint8Array.from(baseNonce);
  for (let i = nonce.byteLength - 1, rest = sequence; rest > 0; i--, rest = Math.floor(rest / 256))
    nonce[i]! ^= rest % 256;
  return nonce;
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index]! ^= 0x01;
  return copy;
}

test('the fixture is the mode 0 / kem 0x0020 / kdf 0x0001 / aead 0x0002 entry', () => {
  assert.deepEqual([vector.mode, vector.kem_id, vector.kdf_id, vector.aead_id], [0, 0x20, 1, 2]);
});

test('RFC 9180 §7.1.3 DeriveKeyPair: ikmR gives skRm/pkRm, ikmE gives skEm/pkEm', () => {
  const recipient = deriveKeyPair(fromHex(vector.ikmR));
  assert.equal(toHex(exportX25519PrivateRaw(recipient.privateKey)), vector.skRm);
  assert.equal(toHex(recipient.publicKey), vector.pkRm);
  const ephemeral = deriveKeyPair(fromHex(vector.ikmE));
  assert.equal(toHex(exportX25519PrivateRaw(ephemeral.privateKey)), vector.skEm);
  assert.equal(toHex(ephemeral.publicKey), vector.pkEm);
});

test('RFC 9180 §4.1 Encap/Decap and §5.1 KeySchedule known answers', () => {
  const { sharedSecret, enc } = encap(fromHex(vector.pkRm), fromHex(vector.ikmE));
  assert.equal(toHex(enc), vector.enc);
  assert.equal(toHex(sharedSecret), vector.shared_secret);
  assert.equal(
    toHex(decap(enc, deriveKeyPair(fromHex(vector.ikmR)).privateKey)),
    vector.shared_secret,
  );
  const schedule = keyScheduleBase(sharedSecret, info);
  assert.equal(toHex(schedule.keyScheduleContext), vector.key_schedule_context);
  assert.equal(toHex(schedule.secret), vector.secret);
  assert.equal(toHex(schedule.key), vector.key);
  assert.equal(toHex(schedule.baseNonce), vector.base_nonce);
  assert.equal(toHex(schedule.exporterSecret), vector.exporter_secret);
  // Export (§5.3) is LabeledExpand(exporter_secret, "sec", exporter_context, L).
  for (const exported of vector.exports) {
    assert.equal(
      toHex(
        labeledExpand(
          'hpke',
          schedule.exporterSecret,
          'sec',
          fromHex(exported.exporter_context),
          exported.L,
        ),
      ),
      exported.exported_value,
    );
  }
  // Later sequence numbers are beyond single-shot seal, but pin the key and base_nonce further.
  vector.encryptions.forEach((encryption, sequence) => {
    const opened = aeadOpen(
      schedule.key,
      nonceAt(schedule.baseNonce, sequence),
      fromHex(encryption.aad),
      fromHex(encryption.ct),
    );
    assert.equal(toHex(opened), encryption.pt, `encryptions[${sequence}]`);
  });
});

test('sealBase with the fixed ikmE reproduces enc and encryptions[0]; openBase opens it', () => {
  const sealed = sealBase(fromHex(vector.pkRm), info, fromHex(first.aad), fromHex(first.pt), {
    ephemeralIkm: fromHex(vector.ikmE),
  });
  assert.equal(toHex(sealed.enc), vector.enc);
  assert.equal(toHex(sealed.ciphertext), first.ct);
  const fromRaw = openBase(
    fromHex(vector.skRm),
    fromHex(vector.enc),
    info,
    fromHex(first.aad),
    fromHex(first.ct),
  );
  assert.equal(toHex(fromRaw), first.pt);
  const fromKeyObject = openBase(
    deriveKeyPair(fromHex(vector.ikmR)).privateKey,
    fromHex(vector.enc),
    info,
    fromHex(first.aad),
    fromHex(first.ct),
  );
  assert.equal(toHex(fromKeyObject), first.pt);
});

test('wantErr: a flipped byte in enc, ciphertext, aad or info, or the wrong key, throws HpkeError', () => {
  const skRm = fromHex(vector.skRm);
  const enc = fromHex(vector.enc);
  const aad = fromHex(first.aad);
  const ciphertext = fromHex(first.ct);
  assert.equal(toHex(openBase(skRm, enc, info, aad, ciphertext)), first.pt);
  const cases: [string, () => Uint8Array][] = [
    ...[0, 15, 31].map((i): [string, () => Uint8Array] => [
      `enc[${i}]`,
      () => openBase(skRm, flipped(enc, i), info, aad, ciphertext),
    ]),
    ...[0, 20, ciphertext.byteLength - 1].map((i): [string, () => Uint8Array] => [
      `ciphertext[${i}]`,
      () => openBase(skRm, enc, info, aad, flipped(ciphertext, i)),
    ]),
    ['aad', () => openBase(skRm, enc, info, flipped(aad, 0), ciphertext)],
    ['info', () => openBase(skRm, enc, flipped(info, 3), aad, ciphertext)],
    ['empty aad', () => openBase(skRm, enc, info, new Uint8Array(0), ciphertext)],
    ['truncated ciphertext', () => openBase(skRm, enc, info, aad, ciphertext.subarray(0, 10))],
    ['wrong recipient', () => openBase(generateX25519().privateKey, enc, info, aad, ciphertext)],
    ['short enc', () => openBase(skRm, enc.subarray(1), info, aad, ciphertext)],
  ];
  for (const [name, open] of cases) assert.throws(open, HpkeError, name);
});

test('wantErr: an all-zero DH output is refused on both sides (§7.1.4)', () => {
  const lowOrderPoints = [
    new Uint8Array(32),
    Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)),
  ];
  for (const point of lowOrderPoints) {
    assert.throws(
      () => sealBase(point, info, new Uint8Array(0), utf8('x')),
      (error: unknown) => error instanceof HpkeError && error.reason === 'zero-shared-secret',
    );
    assert.throws(
      () => openBase(fromHex(vector.skRm), point, info, new Uint8Array(0), fromHex(first.ct)),
      HpkeError,
    );
  }
});

test('bad arguments throw RangeError naming them', () => {
  assert.throws(
    () => sealBase(new Uint8Array(31), info, info, info),
    /recipientPublicKey must be 32 bytes/,
  );
  assert.throws(
    () => sealBase(fromHex(vector.pkRm), info, info, info, { ephemeralIkm: new Uint8Array(16) }),
    /ikm must be at least 32 bytes/,
  );
  assert.throws(
    () => openBase(new Uint8Array(33), fromHex(vector.enc), info, info, fromHex(first.ct)),
    /recipientPrivateKey must be 32 bytes/,
  );
  assert.throws(() => labeledExpand('hpke', info, 'x', info, 255 * 32 + 1), RangeError);
});

test('property: sealBase then openBase round-trips any info, aad and plaintext', () => {
  const recipient = generateX25519();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 300 }),
      (infoBytes, aad, plaintext) => {
        const { enc, ciphertext } = sealBase(recipient.publicKey, infoBytes, aad, plaintext);
        assert.equal(ciphertext.byteLength, plaintext.byteLength + 16);
        assert.deepEqual(
          openBase(recipient.privateKey, enc, infoBytes, aad, ciphertext),
          plaintext,
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('interop: @hpke/core opens our seals, and we open its seals', async () => {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  const recipient = generateX25519();
  const recipientRaw = exportX25519PrivateRaw(recipient.privateKey);
  const theirPrivateKey = await suite.kem.deserializePrivateKey(recipientRaw);
  const theirPublicKey = await suite.kem.deserializePublicKey(recipient.publicKey);
  for (const size of [0, 1, 32, 1000]) {
    const plaintext = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) % 256);
    const aad = utf8(`record-${size}`);
    const ours = sealBase(recipient.publicKey, utf8('chartchain/dek/v1'), aad, plaintext);
    const opened = await suite.open(
      { recipientKey: theirPrivateKey, enc: ours.enc, info: utf8('chartchain/dek/v1') },
      ours.ciphertext,
      aad,
    );
    assert.deepEqual(
      new Uint8Array(opened),
      plaintext,
      `@hpke/core opens our seal of ${size} bytes`,
    );
    const theirs = await suite.seal(
      { recipientPublicKey: theirPublicKey, info: utf8('chartchain/dek/v1') },
      plaintext,
      aad,
    );
    const openedByUs = openBase(
      recipient.privateKey,
      new Uint8Array(theirs.enc),
      utf8('chartchain/dek/v1'),
      aad,
      new Uint8Array(theirs.ct),
    );
    assert.deepEqual(openedByUs, plaintext, `we open the @hpke/core seal of ${size} bytes`);
    assert.throws(
      () =>
        openBase(
          recipient.privateKey,
          new Uint8Array(theirs.enc),
          utf8('chartchain/dek/v2'),
          aad,
          new Uint8Array(theirs.ct),
        ),
      HpkeError,
    );
  }
  // Both derive the same key pair from the RFC's ikmR, and @hpke/core opens the RFC ciphertext we reproduce.
  const derived = await suite.kem.deriveKeyPair(fromHex(vector.ikmR));
  assert.equal(
    toHex(new Uint8Array(await suite.kem.serializePublicKey(derived.publicKey))),
    vector.pkRm,
  );
  const sealed = sealBase(fromHex(vector.pkRm), info, fromHex(first.aad), fromHex(first.pt), {
    ephemeralIkm: fromHex(vector.ikmE),
  });
  const opened = await suite.open(
    { recipientKey: derived, enc: sealed.enc, info },
    sealed.ciphertext,
    fromHex(first.aad),
  );
  assert.equal(toHex(new Uint8Array(opened)), first.pt);
});
