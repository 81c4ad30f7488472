/** A key this node holds and signs with, and the nonces it has used. */
import { signTransactionWithMessage, type JsonObject, type Transaction } from '../ledger/index.js';
import { toHex, type SigningKey } from '../crypto/index.js';
import type { TxBuilder } from '../contracts/index.js';
import type { OwnSignatures } from './own-signatures.js';
import { typeAndBody } from './tx-type.js';

/**
 * Signs transactions with strictly increasing nonces, starting above `lastUsedNonce`: the
 * highest nonce of the key that is committed or held by a pending transaction.
 */
export class LocalSigner {
  #nonce: number;
  readonly #publicKey: string;

  /** Signatures go into `own`, when given, so this node's admission need not check them again. */
  constructor(
    readonly key: SigningKey,
    lastUsedNonce: number,
    private readonly own?: OwnSignatures,
  ) {
    this.#nonce = lastUsedNonce;
    this.#publicKey = toHex(key.publicKey);
  }

  /** A signed transaction of `schema`'s type with the body it builds from `value`, and the next nonce. */
  sign<Body>(schema: TxBuilder<Body>, value: NoInfer<Body>): Transaction;
  /** A signed transaction of `type` with `body` as given, and the next nonce. */
  sign(type: string, body: JsonObject): Transaction;
  sign(typeOrSchema: string | TxBuilder<never>, value: unknown): Transaction {
    const { type, body } = typeAndBody(typeOrSchema, value);
    this.#nonce += 1;
    const { tx, message } = signTransactionWithMessage(
      { type, nonce: this.#nonce, body },
      this.key,
    );
    this.own?.record(tx.sig, this.#publicKey, message);
    return tx;
  }

  /**
   * Moves the next nonce above `lastUsedNonce` when the ledger has seen more of this key than
   * the signer knows (after a restart, or when the key also signed elsewhere); never moves back.
   */
  resync(lastUsedNonce: number): void {
    this.#nonce = Math.max(this.#nonce, lastUsedNonce);
  }
}
