import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalize,
  concatBytes,
  fromHex,
  sha256,
  sha256Hex,
  utf8,
  type JsonValue,
} from '../crypto/index.js';
import { canonicalWriteSet, canonicalWriteSetSteps, nextAppHash } from './app-hash.js';
import type { WriteSetEntry } from './state.js';

const entry = fc.tuple(
  fc.string(),
  fc.string(),
  fc.oneof(fc.constant(null), fc.jsonValue() as fc.Arbitrary<JsonValue>),
);

test('canonicalWriteSet equals RFC 8785 of the whole write-set, value texts included', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      const { json, valueTexts } = canonicalWriteSet(entries as WriteSetEntry[]);
      assert.equal(json, canonicalize(entries));
      assert.deepEqual(
        valueTexts,
        entries.map(([, , value]) => canonicalize(value)),
      );
    }),
  );
});

test('in steps, a large write-set pauses every 64 entries and encodes to the same text', () => {
  const entries: WriteSetEntry[] = Array.from({ length: 700 }, (_, i) => [
    't',
    `k${String(i).padStart(4, '0')}`,
    i % 7 === 0 ? null : { v: i, s: 'x'.repeat(i % 13) },
  ]);
  const steps = canonicalWriteSetSteps(entries);
  let pauses = 0;
  let next = steps.next();
  for (; next.done !== true; next = steps.next()) pauses += 1;
  assert.equal(pauses, 10, '700 entries: a pause after each 64 of the first 640');
  assert.equal(next.value.json, canonicalize(entries));
  assert.deepEqual(next.value, canonicalWriteSet(entries));
});

test('appHash is SHA-256(prevAppHash ‖ SHA-256(write-set)) and chains', () => {
  const prev = '00'.repeat(32);
  const { json } = canonicalWriteSet([['t', 'k', { v: 1 }]]);
  const expected = sha256Hex(concatBytes(fromHex(prev), sha256(utf8('[["t","k",{"v":1}]]'))));
  assert.equal(nextAppHash(prev, json), expected);
  assert.notEqual(nextAppHash(expected, json), expected);
  assert.notEqual(nextAppHash(prev, canonicalWriteSet([['t', 'k', { v: 2 }]]).json), expected);
  assert.throws(() => nextAppHash('zz', json), /prevAppHash/);
});
