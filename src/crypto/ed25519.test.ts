import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex, utf8 } from './bytes.js';
import {
  exportSeed,
  generateSigningKey,
  keyIdOf,
  publicKeyFromRaw,
  sign,
  signingKeyFromSeed,
  verify,
} from './ed25519.js';
import { VerifyPool } from './verify-pool.js';

// RFC 8032 §7.1, TEST 1, TEST 2, TEST 3.
const RFC8032_VECTORS = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

test('RFC 8032 §7.1 known answers: public key, signature, verification', () => {
  for (const vector of RFC8032_VECTORS) {
    const key = signingKeyFromSeed(fromHex(vector.secret));
    assert.equal(toHex(key.publicKey), vector.publicKey);
    assert.equal(toHex(sign(key, fromHex(vector.message))), vector.signature);
    assert.ok(
      verify(publicKeyFromRaw(key.publicKey), fromHex(vector.message), fromHex(vector.signature)),
    );
  }
});

test('a flipped bit in message or signature fails verification', () => {
  const key = generateSigningKey();
  const message = utf8('chartchain');
  const signature = sign(key, message);
  const publicKey = publicKeyFromRaw(key.publicKey);
  assert.ok(verify(publicKey, message, signature));
  const badSignature = Uint8Array.from(signature);
  badSignature[10]! ^= 1;
  assert.equal(verify(publicKey, message, badSignature), false);
  assert.equal(verify(publicKey, utf8('chartchaim'), signature), false);
  assert.equal(verify(publicKey, message, signature.subarray(1)), false);
});

test('seed export round-trips and key ids are the SHA-256 of the raw key', () => {
  const key = generateSigningKey();
  const again = signingKeyFromSeed(exportSeed(key));
  assert.equal(toHex(again.publicKey), toHex(key.publicKey));
  assert.equal(key.keyId, keyIdOf(key.publicKey));
  assert.match(key.keyId, /^[0-9a-f]{64}$/);
});

test('bad key material is refused with the argument named', () => {
  assert.throws(() => signingKeyFromSeed(new Uint8Array(31)), /seed must be 32 bytes/);
  assert.throws(() => publicKeyFromRaw(new Uint8Array(33)), /publicKey must be 32 bytes/);
});

test('VerifyPool agrees with in-thread verification on valid and forged items', async () => {
  const pool = new VerifyPool(2);
  try {
    const key = generateSigningKey();
    const items = Array.from({ length: 200 }, (_, i) => {
      const message = utf8(`message ${i}`);
      const signature = sign(key, message);
      if (i % 7 === 3) signature[0]! ^= 0x80;
      return { publicKey: key.publicKey, message, signature };
    });
    items.push({ publicKey: new Uint8Array(5), message: utf8('x'), signature: new Uint8Array(64) });
    const results = await pool.verifyBatch(items);
    const expected = items.map((item) =>
      item.publicKey.byteLength === 32
        ? verify(publicKeyFromRaw(item.publicKey), item.message, item.signature)
        : false,
    );
    assert.deepEqual(results, expected);
    assert.equal(results.filter((ok) => !ok).length, 30);
    assert.equal(await pool.verifyOne(items[0]!), true);
  } finally {
    await pool.close();
  }
});
