/**
 * Signatures already checked on the worker pool, so block execution (which must be synchronous)
 * rarely verifies on the main thread. A miss falls back to an in-thread check: correctness never
 * depends on the cache, only speed does.
 */
import { fromHex, PublicKeyCache, verify, VerifyPool } from '../crypto/index.js';
import type { BlockContext, Executor, SignatureCheck, StateReader } from '../contracts/index.js';
import { ADMISSION_SLICE_MAX, type DecodedTransaction, signatureOf } from '../ledger/index.js';

/** txId → the public key (hex) its signature verified under. */
export class SignatureCache {
  readonly #verified = new Map<string, string>();
  readonly #keys = new PublicKeyCache();

  constructor(private readonly pool: VerifyPool) {}

  /** The synchronous check block execution uses. */
  readonly check: SignatureCheck = (decoded, publicKey) => {
    if (this.isVerified(decoded.txId, publicKey)) return true;
    return verify(this.#keys.get(fromHex(publicKey)), decoded.message, signatureOf(decoded.tx));
  };

  /** Records that `txId` carries a good signature under `publicKey`, known without checking it (its maker vouches). */
  trust(txId: string, publicKey: string): void {
    this.#verified.set(txId, publicKey);
  }

  /** True when `txId` already verified under `publicKey`. */
  isVerified(txId: string, publicKey: string): boolean {
    return this.#verified.get(txId) === publicKey;
  }

  /** Verifies `items` on the pool; records the valid ones. Result i says whether item i verified. */
  async verifyAll(
    items: readonly { readonly decoded: DecodedTransaction; readonly publicKey: string }[],
  ): Promise<boolean[]> {
    const results = await this.pool.verifyBatch(
      items.map(({ decoded, publicKey }) => ({
        publicKey: fromHex(publicKey),
        message: decoded.message,
        signature: signatureOf(decoded.tx),
      })),
    );
    items.forEach(
      ({ decoded, publicKey }, i) => results[i] && this.#verified.set(decoded.txId, publicKey),
    );
    return results;
  }

  /**
   * Verifies on the pool the signatures of `txs` not already checked, under the signer keys
   * `state` knows. A signer registered within the same block is checked in-thread later.
   */
  async preverify(
    executor: Executor,
    state: StateReader,
    txs: readonly DecodedTransaction[],
    block: BlockContext,
  ): Promise<void> {
    const items = [];
    for (const decoded of txs) {
      const signer = executor.resolveSigner(state, decoded, block);
      if (signer !== undefined && !this.isVerified(decoded.txId, signer.publicKey))
        items.push({ decoded, publicKey: signer.publicKey });
    }
    if (items.length > 0) await this.verifyAll(items);
  }

  /** Forgets `txIds`, once their block is committed. */
  forget(txIds: Iterable<string>): void {
    for (const txId of txIds) this.#verified.delete(txId);
  }
}

interface Waiting {
  readonly decoded: DecodedTransaction;
  readonly publicKey: string;
  readonly vouched: boolean;
  readonly resolve: (ok: boolean) => void;
}

/**
 * Collects admission checks for one event-loop turn and verifies them as one pool batch.
 * Results are released strictly in arrival order, so two transactions from one signer reach
 * the orderer in the order they were submitted and their nonces stay in sequence.
 */
export class AdmissionVerifier {
  #waiting: Waiting[] = [];
  #tail: Promise<void> = Promise.resolve();

  constructor(private readonly cache: SignatureCache) {}

  /**
   * Resolves true when the signature verifies under `publicKey`. A `vouched` one (made by this
   * node: see OwnSignatures) is not sent to the pool, but still resolves in arrival order.
   */
  verify(decoded: DecodedTransaction, publicKey: string, vouched = false): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#waiting.length === 0) setImmediate(() => this.#drain());
      this.#waiting.push({ decoded, publicKey, vouched, resolve });
    });
  }

  #drain(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    // Modest slices keep the workers and the main thread busy at once: results of the first
    // slice are used while the workers verify the next.
    for (let begin = 0; begin < waiting.length; begin += ADMISSION_SLICE_MAX) {
      const slice = waiting.slice(begin, begin + ADMISSION_SLICE_MAX);
      const results = this.#check(slice).catch(() => slice.map(() => false));
      this.#tail = Promise.all([results, this.#tail]).then(([oks]) =>
        slice.forEach((item, i) => item.resolve(oks[i] === true)),
      );
    }
  }

  /** Result i for item i: vouched ones recorded as good, the rest verified on the pool. */
  async #check(slice: readonly Waiting[]): Promise<boolean[]> {
    const unvouched = slice.filter((item) => !item.vouched);
    const verified = unvouched.length === 0 ? [] : await this.cache.verifyAll(unvouched);
    let next = 0;
    return slice.map((item) => {
      if (!item.vouched) return verified[next++] === true;
      this.cache.trust(item.decoded.txId, item.publicKey);
      return true;
    });
  }
}
