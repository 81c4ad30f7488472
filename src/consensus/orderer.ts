/**
 * The ordering service interface (DESIGN.md, Ordering). Two adapters implement it and pass
 * one conformance suite: `solo` (in-process, the default) and `etcd` (Raft across
 * organisations). The orderer decides which transactions form block h and its time; the
 * elected proposer turns that batch into a signed block; every node receives every block
 * exactly once, in height order.
 */

/** Transactions the orderer cut for one height, with the orderer's time for the block. */
export interface OrderedBatch {
  readonly height: number;
  /** Milliseconds since the Unix epoch; never less than the previous block's time. */
  readonly time: number;
  readonly txs: readonly Uint8Array[];
}

/** What the node gives the orderer: where to resume, how to build a block, how to commit one. */
export interface BlockConsumer {
  /** The next height this node has not committed. Delivery starts here. */
  readonly fromHeight: number;
  /** Time of the node's newest committed block, so block time never goes backwards across restarts. */
  readonly lastTime: number;
  /**
   * On the elected proposer only: execute `batch` and return the encoded, signed block. Nothing
   * of it may be visible until it is delivered: an orderer may propose a batch it then drops.
   */
  propose(batch: OrderedBatch): Promise<Uint8Array>;
  /** Commit the block at `height`. Called once per height, in order; resolves once durable. */
  deliver(height: number, block: Uint8Array): Promise<void>;
  /**
   * Commits the blocks from `fromHeight` below `untilHeight` from elsewhere (the other
   * organisations' nodes), validating each: an orderer that keeps only recent blocks calls this
   * for older ones. Resolves with the next height not committed and the newest block's time.
   * A consumer without it cannot start behind the orderer's oldest block.
   */
  catchUp?(
    fromHeight: number,
    untilHeight: number,
  ): Promise<{ readonly nextHeight: number; readonly lastTime: number }>;
}

/** Refused because the queue is full; the caller should retry later (HTTP 503). */
export class QueueFullError extends Error {
  constructor(readonly pendingTxCountMax: number) {
    super(`ordering queue is full (${pendingTxCountMax} transactions waiting)`);
    this.name = 'QueueFullError';
  }
}

/** Refused because the orderer is not running. */
export class OrdererStoppedError extends Error {
  constructor() {
    super('orderer is stopped');
    this.name = 'OrdererStoppedError';
  }
}

/**
 * Refused because the ordering service cannot be reached (etcd down or without quorum). Nothing
 * was acknowledged; the caller should retry after `retryAfterSec` (HTTP 503 + Retry-After). The
 * orderer reconnects by itself.
 */
export class OrdererUnavailableError extends Error {
  constructor(
    readonly retryAfterSec: number,
    cause?: unknown,
  ) {
    super(`ordering service unreachable; retry in ${retryAfterSec} s`, { cause });
    this.name = 'OrdererUnavailableError';
  }
}

/** Block cutting and queue bounds, shared by every adapter. */
export interface OrdererOptions {
  /** Cut a block once this many transactions wait. */
  readonly blockTxCountMax: number;
  /** Cut a block this long after its first transaction arrived, full or not. */
  readonly batchTimeoutMs: number;
  /** Refuse submissions beyond this many waiting transactions. */
  readonly pendingTxCountMax: number;
  /** Hears a propose or deliver failure; the orderer has stopped cutting by then. */
  readonly onFatal?: (error: Error) => void;
}

/** An ordering service. */
export interface Orderer {
  /**
   * Queues canonical transaction bytes for ordering. Resolves once the transaction is durable
   * in the ordering service: a crash after that loses nothing. Rejects with QueueFullError when
   * the queue is full, OrdererStoppedError when stopped and OrdererUnavailableError when the
   * ordering service cannot be reached.
   */
  submit(tx: Uint8Array): Promise<void>;
  /** Transactions accepted but not yet in a delivered block. */
  readonly pendingCount: number;
  /** The durable transactions waiting to be cut, in order: after a restart, what was acknowledged and not yet ordered. */
  queued(): Uint8Array[];
  /** Starts cutting and delivering blocks to `consumer`, first redelivering any ordered but undelivered ones. */
  start(consumer: BlockConsumer): Promise<void>;
  /** Stops cutting; waits for the block in flight. Queued transactions stay durable for the next start. */
  stop(): Promise<void>;
  /** Stops and releases resources; submissions are refused afterwards. */
  close(): Promise<void>;
}
