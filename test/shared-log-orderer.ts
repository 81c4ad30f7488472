/**
 * Test support (not a test): one in-memory ordered log shared by several nodes in one process,
 * standing in for the etcd ordering service. Every node submits into the shared queue; only the
 * designated proposer's consumer builds blocks; every node receives every block, in order.
 */
import type { BlockConsumer, Orderer } from '../src/consensus/index.js';

/** The shared log and queue. Blocks start at height 1: block 0 comes from the genesis file. */
export class SharedLog {
  readonly blocks: Uint8Array[] = [];
  readonly #queue: Uint8Array[] = [];
  readonly #members: SharedLogOrderer[] = [];
  #lastTime = 0;
  #cutting: Promise<void> | undefined;

  constructor(private readonly batchTimeoutMs = 5) {}

  /** An orderer on this log for one node; `proposer` marks the node that builds blocks. */
  orderer(proposer: boolean): SharedLogOrderer {
    const member = new SharedLogOrderer(this, proposer);
    this.#members.push(member);
    return member;
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  submit(tx: Uint8Array): void {
    this.#queue.push(tx);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#cutting !== undefined) return;
    this.#cutting = new Promise<void>((resolve) => setTimeout(resolve, this.batchTimeoutMs))
      .then(() => this.#cut())
      // A proposer closing mid-block fails its proposal; the block is simply never cut.
      .catch(() => {})
      .finally(() => {
        this.#cutting = undefined;
        // Without a proposer (its node closed) nothing can be cut: stop rather than spin, which
        // would keep the test process alive.
        if (this.#queue.length > 0 && this.#hasProposer()) this.#schedule();
      });
  }

  /** Resolves once no block is being cut: a node closing waits for it before its workers stop. */
  async idle(): Promise<void> {
    await this.#cutting;
  }

  #hasProposer(): boolean {
    return this.#members.some((member) => member.proposer && member.consumer !== undefined);
  }

  async #cut(): Promise<void> {
    const proposer = this.#members.find(
      (member) => member.proposer && member.consumer !== undefined,
    );
    if (proposer === undefined || this.#queue.length === 0) return;
    const txs = this.#queue.splice(0);
    this.#lastTime = Math.max(Date.now(), this.#lastTime, proposer.consumer!.lastTime);
    const bytes = await proposer.consumer!.propose({
      height: this.blocks.length + 1,
      time: this.#lastTime,
      txs,
    });
    this.blocks.push(bytes);
    await Promise.all(this.#members.map((member) => member.catchUp()));
  }
}

/** One node's view of a SharedLog. */
export class SharedLogOrderer implements Orderer {
  consumer: BlockConsumer | undefined;
  /** Why this node stopped receiving blocks, if it did. */
  failure: unknown;
  #next = 1;
  #delivering: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: SharedLog,
    readonly proposer: boolean,
  ) {}

  async submit(tx: Uint8Array): Promise<void> {
    this.log.submit(tx);
  }

  get pendingCount(): number {
    return this.log.queueLength;
  }

  queued(): Uint8Array[] {
    return [];
  }

  async start(consumer: BlockConsumer): Promise<void> {
    this.consumer = consumer;
    this.#next = consumer.fromHeight;
    await this.catchUp();
  }

  /** Delivers every block of the log this node has not received, in order. */
  catchUp(): Promise<void> {
    this.#delivering = this.#delivering.then(async () => {
      try {
        while (this.consumer !== undefined && this.#next <= this.log.blocks.length) {
          const height = this.#next;
          await this.consumer.deliver(height, this.log.blocks[height - 1]!);
          this.#next = height + 1;
        }
      } catch (error) {
        this.failure = error;
        this.consumer = undefined;
      }
    });
    return this.#delivering;
  }

  async stop(): Promise<void> {
    this.consumer = undefined;
  }

  /** Stops delivering, once the block being cut or delivered has landed. */
  async close(): Promise<void> {
    await this.log.idle();
    this.consumer = undefined;
    await this.#delivering;
  }
}
