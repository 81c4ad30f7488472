/**
 * Ledger work spread over the event loop: executing a block of a few hundred transactions takes
 * tens of milliseconds, and HTTP requests that arrive meanwhile must not wait all of it.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Steps } from '../contracts/index.js';

/** How long ledger work may hold the event loop before letting other callbacks run. */
export const LEDGER_SLICE_MS = 1;

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
