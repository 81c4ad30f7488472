import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptedTotpStep, newTotpSecret, totpUri } from './totp.js';

// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890", base32; the codes are the
// last six digits of the eight-digit test vectors.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

test('RFC 6238 test vectors: the code of each time is accepted, and belongs to its 30-second step', () => {
  assert.equal(acceptedTotpStep(RFC_SECRET, '287082', 59_000, 0), 1);
  assert.equal(acceptedTotpStep(RFC_SECRET, '081804', 1_111_111_109_000, 0), 37_037_036);
  assert.equal(acceptedTotpStep(RFC_SECRET, '050471', 1_111_111_111_000, 0), 37_037_037);
  assert.equal(acceptedTotpStep(RFC_SECRET, '005924', 1_234_567_890_000, 0), 41_152_263);
});

test('a code is accepted one step late for clock skew, not two; never twice; never a wrong or malformed one', () => {
  assert.equal(acceptedTotpStep(RFC_SECRET, '287082', 89_000, 0), 1, 'one step late');
  assert.equal(acceptedTotpStep(RFC_SECRET, '287082', 119_000, 0), undefined, 'two steps late');
  assert.equal(
    acceptedTotpStep(RFC_SECRET, '287082', 59_000, 1),
    undefined,
    'the step was used already',
  );
  assert.equal(acceptedTotpStep(RFC_SECRET, '287083', 59_000, 0), undefined);
  for (const malformed of ['', '28708', '2870822', '28708a', ' 287082', '２８７０８２'])
    assert.equal(acceptedTotpStep(RFC_SECRET, malformed, 59_000, 0), undefined, malformed);
});

test('a new secret is 160 random bits of base32, and its otpauth URI names issuer and account', () => {
  const secret = newTotpSecret();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.notEqual(secret, newTotpSecret());
  const uri = new URL(totpUri('ChartChain', 'dr-a@practice-a', secret));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), secret);
  assert.equal(uri.searchParams.get('issuer'), 'ChartChain');
  assert.match(decodeURIComponent(uri.pathname), /ChartChain:dr-a@practice-a$/);
});
