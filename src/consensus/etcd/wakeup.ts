/**
 * A sticky notification between async loops: notify() before wait() is not lost, so a loop
 * that checks, then waits, never sleeps through the event that arrived in between.
 */
export class Wakeup {
  #pending = false;
  #waiters: (() => void)[] = [];

  /** Wakes every waiter, or the next one to wait. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    if (waiters.length === 0) this.#pending = true;
    waiters.forEach((wake) => wake());
  }

  /** Resolves on the next notify (or a pending one), or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
          resolve();
        },
        Math.max(0, timeoutMs),
      );
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(wake);
    });
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
