/**
 * The solo orderer: one process orders everything, with its queue and undelivered blocks in
 * SQLite so that an acknowledged transaction survives kill -9. Submissions are group-committed:
 * all that arrive while the previous group's fsync runs share the next one. Writes go through a
 * SqliteWriter, so those fsyncs never hold the event loop.
 */
import assert from 'node:assert/strict';
import {
  isDiskFull,
  openDatabase,
  SqliteWriter,
  type SqliteDatabase,
  type WriteStep,
} from '../../storage/index.js';
import {
  OrdererStoppedError,
  QueueFullError,
  type BlockConsumer,
  type Orderer,
  type OrdererOptions,
} from '../orderer.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, bytes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cut (height INTEGER PRIMARY KEY, time INTEGER NOT NULL, last_seq INTEGER NOT NULL);
`;
const INSERT_PENDING = 'INSERT INTO pending (bytes) VALUES (?)';
const DELETE_PENDING = 'DELETE FROM pending WHERE seq <= ?';
const INSERT_CUT = 'INSERT INTO cut (height, time, last_seq) VALUES (?, ?, ?)';
const DELETE_CUT = 'DELETE FROM cut WHERE height <= ?';

/** After a cut fails for a full disk, the next attempt waits this long: the orderer waits for space rather than halting the node. */
const DISK_FULL_RETRY_MS = 500;

interface Waiting {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Queued {
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** performance.now() when it joined the queue: the batch timeout counts from the oldest waiting. */
  readonly queuedAt: number;
}

interface FinishedCut {
  readonly height: number;
  readonly lastSeq: number;
}

/** In-process orderer that cuts a block every `batchTimeoutMs` or `blockTxCountMax` transactions. */
export class SoloOrderer implements Orderer {
  readonly #db: SqliteDatabase;
  readonly #writer: SqliteWriter;
  #unflushed: Waiting[] = [];
  #flushing: Promise<void> | undefined;
  #queued: Queued[] = [];
  #queuedHead = 0;
  #flushScheduled = false;
  #consumer: BlockConsumer | undefined;
  #running = false;
  #closed = false;
  /** Set as close() begins: a submission accepted after it could be flushed once the writer has closed. */
  #closing = false;
  #timer: NodeJS.Timeout | undefined;
  #diskFullRetry: NodeJS.Timeout | undefined;
  /** The newest cut made durable; once delivered, #nextHeight has moved past it. */
  #recordedCut:
    { readonly height: number; readonly time: number; readonly lastSeq: number } | undefined;
  #cutting: Promise<void> | undefined;
  /** The newest cut committed whose rows are still to be deleted. */
  #finished: FinishedCut | undefined;
  #nextHeight = 0;
  #lastTime = 0;

  /** Opens (creating) the queue database at `path`. Throws RangeError on inconsistent options. */
  constructor(
    path: string,
    private readonly options: OrdererOptions,
  ) {
    if (!(
      options.blockTxCountMax >= 1 &&
      options.batchTimeoutMs >= 0 &&
      options.pendingTxCountMax >= options.blockTxCountMax
    )) {
      throw new RangeError(
        'options need blockTxCountMax ≥ 1, batchTimeoutMs ≥ 0, pendingTxCountMax ≥ blockTxCountMax',
      );
    }
    this.#db = openDatabase(path);
    this.#db.exec(SCHEMA);
    this.#writer = new SqliteWriter(path);
    const rows = this.#db.prepare('SELECT seq, bytes FROM pending ORDER BY seq').raw().all() as [
      number,
      Buffer,
    ][];
    const queuedAt = performance.now();
    this.#queued = rows.map(([seq, bytes]) => ({ seq, bytes: new Uint8Array(bytes), queuedAt }));
  }

  get pendingCount(): number {
    return this.#unflushed.length + this.#queued.length - this.#queuedHead;
  }

  queued(): Uint8Array[] {
    return this.#queued.slice(this.#queuedHead).map((queued) => queued.bytes);
  }

  submit(tx: Uint8Array): Promise<void> {
    if (this.#closing) return Promise.reject(new OrdererStoppedError());
    if (this.pendingCount >= this.options.pendingTxCountMax)
      return Promise.reject(new QueueFullError(this.options.pendingTxCountMax));
    return new Promise<void>((resolve, reject) => {
      this.#unflushed.push({ bytes: tx, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /** One group commit at a time: submissions that arrive while it runs wait for the next. */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing !== undefined) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#unflushed;
    this.#unflushed = [];
    if (batch.length === 0) return;
    this.#flushing = this.#writer
      .write([[INSERT_PENDING, batch.map(({ bytes }) => [bytes])]])
      .then(
        ([seqs]) => this.#flushed(batch, seqs!),
        (error: Error) => batch.forEach((waiting) => waiting.reject(error)),
      )
      .finally(() => {
        this.#flushing = undefined;
        if (this.#unflushed.length > 0) this.#scheduleFlush();
      });
  }

  #flushed(batch: readonly Waiting[], seqs: readonly number[]): void {
    const queuedAt = performance.now();
    batch.forEach(({ bytes, resolve }, i) => {
      this.#queued.push({ seq: seqs[i]!, bytes, queuedAt });
      resolve();
    });
    this.#scheduleCut();
  }

  async start(consumer: BlockConsumer): Promise<void> {
    assert(!this.#running && !this.#closed, 'solo orderer started twice');
    this.#consumer = consumer;
    this.#nextHeight = consumer.fromHeight;
    this.#lastTime = consumer.lastTime;
    await this.#redeliver(consumer);
    this.#running = true;
    this.#scheduleCut();
  }

  /**
   * A cut recorded before a crash but not committed by the consumer is proposed again with the
   * same transactions and time, so the block is the same; cuts the consumer did commit are
   * dropped from the queue.
   */
  async #redeliver(consumer: BlockConsumer): Promise<void> {
    const cuts = this.#db
      .prepare('SELECT height, time, last_seq FROM cut ORDER BY height')
      .raw()
      .all() as [number, number, number][];
    for (const [height, time, lastSeq] of cuts) {
      if (height < consumer.fromHeight) {
        this.#finishCut(height, lastSeq);
        continue;
      }
      assert(height === this.#nextHeight, `orderer lost the cut of block ${this.#nextHeight}`);
      await this.#deliverCut(consumer, height, time, lastSeq);
    }
  }

  /**
   * Block `height` is committed: its transactions leave the queue. Their rows are deleted in the
   * next cut's transaction (or at stop), which saves an fsync per block; a restart before then
   * finishes every cut below the consumer's height again.
   */
  #finishCut(height: number, lastSeq: number): void {
    this.#finished = { height, lastSeq };
    while (this.#queuedHead < this.#queued.length && this.#queued[this.#queuedHead]!.seq <= lastSeq)
      this.#queuedHead += 1;
    this.#compact();
  }

  /**
   * Proposes and delivers the queued transactions up to `lastSeq` as block `height`. A cut still
   * `recording` is proposed meanwhile, since proposing is only computation, and delivered once
   * durable: the block is never seen before a restart could rebuild it.
   */
  async #deliverCut(
    consumer: BlockConsumer,
    height: number,
    time: number,
    lastSeq: number,
    recording: Promise<void> = Promise.resolve(),
  ): Promise<void> {
    let end = this.#queuedHead;
    while (end < this.#queued.length && this.#queued[end]!.seq <= lastSeq) end += 1;
    const txs = this.#queued.slice(this.#queuedHead, end).map((queued) => queued.bytes);
    const [recorded, proposed] = await Promise.allSettled([
      recording,
      Promise.resolve().then(() => consumer.propose({ height, time, txs })),
    ]);
    // A cut that failed to record (a full disk) is cut afresh later, whatever its proposal did.
    if (recorded.status === 'rejected') throw recorded.reason;
    if (proposed.status === 'rejected') throw proposed.reason;
    await consumer.deliver(height, proposed.value);
    this.#nextHeight = height + 1;
    this.#lastTime = time;
    this.#finishCut(height, lastSeq);
  }

  /**
   * A block is due once blockTxCountMax transactions wait, or batchTimeoutMs after the oldest
   * waiting one joined the queue (as Fabric's BatchTimeout): transactions that queued while the
   * previous block was executed and committed have already waited, and are cut at once.
   */
  #scheduleCut(): void {
    if (!this.#running || this.#cutting !== undefined || this.#diskFullRetry !== undefined) return;
    const waiting = this.#queued.length - this.#queuedHead;
    if (waiting === 0 || (waiting < this.options.blockTxCountMax && this.#timer !== undefined))
      return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dueInMs =
      waiting >= this.options.blockTxCountMax
        ? 0
        : this.#queued[this.#queuedHead]!.queuedAt +
          this.options.batchTimeoutMs -
          performance.now();
    if (dueInMs <= 0) this.#cutting = this.#cut();
    else
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#cutting === undefined && this.#running) this.#cutting = this.#cut();
      }, dueInMs);
  }

  async #cut(): Promise<void> {
    try {
      await this.#cutOne(this.#consumer!);
    } catch (error) {
      if (isDiskFull(error) && !this.#closed) this.#retryWhenFull();
      else {
        this.#running = false;
        this.#report(error as Error);
      }
    } finally {
      this.#cutting = undefined;
    }
    this.#scheduleCut();
  }

  async #cutOne(consumer: BlockConsumer): Promise<void> {
    const recorded = this.#recordedCut;
    if (recorded !== undefined && recorded.height === this.#nextHeight) {
      // An earlier attempt recorded this cut and then failed (a full disk): the block must be
      // the one a restart would rebuild, so the same cut is delivered again.
      await this.#deliverCut(consumer, recorded.height, recorded.time, recorded.lastSeq);
      return;
    }
    const end = Math.min(this.#queued.length, this.#queuedHead + this.options.blockTxCountMax);
    if (end === this.#queuedHead) return;
    const height = this.#nextHeight;
    const time = Math.max(Date.now(), this.#lastTime);
    const lastSeq = this.#queued[end - 1]!.seq;
    // The cut (which transactions, what time) is durable before the block is delivered, so a
    // restart rebuilds exactly this block. Proposing it meanwhile hides that fsync's latency.
    const finished = this.#finished;
    const recording = this.#writer
      .write([...this.#deletionsOf(finished), [INSERT_CUT, [[height, time, lastSeq]]]])
      .then(() => {
        if (this.#finished === finished) this.#finished = undefined;
        this.#recordedCut = { height, time, lastSeq };
      });
    await this.#deliverCut(consumer, height, time, lastSeq, recording);
  }

  /** The statements that delete a finished cut and its transactions (and all below), if any. */
  #deletionsOf(finished: FinishedCut | undefined): WriteStep[] {
    if (finished === undefined) return [];
    return [
      [DELETE_PENDING, [[finished.lastSeq]]],
      [DELETE_CUT, [[finished.height]]],
    ];
  }

  /** The cut was not recorded (its insert rolled back): the same transactions are cut again later. */
  #retryWhenFull(): void {
    this.#diskFullRetry = setTimeout(() => {
      this.#diskFullRetry = undefined;
      this.#scheduleCut();
    }, DISK_FULL_RETRY_MS);
  }

  #compact(): void {
    if (this.#queuedHead > 4096 && this.#queuedHead * 2 > this.#queued.length) {
      this.#queued = this.#queued.slice(this.#queuedHead);
      this.#queuedHead = 0;
    }
  }

  #report(error: Error): void {
    if (this.options.onFatal !== undefined) this.options.onFatal(error);
    else
      process.nextTick(() => {
        throw error;
      });
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#diskFullRetry);
    this.#diskFullRetry = undefined;
    await this.#cutting;
    await this.#flushing;
    if (this.#unflushed.length > 0) this.#flush();
    await this.#flushing;
    const finished = this.#finished;
    this.#finished = undefined;
    // Not needed for correctness (a restart finishes committed cuts): a clean stop leaves none.
    if (finished !== undefined)
      await this.#writer.write(this.#deletionsOf(finished)).catch(() => {});
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.stop();
    this.#closed = true;
    await this.#writer.close();
    this.#db.close();
  }
}
