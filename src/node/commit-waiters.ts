/** Callers waiting for a transaction to commit, with a deadline each. */
import type { TxRecord } from '../contracts/index.js';

/** `txId` was accepted (it is durable in the queue) but its block did not commit in time: it still will, once the node can commit. */
export class CommitTimeoutError extends Error {
  constructor(
    readonly txId: string,
    readonly timeoutMs: number,
  ) {
    super(`transaction ${txId} not committed within ${timeoutMs} ms`);
    this.name = 'CommitTimeoutError';
  }
}

interface Waiter {
  readonly resolve: (record: TxRecord) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** txId → waiters. */
export class CommitWaiters {
  readonly #waiters = new Map<string, Waiter[]>();

  /** Resolves when resolve(txId) is called; rejects after `timeoutMs`. */
  wait(txId: string, timeoutMs: number): Promise<TxRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#remove(txId, waiter);
        reject(new CommitTimeoutError(txId, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      const list = this.#waiters.get(txId);
      if (list === undefined) this.#waiters.set(txId, [waiter]);
      else list.push(waiter);
    });
  }

  /** Wakes everyone waiting for `txId`. */
  resolve(txId: string, record: TxRecord): void {
    const list = this.#waiters.get(txId);
    if (list === undefined) return;
    this.#waiters.delete(txId);
    for (const waiter of list) {
      clearTimeout(waiter.timer);
      waiter.resolve(record);
    }
  }

  /** Fails every waiter, e.g. on shutdown. */
  rejectAll(error: Error): void {
    for (const list of this.#waiters.values())
      for (const waiter of list) {
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
    this.#waiters.clear();
  }

  #remove(txId: string, waiter: Waiter): void {
    const list = this.#waiters.get(txId)?.filter((other) => other !== waiter);
    if (list === undefined || list.length === 0) this.#waiters.delete(txId);
    else this.#waiters.set(txId, list);
  }
}
