import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalBytes,
  fromUtf8,
  publicKeyFromRaw,
  sha256Hex,
  signingKeyFromSeed,
  utf8,
  verify,
} from '../crypto/index.js';
import {
  TX_BODY_BYTES_MAX,
  TX_BYTES_MAX,
  TX_TYPE_LENGTH_MAX,
  TX_WIRE_BYTES_MAX,
} from './limits.js';
import {
  decodeTransaction,
  encodeTransaction,
  signatureOf,
  signingMessage,
  signTransaction,
  txIdOf,
  type DecodeResult,
  type JsonObject,
  type Transaction,
} from './transaction.js';

const KEY = signingKeyFromSeed(new Uint8Array(32).fill(7));
const OTHER_KEY = signingKeyFromSeed(new Uint8Array(32).fill(9));
const TX: Transaction = signTransaction(
  {
    type: 'membership.register-patient',
    nonce: 3,
    body: { patientId: 'patient-0001', custody: 'self', nested: { z: 1, a: [true, null, 'é'] } },
  },
  KEY,
);
// Every status decodeTransaction may return: the shape checks only ever produce these two.
const DECODE_STATUSES = new Set(['invalid:malformed', 'invalid:oversized']);

/** The decode result as a comparable outcome: 'ok' or [status, reason]. */
function refusal(result: DecodeResult): 'ok' | readonly [string, string] {
  return result.ok ? 'ok' : [result.status, result.reason];
}

function withField(field: string, value: unknown): Record<string, unknown> {
  return { ...TX, [field]: value };
}

describe('signTransaction and decodeTransaction', () => {
  test('round trip: a signed transaction decodes to itself, its canonical bytes and its id', () => {
    for (const input of [TX, JSON.stringify(TX), utf8(JSON.stringify(TX)), encodeTransaction(TX)]) {
      const decoded = decodeTransaction(input);
      assert.ok(decoded.ok, JSON.stringify(refusal(decoded)));
      assert.deepEqual(decoded.tx, TX);
      assert.deepEqual(decoded.bytes, canonicalBytes(TX));
      assert.equal(decoded.txId, sha256Hex(canonicalBytes(TX)));
      assert.equal(decoded.txId, txIdOf(decoded.bytes));
    }
  });

  test('the signature verifies over the context-prefixed canonical unsigned form, and only for its key', () => {
    const message = signingMessage(TX);
    assert.match(fromUtf8(message), /^chartchain\/tx\/v1\n\{"body":/);
    assert.equal(verify(publicKeyFromRaw(KEY.publicKey), message, signatureOf(TX)), true);
    assert.equal(verify(publicKeyFromRaw(OTHER_KEY.publicKey), message, signatureOf(TX)), false);
    assert.equal(TX.signer, KEY.keyId);
    assert.throws(
      () => signTransaction({ type: 'a.b', signer: OTHER_KEY.keyId, nonce: 1, body: {} }, KEY),
      RangeError,
    );
  });

  test('the canonical form, and so the txId, ignores member order and whitespace in the input', () => {
    const reordered = {
      sig: TX.sig,
      body: { nested: { a: [true, null, 'é'], z: 1 }, custody: 'self', patientId: 'patient-0001' },
      nonce: 3,
      signer: TX.signer,
      type: TX.type,
    };
    const spaced = JSON.stringify(reordered, null, 4).replace(/\n/g, '\r\n\t ');
    const escaped = JSON.stringify(TX).replace('é', '\\u00e9');
    const expected = sha256Hex(canonicalBytes(TX));
    for (const input of [reordered, spaced, utf8(spaced), escaped]) {
      const decoded = decodeTransaction(input);
      assert.ok(decoded.ok, JSON.stringify(refusal(decoded)));
      assert.equal(decoded.txId, expected);
      assert.deepEqual(decoded.bytes, canonicalBytes(TX));
    }
    assert.notEqual(sha256Hex(utf8(spaced)), expected, 'the wire bytes themselves differ');
  });

  test('changing any field changes the txId', () => {
    const ids = new Set(
      [
        TX,
        withField('nonce', 4),
        withField('type', 'membership.register-practitioner'),
        withField('body', {}),
        withField('sig', 'ab'.repeat(64)),
        withField('signer', OTHER_KEY.keyId),
      ].map((tx) => {
        const decoded = decodeTransaction(tx);
        assert.ok(decoded.ok);
        return decoded.txId;
      }),
    );
    assert.equal(ids.size, 6);
  });
});

describe('decodeTransaction refuses, naming the field', () => {
  const deep = (depth: number): unknown => (depth === 0 ? 1 : { d: deep(depth - 1) });
  const cases: readonly { name: string; input: unknown; status: string; reason: RegExp }[] = [
    { name: 'malformed JSON', input: '{"type":', status: 'invalid:malformed', reason: /JSON/ },
    {
      name: 'malformed JSON bytes',
      input: utf8('{"type":"a"'),
      status: 'invalid:malformed',
      reason: /JSON/,
    },
    {
      name: 'invalid UTF-8',
      input: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]),
      status: 'invalid:malformed',
      reason: /UTF-8/,
    },
    {
      name: 'truncated UTF-8 sequence',
      input: Uint8Array.from([0x22, 0xc3, 0x22]),
      status: 'invalid:malformed',
      reason: /UTF-8/,
    },
    {
      name: 'an array',
      input: '[1,2]',
      status: 'invalid:malformed',
      reason: /transaction must be a JSON object/,
    },
    {
      name: 'null',
      input: null,
      status: 'invalid:malformed',
      reason: /transaction must be a JSON object/,
    },
    {
      name: 'a number',
      input: '42',
      status: 'invalid:malformed',
      reason: /transaction must be a JSON object/,
    },
    {
      name: 'a missing field',
      input: { type: TX.type, signer: TX.signer, nonce: TX.nonce, body: TX.body },
      status: 'invalid:malformed',
      reason: /exactly the fields/,
    },
    {
      name: 'an extra field',
      input: withField('memo', 'hi'),
      status: 'invalid:malformed',
      reason: /exactly the fields/,
    },
    {
      name: 'a renamed field',
      input: {
        type: TX.type,
        signer: TX.signer,
        nonce: TX.nonce,
        body: TX.body,
        signature: TX.sig,
      },
      status: 'invalid:malformed',
      reason: /exactly the fields/,
    },
    {
      name: 'type not a string',
      input: withField('type', 7),
      status: 'invalid:malformed',
      reason: /^type/,
    },
    {
      name: 'type with capitals',
      input: withField('type', 'Membership.genesis'),
      status: 'invalid:malformed',
      reason: /^type/,
    },
    {
      name: 'type with an empty segment',
      input: withField('type', 'membership..genesis'),
      status: 'invalid:malformed',
      reason: /^type/,
    },
    {
      name: 'type with a trailing dot',
      input: withField('type', 'membership.'),
      status: 'invalid:malformed',
      reason: /^type/,
    },
    {
      name: 'empty type',
      input: withField('type', ''),
      status: 'invalid:malformed',
      reason: /^type/,
    },
    {
      name: 'type too long',
      input: withField('type', 'a'.repeat(TX_TYPE_LENGTH_MAX + 1)),
      status: 'invalid:oversized',
      reason: /^type exceeds/,
    },
    {
      name: 'signer in upper-case hex',
      input: withField('signer', TX.signer.toUpperCase()),
      status: 'invalid:malformed',
      reason: /^signer/,
    },
    {
      name: 'signer too short',
      input: withField('signer', TX.signer.slice(2)),
      status: 'invalid:malformed',
      reason: /^signer/,
    },
    {
      name: 'signer not hex',
      input: withField('signer', 'zz' + TX.signer.slice(2)),
      status: 'invalid:malformed',
      reason: /^signer/,
    },
    {
      name: 'nonce 0',
      input: withField('nonce', 0),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'nonce -1',
      input: withField('nonce', -1),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'nonce 1.5',
      input: withField('nonce', 1.5),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'nonce 2^53',
      input: withField('nonce', 2 ** 53),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'nonce 1e400 on the wire',
      input: JSON.stringify(TX).replace('"nonce":3', '"nonce":1e400'),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'nonce as a string',
      input: withField('nonce', '3'),
      status: 'invalid:malformed',
      reason: /^nonce/,
    },
    {
      name: 'body an array',
      input: withField('body', []),
      status: 'invalid:malformed',
      reason: /^body/,
    },
    {
      name: 'body null',
      input: withField('body', null),
      status: 'invalid:malformed',
      reason: /^body/,
    },
    {
      name: 'body a string',
      input: withField('body', '{}'),
      status: 'invalid:malformed',
      reason: /^body/,
    },
    {
      name: 'body nested too deep',
      input: withField('body', deep(40)),
      status: 'invalid:malformed',
      reason: /^body/,
    },
    {
      name: 'body with a lone surrogate',
      input: JSON.stringify(TX).replace('patient-0001', '\\ud800'),
      status: 'invalid:malformed',
      reason: /^body/,
    },
    {
      name: 'sig one byte short',
      input: withField('sig', TX.sig.slice(2)),
      status: 'invalid:malformed',
      reason: /^sig/,
    },
    {
      name: 'sig one byte long',
      input: withField('sig', TX.sig + '00'),
      status: 'invalid:malformed',
      reason: /^sig/,
    },
    {
      name: 'sig as bytes',
      input: withField('sig', [1, 2, 3]),
      status: 'invalid:malformed',
      reason: /^sig/,
    },
    {
      name: 'body over TX_BODY_BYTES_MAX',
      input: withField('body', { x: 'a'.repeat(TX_BODY_BYTES_MAX) }),
      status: 'invalid:oversized',
      reason: new RegExp(`^body exceeds ${TX_BODY_BYTES_MAX}`),
    },
    {
      name: 'wire string over TX_WIRE_BYTES_MAX',
      input: JSON.stringify(TX) + ' '.repeat(TX_WIRE_BYTES_MAX),
      status: 'invalid:oversized',
      reason: new RegExp(`^transaction exceeds ${TX_WIRE_BYTES_MAX}`),
    },
    {
      name: 'wire bytes over TX_WIRE_BYTES_MAX',
      input: utf8(JSON.stringify(TX) + ' '.repeat(TX_WIRE_BYTES_MAX)),
      status: 'invalid:oversized',
      reason: new RegExp(`^transaction exceeds ${TX_WIRE_BYTES_MAX}`),
    },
  ];
  for (const { name, input, status, reason } of cases) {
    test(name, () => {
      const result = refusal(decodeTransaction(input));
      assert.notEqual(result, 'ok', `${name} was accepted`);
      assert.equal(result[0], status, result[1]);
      assert.match(result[1], reason);
    });
  }

  test('limits are exact: a body of TX_BODY_BYTES_MAX bytes and wire input of TX_WIRE_BYTES_MAX bytes are accepted', () => {
    const overhead = canonicalBytes({ x: '' }).byteLength;
    const body = { x: 'a'.repeat(TX_BODY_BYTES_MAX - overhead) };
    assert.equal(canonicalBytes(body).byteLength, TX_BODY_BYTES_MAX);
    const atLimit = decodeTransaction(withField('body', body));
    assert.ok(atLimit.ok, JSON.stringify(refusal(atLimit)));
    assert.ok(atLimit.bytes.byteLength <= TX_BYTES_MAX);
    const wire = JSON.stringify(TX);
    const padded = wire + ' '.repeat(TX_WIRE_BYTES_MAX - utf8(wire).byteLength);
    assert.equal(utf8(padded).byteLength, TX_WIRE_BYTES_MAX);
    assert.deepEqual(refusal(decodeTransaction(utf8(padded))), 'ok');
    assert.deepEqual(refusal(decodeTransaction(padded)), 'ok');
  });
});

describe('decodeTransaction on hostile input', () => {
  function checkTotal(input: unknown): void {
    const result = decodeTransaction(input);
    if (result.ok) {
      assert.deepEqual(result.bytes, canonicalBytes(result.tx));
      assert.equal(result.txId, sha256Hex(result.bytes));
    } else {
      assert.ok(DECODE_STATUSES.has(result.status), result.status);
      assert.ok(result.reason.length > 0);
    }
  }

  test('never throws on arbitrary strings, bytes or values, and only ever returns a known status', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), checkTotal), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), checkTotal), { numRuns: 300 });
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        checkTotal(value);
        checkTotal(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withMap: true,
          withSet: true,
          withBigInt: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          withBoxedValues: true,
        }),
        checkTotal,
      ),
      { numRuns: 300 },
    );
  });

  test('never throws when a well-formed envelope carries an arbitrary field value', () => {
    const fields = fc.constantFrom('type', 'signer', 'nonce', 'body', 'sig');
    const value = fc.oneof(
      fc.anything({
        withNullPrototype: true,
        withBigInt: true,
        withSparseArray: true,
        withDate: true,
      }),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fields, value, fc.boolean(), (field, replacement, asText) => {
        const tx = withField(field, replacement);
        checkTotal(tx);
        if (asText) {
          let text: string | undefined;
          try {
            text = JSON.stringify(tx);
          } catch {
            return; // bigint has no JSON text; the value case above covered it.
          }
          checkTotal(text);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('an accepted decoding is a fixed point: decoding its canonical bytes yields the same id', () => {
    const body = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
      maxKeys: 5,
    });
    fc.assert(
      fc.property(body, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (b, nonce) => {
        const first = decodeTransaction(
          signTransaction({ type: 'membership.vote', nonce, body: b as JsonObject }, KEY),
        );
        assert.ok(first.ok, JSON.stringify(refusal(first)));
        const second = decodeTransaction(first.bytes);
        assert.ok(second.ok);
        assert.equal(second.txId, first.txId);
        assert.deepEqual(second.bytes, first.bytes);
      }),
      { numRuns: 200 },
    );
  });
});
