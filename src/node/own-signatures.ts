/**
 * Signatures this node made with keys it holds (its organisation's, its custodial practitioners'
 * and patients'). Admission checks every signature on the worker pool before a transaction is
 * queued; for one the node has just made, that check is a thread round trip on the path of every
 * logged read and every FHIR write, and can only succeed. A transaction is vouched for when its
 * signature is one recorded here, made with the very key the chain names for its signer, over
 * exactly the message the transaction now carries. Anything else, including a transaction
 * altered after signing, is checked as usual.
 */
import { bytesEqual } from '../crypto/index.js';
import { OWN_SIGNATURE_COUNT_MAX, type DecodedTransaction } from '../ledger/index.js';

interface Made {
  readonly publicKey: string;
  readonly message: Uint8Array;
}

/** Signatures made here and not yet submitted, by signature (hex). */
export class OwnSignatures {
  readonly #made = new Map<string, Made>();

  /** Records that this node signed `message` with the key whose public half is `publicKey` (hex). */
  record(sig: string, publicKey: string, message: Uint8Array): void {
    if (this.#made.size >= OWN_SIGNATURE_COUNT_MAX)
      this.#made.delete(this.#made.keys().next().value!);
    this.#made.set(sig, { publicKey, message });
  }

  /** True, once, when `decoded` carries a signature made here with `publicKey` over its own message. */
  take(decoded: DecodedTransaction, publicKey: string): boolean {
    const made = this.#made.get(decoded.tx.sig);
    if (made === undefined) return false;
    this.#made.delete(decoded.tx.sig);
    return made.publicKey === publicKey && bytesEqual(made.message, decoded.message);
  }
}
