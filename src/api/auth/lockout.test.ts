import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCKOUT_FIRST_MS, LOCKOUT_FREE_FAILURES, LOCKOUT_MAX_MS, lockedUntil } from './lockout.js';

test('a few failures are free; then each locks twice as long as the last, up to the ceiling', () => {
  const now = 1_000_000;
  for (let failures = 0; failures < LOCKOUT_FREE_FAILURES; failures++)
    assert.equal(lockedUntil(failures, now), 0);
  assert.equal(lockedUntil(LOCKOUT_FREE_FAILURES, now), now + LOCKOUT_FIRST_MS);
  assert.equal(lockedUntil(LOCKOUT_FREE_FAILURES + 1, now), now + 2 * LOCKOUT_FIRST_MS);
  assert.equal(lockedUntil(LOCKOUT_FREE_FAILURES + 2, now), now + 4 * LOCKOUT_FIRST_MS);
  assert.equal(lockedUntil(LOCKOUT_FREE_FAILURES + 50, now), now + LOCKOUT_MAX_MS);
});
