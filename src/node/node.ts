/**
 * A ChartChain node: ledger, contracts, storage and orderer wired together. It knows nothing of
 * HTTP; src/api serves it. Every block is executed, committed atomically and, if proposed by
 * someone else, validated field by field first. A node that cannot commit halts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, VerifyPool } from '../crypto/index.js';
import { ERASURE_TABLE, ID_PATTERN, NONCE_TABLE, standardExecutor, type WriteSetEntry, TX_TABLE, type Executor, type Signer, type TxRecord } from '../contracts/index.js';
import { OrdererUnavailableError, QueueFullError, type OrderedBatch, type Orderer } from '../consensus/index.js';
import {
  blockHashOf,
  decodeBlock,
  decodeTransaction,
  encodeBlockParts,
  signHeader,
  signTransaction,
  txIdOf,
  type Block,
  type BlockHeader,
  type DecodedTransaction,
  type EnvelopeRejection,
  type JsonObject,
  type Transaction,
} from '../ledger/index.js';
import { BlobStore, ChainStore, type BlockCommit } from '../storage/index.js';
import { assembleBlock } from './block-assembly.js';
import { validateBlock } from './block-validation.js';
import { DEFAULT_ORDERER, readNodeConfig, writeNodeConfig, type NodeConfig } from './node-config.js';
import { openOrderer } from './orderer-choice.js';
import { NodeAccess, type AccessHost } from './access-api.js';
import { NodeConsent } from './consent-api.js';
import { erasureStatus, erasureStatuses, type ErasureStatus } from './erasures.js';
import { createOrgKeys, loadOrgKeys, rotateEncryptionKey, type OrgKeys } from './org-keys.js';
import { AdmissionVerifier, SignatureCache } from './signature-cache.js';
import { CommitWaiters } from './commit-waiters.js';
import { recoverState } from './state-recovery.js';
import { NodeRecords } from './records-api.js';
import { LocalSigner } from './local-signer.js';

/** Why a submission was refused before ordering. */
export type SubmitRejection = EnvelopeRejection | 'unavailable:queue-full' | 'unavailable:halted' | 'unavailable:ordering';

/** The answer to a submission. */
export type SubmitResult = { readonly ok: true; readonly txId: string } | { readonly ok: false; readonly status: SubmitRejection; readonly reason: string };

/** Where a transaction stands. */
export type TxLookup = ({ readonly txId: string } & TxRecord) | { readonly txId: string; readonly status: 'pending' };

/** Options for creating a node's data directory. */
export interface InitOptions {
  readonly orgId: string;
  readonly orgName: string;
  readonly network: string;
  readonly orderer?: Partial<NodeConfig['orderer']>;
}

const CHAIN_FILE = 'chain.db';
const BLOBS_DIR = 'blobs';

/** True when `dataDir` already holds an initialised node. */
export function isInitialised(dataDir: string): boolean {
  return readNodeConfig(dataDir) !== undefined && existsSync(join(dataDir, CHAIN_FILE));
}

/** A running node. Create with ChartChainNode.open; stop with close(). */
export class ChartChainNode {
  readonly #waiters = new CommitWaiters();
  readonly #commitListeners: ((writeSet: readonly WriteSetEntry[]) => void)[] = [];
  /** Admitted, not yet committed: reused at proposal time instead of decoding again. */
  readonly #pending = new Map<string, DecodedTransaction>();
  readonly #admission: AdmissionVerifier;
  #proposed: { readonly height: number; readonly bytes: Uint8Array; readonly commit: BlockCommit } | undefined;
  readonly #org: LocalSigner;
  #halted: string | undefined;
  /** Erasures this organisation has deleted locally and whose receipt is on its way. */
  readonly #receiptsPending = new Set<string>();
  /** Encrypted records: write, read, history and erasure. */
  readonly records: NodeRecords;
  /** The consent-checked, log-before-release read path, break-the-glass and the audit trail. */
  readonly access: NodeAccess;
  /** Consent of custodial patients, and the key sharing that follows a grant. */
  readonly consent: NodeConsent;

  private constructor(
    readonly dataDir: string,
    readonly config: NodeConfig,
    readonly keys: OrgKeys,
    readonly store: ChainStore,
    readonly executor: Executor,
    private readonly pool: VerifyPool,
    private readonly signatures: SignatureCache,
    private readonly orderer: Orderer,
  ) {
    this.#admission = new AdmissionVerifier(signatures);
    this.records = new NodeRecords(store, new BlobStore(join(dataDir, BLOBS_DIR)), keys, config.orgId);
    const host: AccessHost = {
      chain: store,
      records: this.records,
      orgId: config.orgId,
      signAsOrg: (type, body) => this.signAsOrg(type, body),
      submit: (tx) => this.submit(tx),
      waitForTx: (txId, timeoutMs) => this.waitForTx(txId, timeoutMs),
      submitAndWait: (tx) => this.submitAndWait(tx),
    };
    this.access = new NodeAccess(host);
    this.consent = new NodeConsent(host);
    const nonce = store.state.get(NONCE_TABLE, keys.signing.keyId);
    this.#org = new LocalSigner(keys.signing, typeof nonce === 'number' ? nonce : 0);
  }

  /**
   * Creates a data directory for a new network founded by this organisation: keys, node.json and
   * the genesis block. Throws when `dataDir` already holds a node.
   */
  static init(dataDir: string, options: InitOptions): void {
    if (isInitialised(dataDir)) throw new Error(`${dataDir} already holds a node`);
    if (!ID_PATTERN.test(options.orgId)) throw new RangeError('orgId must be 2–64 lowercase letters, digits or dashes, starting with a letter or digit');
    mkdirSync(dataDir, { recursive: true });
    const keys = createOrgKeys(dataDir);
    const config: NodeConfig = { network: options.network, orgId: options.orgId, orgName: options.orgName, orderer: { ...DEFAULT_ORDERER, ...options.orderer } };
    const executor = standardExecutor();
    const store = ChainStore.open(join(dataDir, CHAIN_FILE), executor.tables);
    try {
      writeGenesis(store, executor, keys, config);
    } finally {
      store.close();
    }
    writeNodeConfig(dataDir, config);
  }

  /** Opens an initialised data directory and starts ordering. */
  static async open(dataDir: string, options: { readonly verifyPoolSize?: number } = {}): Promise<ChartChainNode> {
    const config = readNodeConfig(dataDir);
    if (config === undefined) throw new Error(`${dataDir} holds no node: run chartchain init first`);
    const executor = standardExecutor();
    const store = ChainStore.open(join(dataDir, CHAIN_FILE), executor.tables);
    const pool = new VerifyPool(options.verifyPoolSize);
    const owner: { node?: ChartChainNode } = {};
    const orderer = await openOrderer(dataDir, config, (error) => owner.node?.halt(error.message));
    const node = (owner.node = new ChartChainNode(dataDir, config, loadOrgKeys(dataDir), store, executor, pool, new SignatureCache(pool), orderer));
    const head = store.head();
    assert(head !== undefined, 'an initialised node has a genesis block');
    await recoverState(store, executor, node.signatures);
    node.#requeue();
    await orderer.start(node.#consumer(head));
    node.#confirmErasures(store.stateKeys(ERASURE_TABLE).map((recordId) => [ERASURE_TABLE, recordId, store.state.get(ERASURE_TABLE, recordId)!] as const));
    return node;
  }

  /** Acknowledged transactions still queued from before a restart count as pending: lookups say so and resubmissions are refused. */
  #requeue(): void {
    for (const bytes of this.orderer.queued()) {
      const decoded = decodeTransaction(bytes);
      if (decoded.ok) this.#pending.set(decoded.txId, decoded);
    }
  }

  #consumer(head: BlockHeader) {
    return {
      fromHeight: head.height + 1,
      lastTime: head.time,
      propose: (batch: OrderedBatch) => this.#propose(batch),
      deliver: async (height: number, bytes: Uint8Array) => this.#deliver(height, bytes),
    };
  }

  /** The newest committed header. */
  head(): BlockHeader {
    return this.store.head()!;
  }

  /** Why this node stopped committing, or undefined while healthy. */
  get halted(): string | undefined {
    return this.#halted;
  }

  /** Transactions accepted and not yet committed. */
  get pendingCount(): number {
    return this.orderer.pendingCount;
  }

  /**
   * Admits a transaction: shape, type, replay, signer, nonce and signature are checked against
   * committed state, then it is queued durably for ordering. Resolves once it is durable.
   */
  async submit(input: Uint8Array | string | unknown): Promise<SubmitResult> {
    if (this.#halted !== undefined) return { ok: false, status: 'unavailable:halted', reason: `node halted: ${this.#halted}` };
    const decoded = decodeTransaction(input);
    if (!decoded.ok) return decoded;
    const signer = this.#precheck(decoded);
    if ('ok' in signer) return signer;
    if (!(await this.#admission.verify(decoded, signer.publicKey))) return reject('invalid:bad-signature', 'signature does not verify under the signer key');
    if (this.#pending.has(decoded.txId)) return reject('invalid:duplicate-txid', 'transaction is already pending');
    this.#pending.set(decoded.txId, decoded);
    try {
      await this.orderer.submit(decoded.bytes);
    } catch (error) {
      this.#pending.delete(decoded.txId);
      if (error instanceof QueueFullError) return { ok: false, status: 'unavailable:queue-full', reason: error.message };
      if (error instanceof OrdererUnavailableError) return { ok: false, status: 'unavailable:ordering', reason: error.message };
      throw error;
    }
    return { ok: true, txId: decoded.txId };
  }

  /** The checks that need only committed state; returns the signer, or the refusal. */
  #precheck(decoded: DecodedTransaction): Signer | SubmitResult {
    const { tx, txId } = decoded;
    if (!this.executor.knowsType(tx.type)) return reject('invalid:unknown-type', `no contract handles type ${tx.type}`);
    if (this.#pending.has(txId)) return reject('invalid:duplicate-txid', 'transaction is already pending');
    const signer = this.executor.resolveSigner(this.store.state, decoded, this.#nextBlockContext());
    if (signer === undefined) return reject('invalid:unknown-signer', 'signer is not a registered key');
    if (!signer.active) return reject('denied:signer-inactive', 'signer is suspended or its organisation removed');
    const lastNonce = this.store.state.get(NONCE_TABLE, signer.keyId);
    if (typeof lastNonce === 'number' && tx.nonce <= lastNonce) {
      // A committed transaction spent its nonce, so a replay always lands here; only then is
      // the txId index consulted, sparing every fresh transaction a lookup that would miss.
      if (this.store.state.get(TX_TABLE, txId) !== undefined) return reject('invalid:duplicate-txid', 'transaction was already committed');
      return reject('invalid:stale-nonce', `nonce must be greater than ${lastNonce}`);
    }
    return signer;
  }

  #nextBlockContext() {
    const head = this.head();
    return { height: head.height + 1, time: head.time };
  }

  /**
   * Rotates the organisation's encryption key: the new key is sealed in the keystore first (so
   * it can never be announced and then lost), then announced on-chain. Versions written from the
   * rotating block on are wrapped to it; the older keys stay to read what came before.
   */
  async rotateEncryptionKey(): Promise<SubmitResult> {
    const encryptionKey = rotateEncryptionKey(this.keys);
    return this.submit(this.signAsOrg('membership.rotate-encryption-key', { encryptionKey }));
  }

  /** Every erasure on the chain with its confirmations, by record id. */
  erasures(): ErasureStatus[] {
    return erasureStatuses(this.#readRow, this.store.stateKeys(ERASURE_TABLE));
  }

  /** The erasure of `recordId` with its confirmations, or undefined when it was not erased. */
  erasure(recordId: string): ErasureStatus | undefined {
    return erasureStatus(this.#readRow, recordId);
  }

  readonly #readRow = (table: string, key: string): unknown => this.store.state.get(table, key);

  /** Signs a transaction with this organisation's key and the next organisation nonce. */
  signAsOrg(type: string, body: JsonObject): Transaction {
    return this.#org.sign(type, body);
  }

  /** Where `txId` stands: committed (with height, leaf index and status), pending, or unknown. */
  lookupTx(txId: string): TxLookup | undefined {
    const record = this.store.state.get(TX_TABLE, txId) as TxRecord | undefined;
    if (record !== undefined) return { txId, ...record };
    return this.#pending.has(txId) ? { txId, status: 'pending' } : undefined;
  }

  /**
   * Submits `tx` and waits for its block. Resolves with the status that decided it: the
   * admission refusal, or the committed status ('ok', or why the contract refused it); with
   * the txId whenever it was admitted.
   */
  async submitAndWait(tx: Transaction, timeoutMs?: number): Promise<{ status: string; txId?: string }> {
    const submitted = await this.submit(tx);
    if (!submitted.ok) return { status: submitted.status };
    return { status: (await this.waitForTx(submitted.txId, timeoutMs)).status, txId: submitted.txId };
  }

  /** Resolves with the committed record of `txId`; rejects after `timeoutMs`. */
  async waitForTx(txId: string, timeoutMs = 30_000): Promise<TxRecord> {
    const waiting = this.#waiters.wait(txId, timeoutMs);
    const record = this.store.state.get(TX_TABLE, txId) as TxRecord | undefined;
    if (record !== undefined) this.#waiters.resolve(txId, record);
    return waiting;
  }

  /** The block at `height`, re-checked against its stored hash and txRoot. */
  block(height: number): Block | undefined {
    return this.store.block(height);
  }

  async #propose(batch: OrderedBatch): Promise<Uint8Array> {
    const txs: DecodedTransaction[] = [];
    const unverified: DecodedTransaction[] = [];
    for (const bytes of batch.txs) {
      const admitted = this.#pending.get(txIdOf(bytes));
      if (admitted !== undefined) txs.push(admitted);
      else {
        // Queued before a restart: decoded and verified again. Bytes that do not decode never
        // had an acknowledgement from this version and are left out of the block.
        const decoded = decodeTransaction(bytes);
        if (decoded.ok) {
          txs.push(decoded);
          unverified.push(decoded);
        }
      }
    }
    await this.signatures.preverify(this.executor, this.store.state, unverified, this.#nextBlockContext());
    const keyId = this.keys.signing.keyId;
    const assembled = assembleBlock(this.store, this.executor, txs, { height: batch.height, time: batch.time, proposer: keyId }, this.signatures.check);
    const header = signHeader(assembled.header, this.keys.signing);
    const commit = assembled.commitFor(header);
    const bytes = encodeBlockParts(header, commit.txs);
    this.#proposed = { height: batch.height, bytes, commit };
    return bytes;
  }

  async #deliver(height: number, bytes: Uint8Array): Promise<void> {
    const proposed = this.#proposed;
    this.#proposed = undefined;
    // The solo orderer hands back the very bytes we proposed; any other block is re-executed.
    if (proposed !== undefined && proposed.height === height && (proposed.bytes === bytes || Buffer.compare(proposed.bytes, bytes) === 0)) {
      this.#commit(proposed.commit);
      return;
    }
    const decoded = decodeBlock(bytes);
    await this.signatures.preverify(this.executor, this.store.state, decoded.txs, this.#nextBlockContext());
    this.#commit(validateBlock(this.store, this.executor, decoded, this.signatures.check));
  }

  #commit(commit: BlockCommit): void {
    this.store.commit(commit);
    this.#confirmErasures(commit.writeSet);
    for (const listener of this.#commitListeners) listener(commit.writeSet);
    void this.consent.shareCommitted(commit.writeSet).catch((error: unknown) => this.records.alarm('key-sharing', String(error)));
    const txIds = commit.txs.map(({ txId }) => txId);
    this.signatures.forget(txIds);
    for (const txId of txIds) {
      this.#pending.delete(txId);
      const record = this.store.state.get(TX_TABLE, txId) as TxRecord | undefined;
      if (record !== undefined) this.#waiters.resolve(txId, record);
    }
  }

  /**
   * Calls `listener` with the write-set of every block committed from now on, after the commit:
   * how node-local derived data (the FHIR search index) follows deletions and erasures.
   * Returns the function that stops the calls.
   */
  onCommitted(listener: (writeSet: readonly WriteSetEntry[]) => void): () => void {
    this.#commitListeners.push(listener);
    return () => {
      const at = this.#commitListeners.indexOf(listener);
      if (at >= 0) this.#commitListeners.splice(at, 1);
    };
  }

  /** Deletes the ciphertexts of newly erased records and signs this organisation's receipt for each. */
  #confirmErasures(writeSet: readonly WriteSetEntry[]): void {
    for (const recordId of this.records.eraseCommitted(writeSet)) {
      if (this.#receiptsPending.has(recordId)) continue;
      this.#receiptsPending.add(recordId);
      void this.submit(this.signAsOrg('records.erasure-receipt', { recordId })).then((result) => {
        if (!result.ok) this.#receiptsPending.delete(recordId);
      });
    }
  }

  /** Stops committing for good: state can no longer be trusted to advance correctly. */
  halt(reason: string): void {
    this.#halted ??= reason;
    void this.orderer.stop();
  }

  /** Stops ordering and closes storage and workers. */
  async close(): Promise<void> {
    await this.orderer.close();
    this.#waiters.rejectAll(new Error('node closed'));
    await this.pool.close();
    this.store.close();
  }

  /** Hash of the block at `height`, or undefined. */
  blockHash(height: number): string | undefined {
    const header = this.store.header(height);
    return header === undefined ? undefined : blockHashOf(header);
  }
}

function reject(status: SubmitRejection, reason: string): SubmitResult {
  return { ok: false, status, reason };
}

function writeGenesis(store: ChainStore, executor: Executor, keys: OrgKeys, config: NodeConfig): void {
  const founder = { orgId: config.orgId, name: config.orgName, signingKey: toHex(keys.signing.publicKey), encryptionKey: keys.encryptionPublicKey };
  const tx = signTransaction({ type: 'membership.genesis', nonce: 1, body: { network: config.network, orgs: [founder] } }, keys.signing);
  const decoded = decodeTransaction(tx);
  assert(decoded.ok, 'genesis transaction is well-formed');
  const check = () => true;
  const assembled = assembleBlock(store, executor, [decoded], { height: 0, time: Date.now(), proposer: keys.signing.keyId }, check);
  assert.equal(assembled.statuses[0], 'ok', `genesis transaction failed: ${assembled.statuses[0]}`);
  store.commit(assembled.commitFor(signHeader(assembled.header, keys.signing)));
}
