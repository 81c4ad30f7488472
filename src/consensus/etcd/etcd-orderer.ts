/**
 * The etcd orderer (DESIGN.md, Ordering): one etcd cluster, a member per organisation, is the
 * Raft ordering service. Every node's orderer appends submissions to a queue in etcd, campaigns
 * to be the proposer, and delivers every appended block from etcd to its node, once and in
 * height order. What is acknowledged when:
 *   - submit resolves once the transaction is in etcd's queue (a quorum has it);
 *   - a block is ordered once its manifest is in etcd; every node then delivers it;
 *   - a node's committed height is in its SQLite, published to etcd for compaction.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { ETCD_BLOCK_BYTES_MAX, TX_BYTES_MAX, txIdOf } from '../../ledger/index.js';
import {
  OrdererStoppedError,
  QueueFullError,
  type BlockConsumer,
  type OrderedBatch,
  type Orderer,
  type OrdererOptions,
} from '../orderer.js';
import { BlockLog, type Manifest } from './block-log.js';
import { BlockFollower, ConsumerFailure } from './block-follower.js';
import { COMPACT_INTERVAL_MS } from './compaction.js';
import { closeEtcd, connectEtcd } from './etcd-client.js';
import { EtcdKeys } from './etcd-keys.js';
import { Proposer } from './proposer.js';
import { RecentTxIds } from './recent-txids.js';
import { readQueueHead, TxQueueWriter, type QueuedTx } from './tx-queue.js';

/** The etcd adapter's options on top of the shared ones. */
export interface EtcdOrdererOptions extends OrdererOptions {
  /** Client URLs of the etcd members, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[];
  /** The network's key space in etcd; every node of one network uses the same. */
  readonly namespace: string;
  /** This node, unique in the network (the organisation id). */
  readonly nodeId: string;
  /** Lease of the proposer election: how long a dead proposer holds the role. Default 2 s. */
  readonly leaseTtlSec?: number;
  /** Cap on the transaction bytes of one block (at least one transaction is always taken). Default 8 MiB. */
  readonly blockBytesMax?: number;
  /** How often the proposer deletes blocks every node has committed and compacts etcd. Default 5 s. */
  readonly compactIntervalMs?: number;
}

const DEFAULT_LEASE_TTL_SEC = 2;

/** Orders transactions through etcd; see the module comment. */
export class EtcdOrderer implements Orderer {
  readonly #keys: EtcdKeys;
  readonly #log: BlockLog;
  readonly #writer: TxQueueWriter;
  readonly #recent = new RecentTxIds();
  /** txId → how many submissions through this node await it. */
  readonly #pending = new Map<string, number>();
  #queuedAtOpen: QueuedTx[];
  #follower: BlockFollower | undefined;
  #proposer: Proposer | undefined;
  #consumer: BlockConsumer | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdOrdererOptions,
    queued: QueuedTx[],
  ) {
    this.#keys = new EtcdKeys(options.namespace);
    this.#log = new BlockLog(client, this.#keys);
    this.#writer = new TxQueueWriter(
      client,
      this.#keys,
      `${options.nodeId}.${randomBytes(6).toString('hex')}`,
    );
    this.#queuedAtOpen = queued;
  }

  /**
   * Connects and reads the queue. Throws RangeError on inconsistent options, and the client's
   * error when etcd cannot be reached.
   */
  static async open(options: EtcdOrdererOptions): Promise<EtcdOrderer> {
    if (!(
      options.blockTxCountMax >= 1 &&
      options.batchTimeoutMs >= 0 &&
      options.pendingTxCountMax >= options.blockTxCountMax
    )) {
      throw new RangeError(
        'options need blockTxCountMax ≥ 1, batchTimeoutMs ≥ 0, pendingTxCountMax ≥ blockTxCountMax',
      );
    }
    const keys = new EtcdKeys(options.namespace);
    keys.committedOf(options.nodeId);
    const client = connectEtcd(options.endpoints);
    try {
      const queue = await readQueueHead(client, keys, Number.MAX_SAFE_INTEGER);
      return new EtcdOrderer(client, options, queue.entries);
    } catch (error) {
      closeEtcd(client);
      throw error;
    }
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  queued(): Uint8Array[] {
    return this.#queuedAtOpen
      .filter((entry) => !this.#recent.has(entry.txId))
      .map((entry) => entry.bytes);
  }

  submit(tx: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new OrdererStoppedError());
    if (tx.length > TX_BYTES_MAX)
      return Promise.reject(new RangeError(`tx must be at most ${TX_BYTES_MAX} bytes`));
    const txId = txIdOf(tx);
    if (this.#recent.has(txId)) return Promise.resolve();
    if (!this.#pending.has(txId) && this.#pending.size >= this.options.pendingTxCountMax)
      return Promise.reject(new QueueFullError(this.options.pendingTxCountMax));
    this.#pending.set(txId, (this.#pending.get(txId) ?? 0) + 1);
    return this.#writer.append(tx).catch((error: unknown) => {
      this.#release(txId);
      throw error;
    });
  }

  #release(txId: string): void {
    const count = (this.#pending.get(txId) ?? 1) - 1;
    if (count > 0) this.#pending.set(txId, count);
    else this.#pending.delete(txId);
  }

  async start(consumer: BlockConsumer): Promise<void> {
    assert(this.#follower === undefined && !this.#closed, 'etcd orderer started twice');
    this.#consumer = consumer;
    const nodeId = this.options.nodeId;
    const follower = new BlockFollower(
      this.client,
      this.#keys,
      this.#log,
      {
        nodeId,
        recent: this.#recent,
        deliver: (manifest, block) => this.#deliver(manifest, block),
        ...(consumer.catchUp === undefined
          ? {}
          : {
              catchUp: (from: number, until: number) =>
                this.#exclusive((target) => target.catchUp!(from, until)),
            }),
        fatal: (error) => this.#fatal(error),
      },
      { height: consumer.fromHeight, time: consumer.lastTime },
    );
    this.#follower = follower;
    await follower.start();
    this.#proposer = new Proposer(this.client, this.#keys, this.#log, follower, {
      nodeId,
      leaseTtlSec: this.options.leaseTtlSec ?? DEFAULT_LEASE_TTL_SEC,
      blockTxCountMax: this.options.blockTxCountMax,
      blockBytesMax: this.options.blockBytesMax ?? ETCD_BLOCK_BYTES_MAX,
      batchTimeoutMs: this.options.batchTimeoutMs,
      compactIntervalMs: this.options.compactIntervalMs ?? COMPACT_INTERVAL_MS,
      recent: this.#recent,
      propose: (batch) => this.#propose(batch),
      fatal: (error) => this.#fatal(error),
    });
    this.#proposer.start();
  }

  /** Consumer calls never overlap: a node builds and commits one block at a time. */
  #exclusive<T>(call: (consumer: BlockConsumer) => Promise<T>): Promise<T> {
    const run = this.#serial.then(async () => {
      try {
        return await call(this.#consumer!);
      } catch (error) {
        throw new ConsumerFailure(error as Error);
      }
    });
    this.#serial = run.catch(() => undefined);
    return run;
  }

  #propose(batch: OrderedBatch): Promise<Uint8Array> {
    return this.#exclusive((consumer) => consumer.propose(batch));
  }

  async #deliver(manifest: Manifest, block: Uint8Array): Promise<void> {
    await this.#exclusive((consumer) => consumer.deliver(manifest.height, block));
    for (const txId of manifest.txIds) this.#pending.delete(txId);
  }

  #fatal(error: Error): void {
    void this.stop();
    if (this.options.onFatal !== undefined) this.options.onFatal(error);
    else
      process.nextTick(() => {
        throw error;
      });
  }

  async stop(): Promise<void> {
    const proposer = this.#proposer;
    const follower = this.#follower;
    await proposer?.stop();
    await follower?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.#closed = true;
    await this.#writer.flushed();
    this.#closeClient();
  }

  /**
   * For fault tests: stops as kill -9 would, without resigning the election or finishing
   * anything, so other orderers take over only once the lease expires.
   */
  async crash(): Promise<void> {
    this.#closed = true;
    const stopped = Promise.allSettled([this.#proposer?.abandon(), this.#follower?.stop()]);
    this.#closeClient();
    await stopped;
  }

  #closeClient(): void {
    closeEtcd(this.client, this.#proposer === undefined ? [] : [this.#proposer.electionNamespace]);
  }
}
