/**
 * Ledger work spread over the event loop: executing a block of a few hundred transactions takes
 * tens of milliseconds, and HTTP requests that arrive meanwhile must not wait all of it.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Steps } from '../contracts/index.js';
import type { StoreTurn } from '../storage/index.js';

/**
 * The ledger's work on the event loop, as ChartChainNode.observeLedgerTurns names it: a block's
 * execution, handing it to the writer thread, the chain store's (applying a block's state,
 * handing over a savepoint), what follows a commit, and marking blobs anchored.
 */
export type LedgerWork = 'execute' | StoreTurn | 'follow' | 'anchor';

/** `steps`, then `finish` of their result as part of the last step: run and timed in its slice. */
export function* finishing<T, R>(steps: Steps<T>, finish: (value: T) => R): Steps<R> {
  return finish(yield* steps);
}

/**
 * How long ledger work runs before letting other callbacks run. A slice ends with the first
 * step past it, and steps are small (one transaction, or some tens of write-set entries or
 * log leaves), so a slice holds the event loop for under a millisecond.
 */
export const LEDGER_SLICE_MS = 0.5;

/**
 * Runs `steps` to the end, giving the event loop a turn whenever one slice has run for `sliceMs`.
 * `sliceTimed` is told how long each slice held the event loop, in seconds.
 */
export async function runSliced<T>(
  steps: Steps<T>,
  sliceTimed?: (seconds: number) => void,
  sliceMs = LEDGER_SLICE_MS,
): Promise<T> {
  let sliceStarted = performance.now();
  for (;;) {
    const next = steps.next();
    const ran = performance.now() - sliceStarted;
    if (next.done === true) {
      sliceTimed?.(ran / 1000);
      return next.value;
    }
    if (ran >= sliceMs) {
      sliceTimed?.(ran / 1000);
      await nextTurn();
      sliceStarted = performance.now();
    }
  }
}
