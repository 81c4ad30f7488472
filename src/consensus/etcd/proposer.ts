/**
 * The elected proposer. Every orderer campaigns in an etcd election held by a lease of a few
 * seconds; the winner alone cuts blocks, because a compare-and-swap on one contended key
 * collapses to tens of commits per second. While it leads, it waits until its own node has
 * delivered everything appended so far, cuts the oldest queued transactions (dropping any
 * txId already ordered), has its node build the block, and appends it fenced on its election
 * key. A proposer that loses its lease stops at once; the next one starts from etcd alone.
 */
import type { Campaign, Election, Etcd3, Namespace, Watcher } from 'etcd3';
import { electionNamespace } from './etcd-client.js';
import type { OrderedBatch } from '../orderer.js';
import type { BlockLog, Fence } from './block-log.js';
import type { BlockFollower } from './block-follower.js';
import { ConsumerFailure } from './block-follower.js';
import { lastSegment, prefixEnd, type EtcdKeys } from './etcd-keys.js';
import { compactOnce, type CompactionState } from './compaction.js';
import type { RecentTxIds } from './recent-txids.js';
import { readQueueHead, type QueuedTx } from './tx-queue.js';
import { sleep, Wakeup } from './wakeup.js';

/** What the proposer needs from the orderer. */
export interface ProposerHost {
  readonly nodeId: string;
  readonly leaseTtlSec: number;
  readonly blockTxCountMax: number;
  readonly blockBytesMax: number;
  readonly batchTimeoutMs: number;
  readonly compactIntervalMs: number;
  readonly recent: RecentTxIds;
  /** Has the consumer build the block; throws ConsumerFailure when the consumer fails. */
  propose(batch: OrderedBatch): Promise<Uint8Array>;
  fatal(error: Error): void;
}

const RETRY_MS = 250;
const IDLE_POLL_MS = 250;

/** Campaigns, and cuts blocks while elected. */
export class Proposer {
  #running = false;
  #loop: Promise<void> | undefined;
  #campaign: Campaign | undefined;
  #keepalivePump: NodeJS.Timeout | undefined;
  #stopped!: Promise<void>;
  #signalStop!: () => void;
  readonly #queueChanged = new Wakeup();
  /** When the first transaction not yet cut was queued, as far as the writers watch tells. */
  #firstQueuedAt: number | undefined;
  readonly #compaction: CompactionState;
  readonly #election: Election;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    private readonly log: BlockLog,
    private readonly follower: BlockFollower,
    private readonly host: ProposerHost,
  ) {
    this.#compaction = { intervalMs: host.compactIntervalMs, lastRun: 0, revision: undefined };
    this.#election = client.namespace(keys.root).election('proposer', host.leaseTtlSec);
  }

  /** Where the election's watches live; the orderer ends them when it closes the client. */
  get electionNamespace(): Namespace {
    return electionNamespace(this.#election);
  }

  start(): void {
    this.#running = true;
    this.#stopped = new Promise((resolve) => (this.#signalStop = resolve));
    this.#loop = this.#run();
  }

  /** Stops after the block in flight and resigns, so another orderer takes over at once. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#signalStop();
    this.#queueChanged.notify();
    await this.#loop;
    await this.#campaign?.resign().catch(() => undefined);
  }

  /**
   * Stops renewing the election lease without revoking it, as a killed process would: another
   * orderer is elected once the lease expires. For fault tests.
   */
  async abandon(): Promise<void> {
    clearInterval(this.#keepalivePump);
    // release() stops the keepalives and leaves the lease to expire, which is exactly a crash.
    leaseOf(this.#campaign)?.release();
    this.#running = false;
    this.#signalStop();
    this.#queueChanged.notify();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const campaign = (this.#campaign = this.#election.campaign(this.host.nodeId));
      const lost = new Promise<void>((resolve) => campaign.on('error', () => resolve()));
      try {
        const elected = await Promise.race([
          campaign.wait().then(() => true),
          lost.then(() => false),
          this.#stopped.then(() => false),
        ]);
        if (elected && this.#running) {
          const electionKey = await campaign.getCampaignKey();
          await this.#lead({ electionKey, term: lastSegment(electionKey) }, lost);
        }
      } catch (error) {
        if (error instanceof ConsumerFailure) {
          this.#running = false;
          this.host.fatal(error.error);
          break;
        }
      }
      if (this.#running) {
        await campaign.resign().catch(() => undefined);
        await sleep(RETRY_MS);
      }
    }
  }

  /** Cuts blocks until stopped or the lease is lost. */
  async #lead(fence: Fence, lost: Promise<void>): Promise<void> {
    let leading = true;
    void lost.then(() => {
      leading = false;
      this.#queueChanged.notify();
    });
    this.#keepalivePump = this.#pumpKeepalives();
    const watcher: Watcher = await this.client
      .watch()
      .prefix(this.keys.writers)
      .create()
      .catch((error: unknown) => {
        clearInterval(this.#keepalivePump);
        throw error;
      });
    watcher.on('put', () => {
      this.#firstQueuedAt ??= Date.now();
      this.#queueChanged.notify();
    });
    watcher.on('error', () => undefined);
    try {
      // Blocks appended before this term are delivered first; after that only this proposer appends.
      let caughtUp = false;
      while (this.#running && leading) {
        try {
          if (!(await this.#leadOnce(fence, () => leading, caughtUp))) return;
          caughtUp = true;
        } catch (error) {
          // An unreachable etcd member is not a lost election: the lease decides that. Retry.
          if (error instanceof ConsumerFailure) throw error;
          caughtUp = false;
          await sleep(RETRY_MS);
        }
      }
    } finally {
      clearInterval(this.#keepalivePump);
      await watcher.cancel().catch(() => undefined);
    }
  }

  /**
   * etcd3's lease keepalive runs on one stream, which notices a dead etcd member only after a
   * full lease TTL, by when the lease has expired and the proposer lost its role. While leading,
   * a keepalive is also sent every quarter TTL on a fresh call, which the client routes to a
   * live member.
   */
  #pumpKeepalives(): NodeJS.Timeout {
    const periodMs = (this.host.leaseTtlSec * 1000) / 4;
    const lease = leaseOf(this.#campaign);
    return setInterval(
      () => void lease?.keepaliveOnce({ deadline: Date.now() + periodMs }).catch(() => undefined),
      periodMs,
    );
  }

  /**
   * Cuts one block when one is due; false once this proposer must step down. Unless `caughtUp`,
   * first delivers every block already appended (another proposer's, before this term).
   */
  async #leadOnce(fence: Fence, leading: () => boolean, caughtUp: boolean): Promise<boolean> {
    if (!caughtUp && !(await this.follower.caughtUp())) return false;
    if ((await this.#waitForBatch(leading)) && !(await this.#cutOne(fence))) return false;
    await compactOnce(
      this.client,
      this.keys,
      this.log,
      this.#compaction,
      this.follower.nextHeight - 1,
    );
    return true;
  }

  /**
   * Waits until a block is due: blockTxCountMax queued, or batchTimeoutMs since the first was
   * queued. Under load that is usually already past (they queued while the last block was being
   * made), so the next block is cut at once rather than after another batch timeout.
   */
  async #waitForBatch(leading: () => boolean): Promise<boolean> {
    // Since when the queue holds transactions, fixed by the first count that found some.
    let countedAt: number | undefined;
    while (this.#running && leading()) {
      // Once the oldest transaction not yet cut is due, the queue need not be counted.
      const since = countedAt ?? this.#firstQueuedAt;
      if (since !== undefined && Date.now() >= since + this.host.batchTimeoutMs) return true;
      const count = await this.#queuedCount();
      if (count >= this.host.blockTxCountMax) return true;
      if (count === 0) {
        countedAt = undefined;
        await this.#queueChanged.wait(IDLE_POLL_MS);
        if (Date.now() - this.#compaction.lastRun > this.#compaction.intervalMs) return false;
        continue;
      }
      countedAt ??= this.#firstQueuedAt ?? Date.now();
      await this.#queueChanged.wait(countedAt + this.host.batchTimeoutMs - Date.now());
    }
    return false;
  }

  async #queuedCount(): Promise<number> {
    const response = await this.client.kv.range({
      key: Buffer.from(this.keys.txq),
      range_end: prefixEnd(this.keys.txq),
      count_only: true,
    });
    return Number(response.count);
  }

  /** Cuts, proposes and appends one block; false when leadership was lost. */
  async #cutOne(fence: Fence): Promise<boolean> {
    this.#firstQueuedAt = undefined; // what is queued from here on waits for the next block
    const head = await readQueueHead(
      this.client,
      this.keys,
      this.host.blockTxCountMax,
      this.host.blockBytesMax,
    );
    const fresh = freshEntries(head.entries, this.host.recent);
    if (fresh.length === 0)
      return head.entries.length === 0 || (await this.log.dropQueued(fence, head.lastKeyByWriter));
    const height = this.follower.nextHeight;
    const time = Math.max(Date.now(), this.follower.lastTime);
    const block = await this.host.propose({ height, time, txs: fresh.map((entry) => entry.bytes) });
    const txIds = fresh.map((entry) => entry.txId);
    const manifest = await this.log.append(fence, {
      height,
      time,
      txIds,
      block,
      consumed: head.lastKeyByWriter,
    });
    if (manifest === undefined) return false;
    this.follower.appended(manifest, block);
    return this.follower.reached(height);
  }
}

/** etcd3's Campaign keeps its lease private; the proposer needs it to renew and to abandon it. */
function leaseOf(
  campaign: Campaign | undefined,
): { release(): void; keepaliveOnce(options: { deadline: number }): Promise<unknown> } | undefined {
  return (
    campaign as unknown as
      | {
          lease?: {
            release(): void;
            keepaliveOnce(options: { deadline: number }): Promise<unknown>;
          };
        }
      | undefined
  )?.lease;
}

/** `entries` without txIds ordered before or repeated within the batch. */
function freshEntries(entries: readonly QueuedTx[], recent: RecentTxIds): QueuedTx[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (recent.has(entry.txId) || seen.has(entry.txId)) return false;
    seen.add(entry.txId);
    return true;
  });
}
