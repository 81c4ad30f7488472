/**
 * Transactions admitted and not yet committed, by txId, with the highest nonce each signer holds
 * among them. A block executes its transactions in queue order, so a transaction admitted with
 * a nonce at or below one already pending from the same signer could only ever commit as
 * `invalid:stale-nonce`; admission refuses it instead, while the client can still be told.
 */
import type { DecodedTransaction } from '../ledger/index.js';

interface SignerPending {
  /** Highest nonce among this signer's pending transactions. */
  highestNonce: number;
  count: number;
}

/** The pending set of one node. */
export class PendingTxs {
  readonly #byTxId = new Map<string, DecodedTransaction>();
  readonly #bySigner = new Map<string, SignerPending>();

  /** The admitted transaction `txId`, or undefined. */
  get(txId: string): DecodedTransaction | undefined {
    return this.#byTxId.get(txId);
  }

  /** Every pending transaction, in admission order. */
  values(): IterableIterator<DecodedTransaction> {
    return this.#byTxId.values();
  }

  /** True while `txId` is pending. */
  has(txId: string): boolean {
    return this.#byTxId.has(txId);
  }

  /** Adds `decoded`; a transaction already pending is left as it is. */
  add(decoded: DecodedTransaction): void {
    if (this.#byTxId.has(decoded.txId)) return;
    this.#byTxId.set(decoded.txId, decoded);
    const { signer, nonce } = decoded.tx;
    const held = this.#bySigner.get(signer);
    if (held === undefined) this.#bySigner.set(signer, { highestNonce: nonce, count: 1 });
    else {
      held.highestNonce = Math.max(held.highestNonce, nonce);
      held.count += 1;
    }
  }

  /**
   * Removes `txId` once committed (or never queued). When it held its signer's highest nonce,
   * the highest is taken again from the signer's other pending transactions: a nonce that was
   * never queued may be used again. Transactions commit in admission order, so that scan runs
   * only after a refused enqueue or for transactions requeued out of order.
   */
  delete(txId: string): void {
    const decoded = this.#byTxId.get(txId);
    if (decoded === undefined) return;
    this.#byTxId.delete(txId);
    const { signer, nonce } = decoded.tx;
    const held = this.#bySigner.get(signer)!;
    held.count -= 1;
    if (held.count === 0) this.#bySigner.delete(signer);
    else if (nonce === held.highestNonce) held.highestNonce = this.#highestAmongPending(signer);
  }

  #highestAmongPending(signer: string): number {
    let highest = 0;
    for (const { tx } of this.#byTxId.values())
      if (tx.signer === signer && tx.nonce > highest) highest = tx.nonce;
    return highest;
  }

  /** The highest nonce among `signer`'s pending transactions, or undefined when it has none. */
  highestNonce(signer: string): number | undefined {
    return this.#bySigner.get(signer)?.highestNonce;
  }
}
