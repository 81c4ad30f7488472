import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSteps, type Steps } from '../contracts/index.js';
import { runSliced } from './time-slice.js';

/** Steps that each busy-wait `stepMs`, then return how many ran. */
function* busySteps(count: number, stepMs: number): Steps<number> {
  for (let i = 0; i < count; i++) {
    const until = performance.now() + stepMs;
    while (performance.now() < until);
    yield;
  }
  return count;
}

test('runSliced returns what runSteps returns, lets other callbacks run between slices and times each', async () => {
  assert.equal(runSteps(busySteps(5, 0)), 5);
  let turns = 0;
  const slices: number[] = [];
  const ticker = setInterval(() => (turns += 1), 0);
  try {
    // 40 steps of 2 ms: with 1 ms slices the interval gets a turn after every step.
    assert.equal(await runSliced(busySteps(40, 2), (seconds) => slices.push(seconds), 1), 40);
  } finally {
    clearInterval(ticker);
  }
  // One slice per 2 ms step, then the turn in which the steps end.
  assert.equal(slices.length, 41);
  assert.ok(
    slices.slice(0, 40).every((seconds) => seconds >= 0.002 && seconds < 1),
    `each slice is timed in seconds: ${slices.join(', ')}`,
  );
  assert.ok(
    turns >= 10,
    `the event loop ran other callbacks ${turns} times during 80 ms of ledger work`,
  );
});

test('runSliced passes on what a step throws', async () => {
  function* failing(): Steps<number> {
    yield;
    throw new RangeError('step 2 failed');
  }
  await assert.rejects(runSliced(failing()), RangeError);
});
