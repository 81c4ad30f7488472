import { RECENT_TXIDS_MAX } from '../../ledger/index.js';
/**
 * The txIds of recently ordered blocks, so that a proposer never orders a transaction twice
 * when a client retry or a failover left a copy in the queue. Bounded: the oldest are
 * forgotten first. A duplicate older than the window still reaches block assembly, which
 * refuses a committed txId (`invalid:duplicate-txid`).
 */

/** A bounded, insertion-ordered set of txIds. */
export class RecentTxIds {
  readonly #txIds = new Set<string>();

  constructor(private readonly sizeMax = RECENT_TXIDS_MAX) {}

  add(txIds: readonly string[]): void {
    for (const txId of txIds) this.#txIds.add(txId);
    for (const oldest of this.#txIds) {
      if (this.#txIds.size <= this.sizeMax) break;
      this.#txIds.delete(oldest);
    }
  }

  has(txId: string): boolean {
    return this.#txIds.has(txId);
  }
}
