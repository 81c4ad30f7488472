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

test('runAll holds every key while its task runs; the same keys in another order do not deadlock', async () => {
  const lock = new KeyedLock();
  let holding = false;
  const ran: string[] = [];
  const on = (key: string) =>
    lock.run(key, async () => {
      assert.equal(holding, false, `a task on ${key} ran while runAll held it`);
      ran.push(key);
    });
  let release = () => {};
  const both = lock.runAll(['b', 'a', 'b'], async () => {
    holding = true;
    await new Promise<void>((resolve) => (release = resolve));
    holding = false;
  });
  const others = [on('a'), on('b')];
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(holding, true, 'runAll took both keys');
  const afterwards = [on('a'), on('b')];
  const reversed = lock.runAll(['a', 'b'], async () => void ran.push('again'));
  release();
  await Promise.all([both, ...others, ...afterwards, reversed]);
  assert.equal(ran.length, 5);
});
