/** Runs tasks one at a time per key, in arrival order; tasks under different keys run freely. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Resolves or rejects as `task` does, once every task queued before it under `key` has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Runs `task` holding every one of `keys` at once, taken in sorted order so that two such runs never wait on each other in a cycle. */
  runAll<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const held = sorted.reduceRight<() => Promise<T>>(
      (inner, key) => () => this.run(key, inner),
      task,
    );
    return held();
  }
}
