/**
 * A ChartChain node: ledger, contracts, storage and orderer wired together. It knows nothing of
 * HTTP; src/api serves it. Every block is executed, committed atomically and, if proposed by
 * someone else, validated field by field first. A node that cannot commit halts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { VerifyPool } from '../crypto/index.js';
import {
  ERASURE_TABLE,
  ERASURES,
  MEMBERSHIP_ROTATE_ENCRYPTION_KEY,
  NONCE_TABLE,
  RECORDS_ERASURE_RECEIPT,
  standardExecutor,
  type WriteSetEntry,
  TX_RECORDS,
  type Executor,
  type Principal,
  type Signer,
  type TxBuilder,
  type TxRecord,
} from '../contracts/index.js';
import { typeAndBody } from './tx-type.js';
import {
  openCheckpointExchange,
  openOrderer,
  OrdererStoppedError,
  OrdererUnavailableError,
  QueueFullError,
  type CheckpointExchange,
  type OrderedBatch,
  type Orderer,
  type OrdererChoice,
} from '../consensus/index.js';
import {
  blockHashOf,
  BlockFormatError,
  decodeBlock,
  decodeTransaction,
  encodeBlockParts,
  signHeader,
  txIdOf,
  type Block,
  type BlockHeader,
  type DecodedTransaction,
  type EnvelopeRejection,
  type JsonObject,
  type Transaction,
} from '../ledger/index.js';
import {
  BlobStore,
  ChainStore,
  CheckpointStore,
  isDiskFull,
  makeOwnerOnly,
  onDamageReported,
  restrictUmask,
  type BlockCommit,
} from '../storage/index.js';
import { collectAfterFailedWrite } from './blob-gc.js';
import { NodeCheckpoints } from './checkpoints.js';
import { LedgerView } from './ledger-view.js';
import { callerAccess, type CallerAccess } from './caller-access.js';
import type { NodeIdentity } from './node-facade.js';
import { BlobAccessIndex } from './blob-access-index.js';
import { NodePeerBlobs } from './peer-blobs.js';
import { anchorsInState, anchorsOf, envelopesOf } from './blob-anchors.js';
import {
  markClosed,
  markOpen,
  removeOpenMark,
  takeClosedMark,
  takeOpenMark,
} from './clean-close.js';
import { PeerBlockSync } from './peer-blocks.js';
import { PeerClient, type PeerTransport } from './peer-client.js';
import { PeerRequestVerifier } from './peer-auth.js';
import { assembleBlockSteps, type AssembledBlock } from '../verifier/index.js';
import { finishing, runSliced, type LedgerWork } from './time-slice.js';
import { BlockValidationError, claimedProposer, validateBlockSteps } from '../verifier/index.js';
import { readNodeConfig, type NodeConfig } from './node-config.js';
import {
  awaitsGenesis,
  CHAIN_FILE,
  checkPinnedGenesis,
  initDataDir,
  type InitOptions,
} from './node-init.js';
import { GenesisError } from './network-genesis.js';
import { cuttingOf, ordererChoice } from './orderer-choice.js';
import { NodeAccess, type ProvenEntry } from './access-api.js';
import { NodeBreakTheGlass, type BreakTheGlassHost } from './break-the-glass-api.js';
import { createPseudonymMap, homePatients, Pseudonyms, type PatientNames } from './pseudonyms.js';
import { NodeConsent } from './consent-api.js';
import { erasureStatus, erasureStatuses, type ErasureStatus } from '../verifier/index.js';
import { loadOrgKeys, rotateEncryptionKey, type OrgKeys } from './org-keys.js';
import { AdmissionVerifier, SignatureCache } from '../verifier/index.js';
import { CommitWaiters } from './commit-waiters.js';
import { recoverState } from './state-recovery.js';
import { NodeRecords } from './records-api.js';
import { LocalSigner } from './local-signer.js';
import { OwnSignatures } from './own-signatures.js';
import { PendingTxs } from './pending-txs.js';

/** Why a submission was refused before ordering. */
export type SubmitRejection =
  | EnvelopeRejection
  | 'unavailable:queue-full'
  | 'unavailable:halted'
  | 'unavailable:disk-full'
  | 'unavailable:ordering';

/** A commit that failed for a full disk is retried after this long, doubling up to the max: the node waits for space instead of halting. */
const COMMIT_RETRY_DELAY_MS = 50;
const COMMIT_RETRY_DELAY_MAX_MS = 1_000;
/** Blobs the index marks anchored per turn of the event loop: about a third of a millisecond. */
const ANCHOR_MARKS_PER_TURN = 64;

/** The answer to a submission. */
export type SubmitResult =
  | { readonly ok: true; readonly txId: string }
  | { readonly ok: false; readonly status: SubmitRejection; readonly reason: string };

/** Where a transaction stands. */
export type TxLookup =
  ({ readonly txId: string } & TxRecord) | { readonly txId: string; readonly status: 'pending' };

const BLOBS_DIR = 'blobs';
const CHECKPOINT_FILE = 'checkpoints.db';
const PSEUDONYMS_FILE = 'pseudonyms.db';
/**
 * The entries of a data directory that a node and its services write: SQLite files (chain,
 * orderer, search index, auth) with their WAL, shared-memory and journal files and in-use
 * markers, node.json, the registered backend clients, the keystore directory and the blobs.
 */
const NODE_ENTRY_PATTERN =
  /^(?:[a-z][a-z0-9-]*\.db(?:-wal|-shm|-journal|\.in-use|\.closed|\.open)?|node\.json|clients\.json|keys|blobs)$/;

function isNodeEntry(name: string): boolean {
  return NODE_ENTRY_PATTERN.test(name);
}

/** How a node is connected to the others; the defaults make a node on its own. */
export interface OpenOptions {
  readonly verifyPoolSize?: number;
  /** The ordering service; by default the embedded solo orderer. `onFatal` halts the node. */
  readonly orderer?: (onFatal: (error: Error) => void) => Orderer;
  /** Where checkpoints are published and heard; by default nowhere (a network of one). */
  readonly checkpoints?: CheckpointExchange;
  /** How peers are reached for blobs; by default HTTP to the endpoints in node.json. */
  readonly peerTransport?: PeerTransport;
}

/** A running node. Create with ChartChainNode.open; stop with close(). */
export class ChartChainNode {
  readonly #waiters = new CommitWaiters();
  readonly #commitListeners: ((writeSet: readonly WriteSetEntry[]) => void)[] = [];
  #commitTimed: ((seconds: number, txCount: number) => void) | undefined;
  #turnTimed: ((work: LedgerWork, seconds: number) => void) | undefined;
  /** Admitted, not yet committed: reused at proposal time instead of decoding again. */
  readonly #pending = new PendingTxs();
  readonly #admission: AdmissionVerifier;
  /** Signatures this node made: admission vouches for them instead of checking them again. */
  readonly #ownSignatures = new OwnSignatures();
  #proposed:
    | { readonly height: number; readonly bytes: Uint8Array; readonly commit: BlockCommit }
    | undefined;
  readonly #org: LocalSigner;
  readonly #peerBlocks: PeerBlockSync;
  #halted: string | undefined;
  #closing = false;
  /** A store was reported damaged while serving: no clean-close record then (see #markOpen). */
  #damageSeen = false;
  #stopMarking: () => void = () => {};
  /** Erasures this organisation has deleted locally and whose receipt is on its way. */
  readonly #receiptsPending = new Set<string>();
  /** Encrypted records: write, read, history and erasure. */
  readonly records: NodeRecords;
  /** The consent-checked, log-before-release read path and the audit trail. */
  readonly access: NodeAccess;
  /** Break-the-glass requests, their review, and their sealed reasons. */
  readonly breakTheGlass: NodeBreakTheGlass;
  /** Consent of custodial patients, and the key sharing that follows a grant. */
  readonly consent: NodeConsent;
  /** This node's checkpoints and everyone else's, and which blocks are final. */
  readonly checkpoints: NodeCheckpoints;
  /** Where the other organisations' nodes answer, and signed requests to them. */
  readonly peers: PeerClient;
  /** Ciphertexts served to and fetched from the other organisations' nodes. */
  readonly peerBlobs: NodePeerBlobs;
  /** Checks the signed requests of peer nodes (GET /peer/blobs/:hash). */
  readonly peerAuth: PeerRequestVerifier;
  /** The ledger ids (pseudonyms) of resources clients name by their own ids. */
  readonly pseudonyms: Pseudonyms;
  /** The FHIR ids and pseudonyms of the patients whose home is this organisation: whom a patient sign-in may act as. */
  readonly homePatients: PatientNames;
  /** Committed state, blocks and proofs, read-only: what the HTTP and FHIR layers read. */
  readonly ledger: LedgerView;
  /** The organisation's public key ids. */
  readonly identity: NodeIdentity;

  private constructor(
    readonly dataDir: string,
    readonly config: NodeConfig,
    readonly keys: OrgKeys,
    readonly store: ChainStore,
    readonly executor: Executor,
    private readonly pool: VerifyPool,
    private readonly signatures: SignatureCache,
    private readonly orderer: Orderer,
    private readonly exchange: CheckpointExchange,
    peerTransport: PeerTransport | undefined,
  ) {
    this.#admission = new AdmissionVerifier(signatures);
    this.ledger = new LedgerView(store);
    this.identity = {
      orgId: config.orgId,
      signingKeyId: keys.signing.keyId,
      holdsEncryptionKey: (publicKey) => keys.encryptionKeys.has(publicKey),
    };
    this.records = new NodeRecords(
      store,
      new BlobStore(join(dataDir, BLOBS_DIR)),
      keys,
      config.orgId,
      (keyId) => this.lastUsedNonce(keyId),
      this.#ownSignatures,
    );
    this.pseudonyms = new Pseudonyms(join(dataDir, PSEUDONYMS_FILE), (failure) => {
      if (failure === undefined) this.records.clearCondition('pseudonyms');
      else
        this.records.raiseCondition(
          isDiskFull(failure) ? 'disk-full' : 'pseudonyms',
          `new FHIR id pairs cannot be written to ${PSEUDONYMS_FILE} (${failure.message}); they are served from memory and learnt again from the chain at the next start`,
        );
    });
    this.homePatients = homePatients(this.pseudonyms, store.state, config.orgId);
    const host: BreakTheGlassHost = {
      chain: store,
      records: this.records,
      orgId: config.orgId,
      signAsOrg: (type, body) => this.signAsOrg(type, body),
      submitAsOrg: (type, body) => this.submitAsOrg(type, body),
      submit: (tx) => this.submit(tx),
      waitForTx: (txId, timeoutMs) => this.waitForTx(txId, timeoutMs),
      submitAndWait: (tx) => this.submitAndWait(tx),
      fetchBlob: (recordId, version) => this.peerBlobs.ensureVersion(recordId, version),
      fetchNote: (note, fromOrg) =>
        this.peerBlobs.ensureBlob(note.ciphertextHash, note.ciphertextSize, fromOrg),
    };
    this.access = new NodeAccess(host);
    this.breakTheGlass = new NodeBreakTheGlass(host);
    this.consent = new NodeConsent(host);
    const checkpointHost = {
      orgId: config.orgId,
      signing: keys.signing,
      state: store.state,
      alarm: (reason: string) => this.records.alarm('checkpoint', reason),
      unpublished: (reason: string | undefined) => this.#checkpointsUnpublished(reason),
      halt: (reason: string) => this.halt(reason),
    };
    this.checkpoints = new NodeCheckpoints(
      CheckpointStore.open(join(dataDir, CHECKPOINT_FILE)),
      exchange,
      checkpointHost,
    );
    const peerHost = {
      orgId: config.orgId,
      blobs: this.records.blobs,
      version: (recordId: string, version: number) => this.records.version(recordId, version),
      alarm: (reason: string) => this.records.alarm('peer', reason),
    };
    this.peers = new PeerClient(config.orgId, keys.signing, config.peers ?? {}, peerTransport);
    this.peerBlobs = new NodePeerBlobs(
      peerHost,
      new BlobAccessIndex((hash) => envelopesOf(store, hash)),
      this.peers,
    );
    this.#peerBlocks = new PeerBlockSync(this.peers, {
      commit: (height, bytes) => this.#deliver(height, bytes),
      alarm: peerHost.alarm,
    });
    this.peerAuth = new PeerRequestVerifier(store.state);
    this.onCommitted((writeSet) => this.peerBlobs.committed(writeSet));
    // Its first nonce is known only once state is recovered and the queue read: see open().
    this.#org = new LocalSigner(keys.signing, 0, this.#ownSignatures);
  }

  /**
   * Creates a data directory: keys, node.json and block 0, from `options.genesis` or, for a node
   * on its own, a one-member genesis; with `options.join`, keys and node.json only.
   * Throws when `dataDir` already holds a node; GenesisError for a genesis not listing it.
   */
  static init(dataDir: string, options: InitOptions): void {
    restrictUmask();
    initDataDir(dataDir, options);
    createPseudonymMap(join(dataDir, PSEUDONYMS_FILE));
    makeOwnerOnly(dataDir, { owns: isNodeEntry });
  }

  /**
   * Opens an initialised data directory and starts ordering. Throws ChainDatabaseDamagedError,
   * before anything commits, when chain.db fails SQLite's quick_check: run unless the node was
   * closed cleanly and chain.db is unchanged since (clean-close.ts).
   */
  static async open(dataDir: string, options: OpenOptions = {}): Promise<ChartChainNode> {
    const config = readNodeConfig(dataDir);
    if (config === undefined)
      throw new Error(`${dataDir} holds no node: run chartchain init first`);
    if (awaitsGenesis(dataDir))
      throw new GenesisError(`${dataDir} has joined no network yet: start it with --genesis FILE`);
    // Health data and keys: whatever this process writes is owner-only, and so is what an older
    // version left world-readable.
    restrictUmask();
    makeOwnerOnly(dataDir, { owns: isNodeEntry, trustedWhenOwnerOnly: [BLOBS_DIR] });
    const executor = standardExecutor();
    const chainPath = join(dataDir, CHAIN_FILE);
    // Both records are taken, whichever says the file needs no check.
    const closed = takeClosedMark(chainPath);
    const killed = takeOpenMark(chainPath);
    const store = ChainStore.openChecked(chainPath, executor.tables, {
      quickCheck: !closed && !killed,
    });
    try {
      checkPinnedGenesis(store, config);
      // The newest header is checked against its stored hash before anything is connected.
      store.head();
    } catch (error) {
      store.close();
      throw error;
    }
    const pool = new VerifyPool(options.verifyPoolSize);
    const owner: { node?: ChartChainNode } = {};
    const onFatal = (error: Error) => owner.node?.halt(error.message);
    const choice = (): OrdererChoice => ordererChoice(dataDir, config);
    const orderer =
      options.orderer?.(onFatal) ?? (await openOrderer(choice(), cuttingOf(config, onFatal)));
    const exchange = options.checkpoints ?? openCheckpointExchange(choice());
    const keys = loadOrgKeys(dataDir);
    const node = (owner.node = new ChartChainNode(
      dataDir,
      config,
      keys,
      store,
      executor,
      pool,
      new SignatureCache(pool),
      orderer,
      exchange,
      options.peerTransport,
    ));
    const head = store.head();
    assert(head !== undefined, 'an initialised node has a genesis block');
    await recoverState(store, executor, node.signatures);
    // Once, for a chain committed before blob_anchor existed; from then on each block keeps it.
    if (!store.blobAnchorsBuilt) store.buildBlobAnchors(anchorsInState(store));
    node.peerBlobs.index.load(store);
    // Signed again after a restart: a crash may have come between a commit and its checkpoint.
    node.checkpoints.committed(store.head()!);
    node.#requeue();
    // Only now does the node know every nonce its key has used: committed in blocks the
    // recovery replayed, or held by acknowledged transactions still queued. Redelivery below
    // may already sign erasure receipts.
    node.#org.resync(node.lastUsedNonce(keys.signing.keyId));
    await orderer.start(node.#consumer(head));
    const erased = store.stateKeys(ERASURE_TABLE);
    node.#confirmErasures(
      erased.map(
        (recordId) => [ERASURE_TABLE, recordId, store.state.get(ERASURE_TABLE, recordId)!] as const,
      ),
    );
    // Also for a map kept from before erased ids were forgotten.
    for (const recordId of erased) node.pseudonyms.erase(recordId);
    node.#markOpen();
    return node;
  }

  /**
   * Records the boot this process runs in (clean-close.ts) once the node is open, and withdraws
   * it whenever the chain database may be damaged: a store reported damaged while serving, or
   * the process exiting on an error. Only a process killed outright leaves it.
   */
  #markOpen(): void {
    const chainPath = join(this.dataDir, CHAIN_FILE);
    markOpen(chainPath);
    const onExit = (code: number) => code !== 0 && removeOpenMark(chainPath);
    process.on('exit', onExit);
    const stopHearing = onDamageReported(() => this.#damaged());
    this.#stopMarking = () => {
      process.off('exit', onExit);
      stopHearing();
    };
  }

  /** A store was found damaged while serving: the next start checks chain.db, whatever the stop. */
  #damaged(): void {
    this.#damageSeen = true;
    removeOpenMark(join(this.dataDir, CHAIN_FILE));
    this.records.raiseCondition(
      'integrity',
      'a node store failed SQLite integrity checks while serving; the next start checks chain.db',
    );
  }

  /**
   * Acknowledged transactions still queued from before a restart count as pending: lookups say
   * so and resubmissions are refused. A queue may still hold the transactions of a block
   * committed just before the restart (its rows go with the next cut): those are not pending.
   */
  #requeue(): void {
    for (const bytes of this.orderer.queued()) {
      const decoded = decodeTransaction(bytes);
      if (decoded.ok && TX_RECORDS.get(this.store.state, decoded.txId) === undefined)
        this.#pending.add(decoded);
    }
  }

  #consumer(head: BlockHeader) {
    return {
      fromHeight: head.height + 1,
      lastTime: head.time,
      propose: (batch: OrderedBatch) => this.#propose(batch),
      deliver: async (height: number, bytes: Uint8Array) => this.#deliverOrdered(height, bytes),
      catchUp: async (fromHeight: number, untilHeight: number) => ({
        nextHeight: await this.#peerBlocks.sync(fromHeight, untilHeight),
        lastTime: this.head().time,
      }),
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

  /** The transactions accepted and not yet committed, requeued ones included: the blob collector keeps what they reference. */
  pendingTransactions(): Transaction[] {
    return [...this.#pending.values()].map((decoded) => decoded.tx);
  }

  /**
   * Admits a transaction: shape, type, replay, signer, nonce and signature are checked against
   * committed state, then it is queued durably for ordering. Resolves once it is durable.
   */
  async submit(input: Uint8Array | string | unknown): Promise<SubmitResult> {
    if (this.#halted !== undefined)
      return { ok: false, status: 'unavailable:halted', reason: `node halted: ${this.#halted}` };
    const decoded = decodeTransaction(input);
    if (!decoded.ok) return decoded;
    const signer = this.#precheck(decoded);
    if ('ok' in signer) return signer;
    const vouched = this.#ownSignatures.take(decoded, signer.publicKey);
    if (!(await this.#admission.verify(decoded, signer.publicKey, vouched)))
      return reject('invalid:bad-signature', 'signature does not verify under the signer key');
    // Checked again after the await: another submission may have been admitted meanwhile.
    if (this.#pending.has(decoded.txId))
      return reject('invalid:duplicate-txid', 'transaction is already pending');
    const pendingNonce = this.#pending.highestNonce(signer.keyId);
    if (pendingNonce !== undefined && decoded.tx.nonce <= pendingNonce)
      return reject(
        'invalid:stale-nonce',
        `nonce must be greater than ${pendingNonce}, held by a pending transaction of this signer`,
      );
    this.#pending.add(decoded);
    try {
      await this.orderer.submit(decoded.bytes);
    } catch (error) {
      this.#pending.delete(decoded.txId);
      if (error instanceof QueueFullError)
        return { ok: false, status: 'unavailable:queue-full', reason: error.message };
      if (isDiskFull(error)) {
        this.records.raiseCondition(
          'disk-full',
          `disk full writing the orderer queue: ${(error as Error).message}`,
        );
        return {
          ok: false,
          status: 'unavailable:disk-full',
          reason: "the node's disk is full; the transaction was not accepted",
        };
      }
      // A node shutting down (or halted) orders nothing more: the caller may retry elsewhere or later.
      if (error instanceof OrdererUnavailableError || error instanceof OrdererStoppedError)
        return { ok: false, status: 'unavailable:ordering', reason: error.message };
      throw error;
    }
    // A durable write just succeeded: whatever filled the disk has passed.
    this.records.clearCondition('disk-full');
    return { ok: true, txId: decoded.txId };
  }

  /** The checks that need only committed state; returns the signer, or the refusal. */
  #precheck(decoded: DecodedTransaction): Signer | SubmitResult {
    const { tx, txId } = decoded;
    if (!this.executor.knowsType(tx.type))
      return reject('invalid:unknown-type', `no contract handles type ${tx.type}`);
    if (this.#pending.has(txId))
      return reject('invalid:duplicate-txid', 'transaction is already pending');
    const signer = this.executor.resolveSigner(this.store.state, decoded, this.#nextBlockContext());
    if (signer === undefined)
      return reject('invalid:unknown-signer', 'signer is not a registered key');
    if (!signer.active)
      return reject('denied:signer-inactive', 'signer is suspended or its organisation removed');
    const lastNonce = this.store.state.get(NONCE_TABLE, signer.keyId);
    if (typeof lastNonce === 'number' && tx.nonce <= lastNonce) {
      // A committed transaction spent its nonce, so a replay always lands here; only then is
      // the txId index consulted, sparing every fresh transaction a lookup that would miss.
      if (TX_RECORDS.get(this.store.state, txId) !== undefined)
        return reject('invalid:duplicate-txid', 'transaction was already committed');
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
    return this.submitAsOrg(MEMBERSHIP_ROTATE_ENCRYPTION_KEY, { encryptionKey });
  }

  /** The access path for one request's caller and purpose (the FHIR and HTTP layers' only way in). */
  as(principal: Principal, purpose: string): CallerAccess {
    return callerAccess(this.access, principal, purpose);
  }

  /** `patientId`'s audit trail from `fromSeq`, each entry with its inclusion proof. */
  trail(patientId: string, options: Parameters<NodeAccess['trail']>[1] = {}): ProvenEntry[] {
    return this.access.trail(patientId, options);
  }

  /**
   * After a write failed part way: deletes the ciphertexts of `refused` (when its block refused
   * it) and, at most once per collector interval, collects orphan blobs.
   */
  collectAfterFailedWrite(refused?: Transaction): void {
    collectAfterFailedWrite(this, refused);
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

  /** Signs a transaction of `schema`'s type, built from `value`, with this organisation's key and the next organisation nonce. */
  signAsOrg<Body>(schema: TxBuilder<Body>, value: NoInfer<Body>): Transaction;
  /** Signs a free-form `type` and `body` so: for what must send a body no schema builds. */
  signAsOrg(type: string, body: JsonObject): Transaction;
  signAsOrg(typeOrSchema: string | TxBuilder<never>, value: unknown): Transaction {
    const { type, body } = typeAndBody(typeOrSchema, value);
    return this.#org.sign(type, body);
  }

  /**
   * Signs as the organisation and submits. A refusal for a stale nonce (the key signed
   * elsewhere too, or a nonce the signer could not know of) resynchronises the signer with the
   * ledger and retries once, so the caller, often a read waiting on its access log, is not
   * failed for the node's own bookkeeping.
   */
  submitAsOrg<Body>(schema: TxBuilder<Body>, value: NoInfer<Body>): Promise<SubmitResult>;
  submitAsOrg(type: string, body: JsonObject): Promise<SubmitResult>;
  async submitAsOrg(
    typeOrSchema: string | TxBuilder<never>,
    value: unknown,
  ): Promise<SubmitResult> {
    const { type, body } = typeAndBody(typeOrSchema, value);
    const first = await this.submit(this.signAsOrg(type, body));
    if (first.ok || first.status !== 'invalid:stale-nonce') return first;
    this.#org.resync(this.lastUsedNonce(this.keys.signing.keyId));
    return this.submit(this.signAsOrg(type, body));
  }

  /** The highest nonce of signer `keyId` that is committed or held by a pending transaction; 0 for none. */
  lastUsedNonce(keyId: string): number {
    const committed = this.store.state.get(NONCE_TABLE, keyId);
    return Math.max(
      typeof committed === 'number' ? committed : 0,
      this.#pending.highestNonce(keyId) ?? 0,
    );
  }

  /** Where `txId` stands: committed (with height, leaf index and status), pending, or unknown. */
  lookupTx(txId: string): TxLookup | undefined {
    const record = TX_RECORDS.get(this.store.state, txId);
    if (record !== undefined) return { txId, ...record };
    return this.#pending.has(txId) ? { txId, status: 'pending' } : undefined;
  }

  /**
   * Submits `tx` and waits for its block. Resolves with the status that decided it: the
   * admission refusal, or the committed status ('ok', or why the contract refused it); with
   * the txId whenever it was admitted.
   */
  async submitAndWait(
    tx: Transaction,
    timeoutMs?: number,
  ): Promise<{ status: string; txId?: string }> {
    const submitted = await this.submit(tx);
    if (!submitted.ok) return { status: submitted.status };
    return {
      status: (await this.waitForTx(submitted.txId, timeoutMs)).status,
      txId: submitted.txId,
    };
  }

  /** Resolves with the committed record of `txId`; rejects after `timeoutMs`. */
  async waitForTx(txId: string, timeoutMs = 30_000): Promise<TxRecord> {
    const waiting = this.#waiters.wait(txId, timeoutMs);
    const record = TX_RECORDS.get(this.store.state, txId);
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
    await this.signatures.preverify(
      this.executor,
      this.store.state,
      unverified,
      this.#nextBlockContext(),
    );
    const keyId = this.keys.signing.keyId;
    const steps = assembleBlockSteps(
      this.store,
      this.executor,
      txs,
      { height: batch.height, time: batch.time, proposer: keyId },
      this.signatures.check,
    );
    const sealed = (assembled: AssembledBlock): Uint8Array => {
      const header = signHeader(assembled.header, this.keys.signing);
      const commit = assembled.commitFor(header);
      const bytes = encodeBlockParts(header, commit.txs);
      this.#proposed = { height: batch.height, bytes, commit };
      return bytes;
    };
    return runSliced(finishing(steps, sealed), this.#sliceTimed);
  }

  /**
   * A block from the orderer. One that fails validation is final in the ordering log and
   * cannot be skipped without forking, so the orderer halts this node; first an alarm names the
   * organisation whose node the block claims proposed it.
   */
  async #deliverOrdered(height: number, bytes: Uint8Array): Promise<void> {
    try {
      await this.#deliver(height, bytes);
    } catch (error) {
      if (error instanceof BlockValidationError || error instanceof BlockFormatError) {
        this.records.alarm(
          'peer',
          `block ${height} from the orderer, proposed by ${claimedProposer(this.store, bytes)}, fails validation (${error.message}): refused; this node halts`,
        );
      }
      throw error;
    }
  }

  async #deliver(height: number, bytes: Uint8Array): Promise<void> {
    const proposed = this.#proposed;
    this.#proposed = undefined;
    // The solo orderer hands back the very bytes we proposed; any other block is re-executed.
    if (
      proposed !== undefined &&
      proposed.height === height &&
      (proposed.bytes === bytes || Buffer.compare(proposed.bytes, bytes) === 0)
    ) {
      await this.#commit(proposed.commit);
      return;
    }
    const decoded = decodeBlock(bytes);
    await this.signatures.preverify(
      this.executor,
      this.store.state,
      decoded.txs,
      this.#nextBlockContext(),
    );
    await this.#commit(
      await runSliced(
        validateBlockSteps(this.store, this.executor, decoded, this.signatures.check),
        this.#sliceTimed,
      ),
    );
  }

  /**
   * Writes the block, waiting out a full disk: the block's SQLite transaction rolls back whole,
   * so it is retried with backoff (under a disk-full alarm) rather than halting the node, and
   * every acknowledged transaction in it commits once space is freed. Any other failure throws,
   * and the orderer halts the node.
   */
  async #storeCommit(commit: BlockCommit): Promise<void> {
    for (
      let delayMs = COMMIT_RETRY_DELAY_MS;
      ;
      delayMs = Math.min(2 * delayMs, COMMIT_RETRY_DELAY_MAX_MS)
    ) {
      try {
        const started = performance.now();
        await this.store.commit(commit);
        this.#commitTimed?.((performance.now() - started) / 1000, commit.txs.length);
        return;
      } catch (error) {
        if (!isDiskFull(error) || this.#closing) throw error;
        this.records.raiseCondition(
          'disk-full',
          `disk full committing block ${commit.header.height}: ${(error as Error).message}; retrying`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  async #commit(executed: BlockCommit): Promise<void> {
    const commit = { ...executed, anchors: anchorsOf(executed.writeSet) };
    await this.#storeCommit(commit);
    this.records.clearCondition('disk-full');
    // Applying the block's state to the overlay took most of a slice's worth of this turn; what
    // follows (about as much again for a block of 150 creates) waits for the next.
    await nextTurn();
    const following = performance.now();
    // Only a hint for the orphan collector, and SQLite transactions on the main thread: in
    // turns of their own, not in the one that answers the writers.
    const anchored = commit.anchors.map(([hash]) => hash);
    setImmediate(() => this.#markAnchored(commit.header.height, anchored));
    this.#keepCheckpoint(commit.header);
    this.#confirmErasures(commit.writeSet);
    for (const listener of this.#commitListeners) listener(commit.writeSet);
    // After the listeners: the search index forgets an erased record under its FHIR id.
    for (const [table, recordId, value] of commit.writeSet)
      if (ERASURES.rowOf(table, value) !== undefined) this.pseudonyms.erase(recordId);
    void this.consent
      .shareCommitted(commit.writeSet)
      .catch((error: unknown) => this.records.alarm('key-sharing', String(error)));
    const txIds = commit.txs.map(({ txId }) => txId);
    this.signatures.forget(txIds);
    for (const txId of txIds) {
      this.#pending.delete(txId);
      const record = TX_RECORDS.get(this.store.state, txId);
      if (record !== undefined) this.#waiters.resolve(txId, record);
    }
    this.#turnTimed?.('follow', (performance.now() - following) / 1000);
  }

  /**
   * Calls `observer` with how long each stretch of ledger work held the event loop without a
   * break, in seconds, from now on: how /metrics shows that requests never wait long behind the
   * ledger. The kinds of work are a block's execution, slice by slice (a proposal's signing and
   * encoding in the last); handing a block to the writer thread; applying a committed block's
   * state; what follows a commit in the next turn (listeners, the writers' answers); marking
   * blobs anchored; and handing a savepoint to the writer thread, part by part. Two stretches
   * may share a turn (a block's last slice and its hand-off).
   */
  observeLedgerTurns(observer: (work: LedgerWork, seconds: number) => void): void {
    this.#turnTimed = observer;
    this.store.observeTurns(observer);
  }

  readonly #sliceTimed = (seconds: number): void => this.#turnTimed?.('execute', seconds);

  /**
   * Calls `observer` with the seconds each block's durable commit took (SQLite transaction and
   * its fsync) and its transaction count, from now on: how /metrics reports commit latency.
   */
  observeCommits(observer: (seconds: number, txCount: number) => void): void {
    this.#commitTimed = observer;
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
      // A failure (the node closing, say) leaves the receipt to the next start, which signs any missing.
      void this.submitAsOrg(RECORDS_ERASURE_RECEIPT, { recordId }).then(
        (result) => {
          if (!result.ok) this.#receiptsPending.delete(recordId);
        },
        () => this.#receiptsPending.delete(recordId),
      );
    }
  }

  /** Stops committing for good: state can no longer be trusted to advance correctly. */
  halt(reason: string): void {
    this.#halted ??= reason;
    // What made the node halt may be damage: the next start checks the chain database.
    removeOpenMark(join(this.dataDir, CHAIN_FILE));
    void this.orderer.stop();
  }

  #checkpointsUnpublished(reason: string | undefined): void {
    if (reason === undefined) this.records.clearCondition('checkpoint-publish');
    else this.records.raiseCondition('checkpoint-publish', reason);
  }

  /** Stops ordering and closes storage and workers. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.orderer.close();
    this.#waiters.rejectAll(new Error('node closed'));
    await this.pool.close();
    await this.records.close();
    this.checkpoints.close();
    await this.exchange.close?.();
    await this.pseudonyms.close();
    await this.store.stopWriting();
    this.store.close();
    this.#stopMarking();
    if (this.#halted !== undefined || this.#damageSeen) return;
    markClosed(join(this.dataDir, CHAIN_FILE));
    removeOpenMark(join(this.dataDir, CHAIN_FILE));
  }

  /**
   * Signs and keeps this node's checkpoint of a block just committed. The block is durable, so a
   * full disk here must not fail its delivery: the orderer would deliver it again, its commit
   * would meet the stored block, and the node would halt. It is reported instead, and the next
   * block's checkpoint supersedes this one.
   */
  #keepCheckpoint(header: BlockHeader): void {
    try {
      this.checkpoints.committed(header);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.records.raiseCondition(
        'disk-full',
        `disk full keeping the checkpoint of block ${header.height}: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Tells the blob index which blobs block `height` anchored, ANCHOR_MARKS_PER_TURN a turn.
   * That only spares the orphan collector a lookup per blob, so a failure here (a full disk, a
   * damaged index) is reported, not fatal to the node: a standing alarm until a later block's
   * mark succeeds. The hashes left unmarked are checked by the collector.
   */
  #markAnchored(height: number, hashes: readonly string[], from = 0): void {
    if (this.#closing) return; // The collector checks unmarked blobs itself, one lookup each.
    const to = from + ANCHOR_MARKS_PER_TURN;
    const marking = performance.now();
    try {
      this.records.blobs.markAnchored(hashes.slice(from, to));
      if (hashes.length > 0) this.#turnTimed?.('anchor', (performance.now() - marking) / 1000);
      this.records.clearCondition('blob-index');
      if (hashes.length > to) setImmediate(() => this.#markAnchored(height, hashes, to));
    } catch (error) {
      const message = (error as Error).message;
      this.records.raiseCondition(
        isDiskFull(error) ? 'disk-full' : 'blob-index',
        `the blob index could not mark the blobs of block ${height} anchored: ${message}`,
      );
    }
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
