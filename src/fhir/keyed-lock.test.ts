import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedLock } from './keyed-lock.js';

test('tasks under one key run one at a time in arrival order, a failure included; other keys do not wait', async () => {
  const lock = new KeyedLock();
  const events: string[] = [];
  let releaseFirst = () => {};
  const first = lock.run('a', async () => {
    events.push('a1 start');
    await new Promise<void>((resolve) => (releaseFirst = resolve));
    events.push('a1 end');
    throw new Error('a1 failed');
  });
  const second = lock.run('a', async () => {
    events.push('a2');
    return 2;
  });
  const other = lock.run('b', async () => {
    events.push('b1');
    return 'b';
  });
  assert.equal(await other, 'b');
  assert.deepEqual(events, ['a1 start', 'b1'], 'b ran while a1 held a; a2 waited');
  releaseFirst();
  await assert.rejects(first, /a1 failed/);
  assert.equal(await second, 2);
  assert.deepEqual(events, ['a1 start', 'b1', 'a1 end', 'a2']);
});
