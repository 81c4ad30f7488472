/** A key this node holds and signs with, and the nonces it has used. */
import { signTransaction, type JsonObject, type Transaction } from '../ledger/index.js';
import type { SigningKey } from '../crypto/index.js';

/** Signs transactions with strictly increasing nonces, starting above the last committed one. */
export class LocalSigner {
  #nonce: number;

  constructor(
    readonly key: SigningKey,
    lastCommittedNonce: number,
  ) {
    this.#nonce = lastCommittedNonce;
  }

  /** A signed transaction of `type` with `body` and the next nonce. */
  sign(type: string, body: JsonObject): Transaction {
    this.#nonce += 1;
    return signTransaction({ type, nonce: this.#nonce, body }, this.key);
  }
}
