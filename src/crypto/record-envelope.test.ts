import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AeadError, aeadOpen, aeadSeal } from './aead.js';
import { utf8 } from './bytes.js';
import { canonicalBytes } from './canonical-json.js';
import { HpkeError } from './hpke.js';
import {
  commitmentOf,
  openRecordContent,
  recordAad,
  sealRecordContent,
  unwrapDataKey,
  wrapDataKey,
  type WrappedDataKey,
} from './record-envelope.js';
import { sha256Hex } from './sha256.js';
import { generateX25519 } from './x25519.js';

// canonicalBytes returns a Buffer; compare as the plain Uint8Array that openRecordContent returns.
const resource = new Uint8Array(
  canonicalBytes({
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    valueQuantity: { value: 7.2, unit: 'mmol/L' },
  }),
);
const fields = { recordId: 'rec-7f3a', version: 3, resourceType: 'Observation' };
const aad = recordAad(fields);

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index]! ^= 0x01;
  return copy;
}

function flippedHex(text: string, index: number): string {
  const nibble = parseInt(text[index]!, 16) ^ 0x1;
  return text.slice(0, index) + nibble.toString(16) + text.slice(index + 1);
}

test('recordAad is the canonical JSON of recordId, resourceType and version', () => {
  assert.equal(
    Buffer.from(aad).toString('utf8'),
    '{"recordId":"rec-7f3a","resourceType":"Observation","version":3}',
  );
  assert.throws(() => recordAad({ ...fields, recordId: '' }), /recordId/);
  assert.throws(() => recordAad({ ...fields, resourceType: '' }), /resourceType/);
  assert.throws(() => recordAad({ ...fields, version: -1 }), /version/);
  assert.throws(() => recordAad({ ...fields, version: 1.5 }), /version/);
});

test('round trip: seal content, wrap its key to two readers, each unwraps and opens', () => {
  const patient = generateX25519();
  const organisation = generateX25519();
  const { dataKey, sealed } = sealRecordContent(resource, aad);
  assert.equal(dataKey.byteLength, 32);
  assert.equal(sealed.byteLength, 12 + resource.byteLength + 16);
  for (const reader of [patient, organisation]) {
    const envelope = wrapDataKey(dataKey, reader.publicKey, aad);
    assert.match(envelope.enc, /^[0-9a-f]{64}$/);
    assert.match(envelope.wrappedKey, /^[0-9a-f]{96}$/);
    const unwrapped = unwrapDataKey(envelope, reader.privateKey, aad);
    assert.deepEqual(unwrapped, dataKey);
    assert.deepEqual(openRecordContent(sealed, unwrapped, aad), resource);
  }
});

test('each seal draws a fresh data key and nonce', () => {
  const one = sealRecordContent(resource, aad);
  const two = sealRecordContent(resource, aad);
  assert.notDeepEqual(one.dataKey, two.dataKey);
  assert.notDeepEqual(one.sealed.subarray(0, 12), two.sealed.subarray(0, 12));
});

test('wantErr: content or key replayed under another recordId, version or resourceType fails', () => {
  const reader = generateX25519();
  const { dataKey, sealed } = sealRecordContent(resource, aad);
  const envelope = wrapDataKey(dataKey, reader.publicKey, aad);
  const elsewhere = [
    recordAad({ ...fields, recordId: 'rec-7f3b' }),
    recordAad({ ...fields, version: 4 }),
    recordAad({ ...fields, resourceType: 'Condition' }),
  ];
  for (const other of elsewhere) {
    assert.throws(() => openRecordContent(sealed, dataKey, other), AeadError);
    assert.throws(() => unwrapDataKey(envelope, reader.privateKey, other), HpkeError);
  }
});

test('wantErr: the wrong recipient cannot unwrap', () => {
  const reader = generateX25519();
  const stranger = generateX25519();
  const { dataKey } = sealRecordContent(resource, aad);
  const envelope = wrapDataKey(dataKey, reader.publicKey, aad);
  assert.throws(() => unwrapDataKey(envelope, stranger.privateKey, aad), HpkeError);
});

test('wantErr: a flipped byte anywhere in the sealed content, key, envelope fields fails', () => {
  const reader = generateX25519();
  const { dataKey, sealed } = sealRecordContent(resource, aad);
  for (const index of [0, 11, 12, sealed.byteLength - 17, sealed.byteLength - 1]) {
    assert.throws(
      () => openRecordContent(flipped(sealed, index), dataKey, aad),
      AeadError,
      `sealed[${index}]`,
    );
  }
  assert.throws(() => openRecordContent(sealed, flipped(dataKey, 5), aad), AeadError);
  assert.throws(() => openRecordContent(sealed.subarray(0, 27), dataKey, aad), AeadError);
  const envelope = wrapDataKey(dataKey, reader.publicKey, aad);
  const tampered: [string, WrappedDataKey][] = [
    ...[0, 40, 63].map((i): [string, WrappedDataKey] => [
      `enc[${i}]`,
      { ...envelope, enc: flippedHex(envelope.enc, i) },
    ]),
    ...[0, 50, 95].map((i): [string, WrappedDataKey] => [
      `wrappedKey[${i}]`,
      { ...envelope, wrappedKey: flippedHex(envelope.wrappedKey, i) },
    ]),
    ['uppercase enc', { ...envelope, enc: envelope.enc.toUpperCase() }],
    ['short wrappedKey', { ...envelope, wrappedKey: envelope.wrappedKey.slice(2) }],
  ];
  for (const [name, bad] of tampered)
    assert.throws(() => unwrapDataKey(bad, reader.privateKey, aad), HpkeError, name);
});

test('bad arguments throw RangeError naming them', () => {
  const reader = generateX25519();
  assert.throws(
    () => wrapDataKey(new Uint8Array(16), reader.publicKey, aad),
    /dataKey must be 32 bytes/,
  );
  assert.throws(
    () => wrapDataKey(new Uint8Array(32), new Uint8Array(31), aad),
    /recipientPublicKey must be 32 bytes/,
  );
  assert.throws(
    () => openRecordContent(new Uint8Array(40), new Uint8Array(31), aad),
    /dataKey must be 32 bytes/,
  );
  assert.throws(() => commitmentOf(new Uint8Array(16), resource), /salt must be 32 bytes/);
  assert.throws(
    () =>
      unwrapDataKey(
        wrapDataKey(new Uint8Array(32), reader.publicKey, aad),
        new Uint8Array(31),
        aad,
      ),
    /recipientPrivateKey must be 32 bytes/,
  );
  assert.throws(
    () => aeadSeal(new Uint8Array(16), new Uint8Array(12), aad, resource),
    /key must be 32 bytes/,
  );
  assert.throws(
    () => aeadOpen(new Uint8Array(32), new Uint8Array(8), aad, resource),
    /nonce must be 12 bytes/,
  );
});

test('property: seal, wrap, unwrap and open round-trip any content under any record version', () => {
  const reader = generateX25519();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 512 }),
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom('Observation', 'Condition', 'MedicationRequest', 'Patient'),
      (content, recordId, version, resourceType) => {
        const recordAadBytes = recordAad({ recordId, version, resourceType });
        const { dataKey, sealed } = sealRecordContent(content, recordAadBytes);
        const dataKeyBack = unwrapDataKey(
          wrapDataKey(dataKey, reader.publicKey, recordAadBytes),
          reader.privateKey,
          recordAadBytes,
        );
        assert.deepEqual(openRecordContent(sealed, dataKeyBack, recordAadBytes), content);
      },
    ),
    { numRuns: 60 },
  );
});

test('the commitment cannot be matched to a guessed resource without the salt', () => {
  const saltA = new Uint8Array(32).fill(0xa5);
  const saltB = new Uint8Array(32).fill(0x5a);
  const commitment = commitmentOf(saltA, resource);
  assert.match(commitment, /^[0-9a-f]{64}$/);
  assert.equal(commitment, sha256Hex(Buffer.concat([saltA, resource])));
  // Same resource, different salt: unlinkable commitments.
  assert.notEqual(commitmentOf(saltB, resource), commitment);
  // A dictionary attacker who guesses the exact resource but hashes it without the salt misses.
  assert.notEqual(sha256Hex(resource), commitment);
  // A one-byte change in the resource changes the commitment too.
  assert.notEqual(commitmentOf(saltA, flipped(resource, 3)), commitment);
  assert.notEqual(commitmentOf(saltA, utf8('')), commitment);
});
