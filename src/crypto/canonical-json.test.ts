import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalize } from './canonical-json.js';

test('RFC 8785 §3.2.2 example: numbers, strings and literals', () => {
  const input = JSON.parse(
    '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
      '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
  );
  assert.equal(
    canonicalize(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('RFC 8785 §3.2.3 example: members sorted by UTF-16 code units', () => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  // Read the order off the text: JSON.parse would move the integer-like key "1" first.
  const text = canonicalize(input);
  const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((key) =>
    text.indexOf(JSON.stringify(key) + ':'),
  );
  assert.ok(
    order.every((position, i) => position > (order[i - 1] ?? -1)),
    `order ${order.join(',')}`,
  );
});

test('RFC 8785 Appendix B number serialisation', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '0'],
    [5e-324, '5e-324'],
    [-5e-324, '-5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [9007199254740992, '9007199254740992'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [295147905179352830000, '295147905179352830000'],
  ];
  for (const [value, expected] of cases) assert.equal(canonicalize(value), expected, String(value));
});

test('values JSON cannot carry are refused (wantErr)', () => {
  assert.throws(() => canonicalize(Number.NaN), TypeError);
  assert.throws(() => canonicalize(Number.POSITIVE_INFINITY), TypeError);
  assert.throws(() => canonicalize({ a: undefined }), TypeError);
  assert.throws(() => canonicalize(10n), TypeError);
  assert.throws(() => canonicalize('\ud800'), /lone surrogate/);
  assert.throws(() => canonicalize(new Date(0)), /plain objects/);
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.throws(() => canonicalize(deep), RangeError);
});

test('property: canonical form is a fixed point and independent of member order', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      const text = canonicalize(value);
      assert.equal(canonicalize(JSON.parse(text)), text);
      const reversed = JSON.parse(text, (_key, member) =>
        member !== null && typeof member === 'object' && !Array.isArray(member)
          ? Object.fromEntries(Object.entries(member).reverse())
          : member,
      );
      assert.equal(canonicalize(reversed), text);
    }),
  );
});

test('property: members come out in UTF-16 code-unit order, for small objects and large, astral keys included', () => {
  const key = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
  fc.assert(
    fc.property(fc.dictionary(key, fc.integer(), { maxKeys: 48 }), (object) => {
      const members = Object.keys(object)
        .sort()
        .map((name) => `${JSON.stringify(name)}:${object[name]}`);
      assert.equal(canonicalize(object), `{${members.join(',')}}`);
    }),
  );
});
