/**
 * Ledger work spread over the event loop: executing a block of a few hundred transactions takes
 * tens of milliseconds, and HTTP requests that arrive meanwhile must not wait all of it.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Steps } from '../contracts/index.js';

/**
 * How long ledger work runs before letting other callbacks run. A slice ends with the first
 * step past it, and steps are small (one transaction, or some tens of write-set entries or
 * log leaves), so a slice holds the event loop for under a millisecond.
 */
export const LEDGER_SLICE_MS = 0.5;

/** Runs `steps` to the end, giving the event loop a turn whenever one slice has run for `sliceMs`. */
export async function runSliced<T>(steps: Steps<T>, sliceMs = LEDGER_SLICE_MS): Promise<T> {
  let sliceStarted = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (performance.now() - sliceStarted >= sliceMs) {
      await nextTurn();
      sliceStarted = performance.now();
    }
  }
}
