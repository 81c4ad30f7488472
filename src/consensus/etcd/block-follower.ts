/**
 * Every node's delivery loop: catches up from its next height with paged reads of manifests and
 * parts, delivers each block once and in order, then waits on a watch of the small `head` key
 * (never on block values) and catches up again. It publishes the height it has committed under
 * `committed/<nodeId>`, which is what compaction waits for.
 */
import type { Etcd3, Watcher } from 'etcd3';
import type { BlockLog, Manifest } from './block-log.js';
import type { EtcdKeys } from './etcd-keys.js';
import type { RecentTxIds } from './recent-txids.js';
import { sleep, Wakeup } from './wakeup.js';

/** The consumer failed a delivery; the orderer stops (it is not an etcd fault). */
export class ConsumerFailure extends Error {
  constructor(readonly error: Error) {
    super(error.message, { cause: error });
    this.name = 'ConsumerFailure';
  }
}

/** The blocks this node needs were compacted away and its consumer cannot fetch them elsewhere. */
export class CompactedError extends Error {
  constructor(
    readonly nextHeight: number,
    readonly floor: number,
  ) {
    super(
      `block ${nextHeight} is no longer in etcd (oldest kept: ${floor}) and this node cannot fetch it from peers`,
    );
    this.name = 'CompactedError';
  }
}

/** What the follower needs from the orderer. */
export interface FollowerHost {
  readonly nodeId: string;
  readonly recent: RecentTxIds;
  /** Delivers one block to the consumer; throws ConsumerFailure when the consumer fails. */
  deliver(manifest: Manifest, block: Uint8Array): Promise<void>;
  /** Has the consumer commit blocks etcd no longer holds (BlockConsumer.catchUp); throws ConsumerFailure when it fails. */
  readonly catchUp?: (
    fromHeight: number,
    untilHeight: number,
  ) => Promise<{ readonly nextHeight: number; readonly lastTime: number }>;
  /** Stops the orderer for good with `error`. */
  fatal(error: Error): void;
}

const IDLE_POLL_MS = 250;
const RETRY_MS = 200;
const PRIME_HEIGHTS = 1_024;

/** Delivers blocks from etcd, in order, from the consumer's next height. */
export class BlockFollower {
  #next: number;
  #lastTime: number;
  #running = false;
  #loop: Promise<void> | undefined;
  #watcher: Watcher | undefined;
  #published = -1;
  readonly #wake = new Wakeup();
  readonly #progress = new Wakeup();
  /** The block this node's proposer just appended, delivered without reading it back from etcd. */
  #appended: { readonly manifest: Manifest; readonly block: Uint8Array } | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    private readonly log: BlockLog,
    private readonly host: FollowerHost,
    from: { readonly height: number; readonly time: number },
  ) {
    this.#next = from.height;
    this.#lastTime = from.time;
  }

  /** The next height this node has not delivered. */
  get nextHeight(): number {
    return this.#next;
  }

  /** Time of the newest delivered block. */
  get lastTime(): number {
    return this.#lastTime;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Commits from peers whatever etcd no longer holds (a node joining late), learns the txIds of
   * the blocks just below the start height, then starts delivering.
   */
  async start(): Promise<void> {
    this.#running = true;
    const floor = (await this.log.floor()) ?? this.#next;
    if (floor > this.#next && this.host.catchUp !== undefined) await this.#fromPeers(floor);
    for await (const manifest of this.log.manifests(
      Math.max(floor, this.#next - PRIME_HEIGHTS),
      this.#next,
    ))
      this.host.recent.add(manifest.txIds);
    this.#watcher = await this.client.watch().key(this.keys.head).create();
    this.#watcher.on('put', () => this.#wake.notify());
    this.#watcher.on('error', () => undefined);
    this.#loop = this.#run();
  }

  /** Stops after the delivery in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake.notify();
    this.#progress.notify();
    await this.#loop;
    await this.#watcher?.cancel().catch(() => undefined);
    this.#watcher = undefined;
  }

  /**
   * Takes the block this node's proposer has just appended (its manifest is in etcd), so that it
   * is delivered from memory rather than read back; the same bytes, in the same order.
   */
  appended(manifest: Manifest, block: Uint8Array): void {
    this.#appended = { manifest, block };
    this.#wake.notify();
  }

  /** Resolves once every block up to `height` is delivered; false if the follower stopped first. */
  async reached(height: number): Promise<boolean> {
    while (this.#next <= height) {
      if (!this.#running) return false;
      await this.#progress.wait(IDLE_POLL_MS);
    }
    return true;
  }

  /** Resolves once this node has delivered everything appended so far; false if stopped first. */
  async caughtUp(): Promise<boolean> {
    return this.reached(await this.log.head());
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        if (!(await this.#catchUp())) await this.#wake.wait(IDLE_POLL_MS);
      } catch (error) {
        if (error instanceof ConsumerFailure || error instanceof CompactedError) {
          this.#running = false;
          this.#progress.notify();
          this.host.fatal(error instanceof ConsumerFailure ? error.error : error);
          return;
        }
        await sleep(RETRY_MS);
      }
    }
  }

  /** Delivers every block appended after the next height; false when there was none. */
  async #catchUp(): Promise<boolean> {
    const own = this.#appended;
    this.#appended = undefined;
    if (own?.manifest.height === this.#next) {
      await this.#deliver(own.manifest, own.block);
      await this.#publish();
      return true;
    }
    const head = await this.log.head();
    if (head < this.#next) return false;
    const before = this.#next;
    for await (const manifest of this.log.manifests(this.#next, head + 1)) {
      if (manifest.height !== this.#next) break;
      const block = await this.log.block(manifest);
      if (!this.#running) return true;
      await this.#deliver(manifest, block);
    }
    if (this.#next === before) {
      const floor = await this.log.floor();
      if (floor === undefined || floor <= this.#next) return false;
      await this.#fromPeers(floor);
    }
    await this.#publish();
    return true;
  }

  async #deliver(manifest: Manifest, block: Uint8Array): Promise<void> {
    await this.host.deliver(manifest, block);
    this.host.recent.add(manifest.txIds);
    this.#next += 1;
    this.#lastTime = Math.max(this.#lastTime, manifest.time);
    this.#progress.notify();
  }

  /** Has the consumer commit every block below `floor`, which etcd no longer holds. */
  async #fromPeers(floor: number): Promise<void> {
    if (this.host.catchUp === undefined) throw new CompactedError(this.#next, floor);
    const { nextHeight, lastTime } = await this.host.catchUp(this.#next, floor);
    this.#next = nextHeight;
    this.#lastTime = Math.max(this.#lastTime, lastTime);
    this.#progress.notify();
  }

  /** Publishes the committed height; a failure only delays compaction. */
  async #publish(): Promise<void> {
    const height = this.#next - 1;
    if (height <= this.#published) return;
    await this.client.put(this.keys.committedOf(this.host.nodeId)).value(String(height));
    this.#published = height;
  }
}
