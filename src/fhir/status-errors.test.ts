import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusError } from './status-errors.js';

test('a write refused because the ordering service is unreachable is a 503 with Retry-After', () => {
  for (const status of ['unavailable:ordering', 'unavailable:queue-full']) {
    const error = statusError(status, 'Observation/obs-1');
    assert.equal(error.status, 503);
    assert.equal(error.headers['retry-after'], '1');
    assert.equal(error.issues[0]!.code, 'transient');
  }
  assert.deepEqual(statusError('denied:record-erased', 'Observation/obs-1').headers, {});
});
