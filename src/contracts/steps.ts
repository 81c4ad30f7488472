/** Work done in steps, so that a caller may spread it over turns of its event loop. */

/** Work done in steps: each `yield` is a point where the caller may pause; the return is the result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without pausing. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}
