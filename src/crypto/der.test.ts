import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.js';
import {
  derBoolean,
  derOid,
  derSequence,
  derSmallInteger,
  derTime,
  derTlv,
  derUnsignedInteger,
} from './der.js';

const hex = (bytes: Uint8Array): string => toHex(bytes);

test('lengths take the short form below 128 and the shortest long form above (X.690 §8.1.3)', () => {
  assert.equal(hex(derTlv(0x04, new Uint8Array(127))).slice(0, 4), '047f');
  assert.equal(hex(derTlv(0x04, new Uint8Array(128))).slice(0, 6), '048180');
  assert.equal(hex(derTlv(0x04, new Uint8Array(256))).slice(0, 8), '04820100');
  assert.equal(hex(derSequence()), '3000');
});

test('integers are minimal, with a leading zero only where the top bit is set (X.690 §8.3)', () => {
  assert.equal(hex(derSmallInteger(0)), '020100');
  assert.equal(hex(derSmallInteger(2)), '020102');
  assert.equal(hex(derSmallInteger(128)), '02020080');
  assert.equal(hex(derSmallInteger(65_537)), '0203010001');
  assert.equal(hex(derUnsignedInteger(new Uint8Array([0, 0, 0x7f]))), '02017f');
  assert.equal(hex(derUnsignedInteger(new Uint8Array([0xff, 0x01]))), '020300ff01');
  assert.throws(() => derSmallInteger(-1), RangeError);
});

test('object identifiers match their well-known encodings (X.690 §8.19)', () => {
  assert.equal(hex(derOid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(hex(derOid('2.5.29.17')), '0603551d11');
  assert.equal(hex(derOid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301');
  for (const bad of ['', '1', '3.1', '1.40', '1.02.3', '1..2'])
    assert.throws(() => derOid(bad), RangeError, bad);
});

test('booleans are 0xff or 0x00 (X.690 §11.1)', () => {
  assert.equal(hex(derBoolean(true)), '0101ff');
  assert.equal(hex(derBoolean(false)), '010100');
});

test('times before 2050 are UTCTime and from 2050 GeneralizedTime (RFC 5280 §4.1.2.5)', () => {
  assert.equal(
    Buffer.from(derTime(new Date('2026-12-05T07:08:09.999Z'))).toString('latin1'),
    '\x17\x0d261205070809Z',
  );
  assert.equal(
    Buffer.from(derTime(new Date('2049-12-31T23:59:59Z'))).toString('latin1'),
    '\x17\x0d491231235959Z',
  );
  assert.equal(
    Buffer.from(derTime(new Date('2050-01-01T00:00:00Z'))).toString('latin1'),
    '\x18\x0f20500101000000Z',
  );
  assert.throws(() => derTime(new Date('1949-12-31T00:00:00Z')), RangeError);
  assert.throws(() => derTime(new Date(Number.NaN)), RangeError);
});
