/**
 * One conformance suite for every Orderer adapter (HO's runTest): ordering, exactly-once
 * delivery, restart, crash between ordering and commit, and back-pressure. An adapter's test
 * file calls runOrdererConformance with a factory that opens the adapter on a directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  QueueFullError,
  type BlockConsumer,
  type OrderedBatch,
  type Orderer,
  type OrdererOptions,
} from '../orderer.js';

/** Opens an adapter whose durable state lives under `dir`; the same dir reopens the same queue. */
export type OrdererFactory = (dir: string, options: OrdererOptions) => Promise<Orderer> | Orderer;

interface Delivered {
  readonly height: number;
  readonly time: number;
  readonly txs: string[];
}

/** A consumer that records what it commits, and can be told to fail or stall. */
class RecordingConsumer implements BlockConsumer {
  readonly blocks: Delivered[] = [];
  /** Every batch proposed, by height, in order: a re-proposal after a crash appends again. */
  readonly proposals = new Map<number, string[]>();
  failAtHeight = -1;
  gate: Promise<void> = Promise.resolve();
  get fromHeight(): number {
    return this.blocks.length;
  }
  get lastTime(): number {
    return this.blocks.at(-1)?.time ?? 0;
  }
  async propose(batch: OrderedBatch): Promise<Uint8Array> {
    await this.gate;
    const txs = batch.txs.map((tx) => Buffer.from(tx).toString('utf8'));
    const seen = this.proposals.get(batch.height) ?? [];
    seen.push(JSON.stringify({ time: batch.time, txs }));
    this.proposals.set(batch.height, seen);
    return Buffer.from(JSON.stringify({ height: batch.height, time: batch.time, txs }));
  }
  async deliver(height: number, block: Uint8Array): Promise<void> {
    if (height === this.failAtHeight)
      throw new Error(`simulated crash before committing ${height}`);
    const decoded = JSON.parse(Buffer.from(block).toString('utf8')) as Delivered;
    assert.equal(decoded.height, height, 'delivered block carries its height');
    assert.equal(height, this.blocks.length, 'blocks arrive in height order without gaps');
    this.blocks.push(decoded);
  }
  txs(): string[] {
    return this.blocks.flatMap((block) => block.txs);
  }
}

const txOf = (label: string, i: number): Uint8Array =>
  Buffer.from(`${label}-${String(i).padStart(5, '0')}`);

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Registers the suite under `name`. */
export function runOrdererConformance(name: string, factory: OrdererFactory): void {
  describe(`Orderer conformance: ${name}`, () => {
    const dirs: string[] = [];
    const freshDir = (): string => {
      const dir = mkdtempSync(join(tmpdir(), 'chartchain-orderer-'));
      dirs.push(dir);
      return dir;
    };
    const options = (overrides: Partial<OrdererOptions> = {}): OrdererOptions => ({
      blockTxCountMax: 16,
      batchTimeoutMs: 5,
      pendingTxCountMax: 4096,
      ...overrides,
    });
    test.after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

    test('orders transactions in submission order, each exactly once, in bounded blocks', async () => {
      const orderer = await factory(freshDir(), options());
      const consumer = new RecordingConsumer();
      await orderer.start(consumer);
      const sent = Array.from({ length: 250 }, (_, i) => txOf('a', i));
      await Promise.all(sent.map((tx) => orderer.submit(tx)));
      await until(() => consumer.txs().length >= 250);
      await orderer.close();
      assert.deepEqual(
        consumer.txs(),
        sent.map((tx) => Buffer.from(tx).toString('utf8')),
      );
      assert.ok(consumer.blocks.every((block) => block.txs.length >= 1 && block.txs.length <= 16));
      consumer.blocks.forEach(
        (block, i) =>
          i > 0 && assert.ok(block.time >= consumer.blocks[i - 1]!.time, 'time never decreases'),
      );
      assert.equal(orderer.pendingCount, 0);
    });

    test('cuts a partial block after batchTimeoutMs', async () => {
      const orderer = await factory(
        freshDir(),
        options({ blockTxCountMax: 1000, batchTimeoutMs: 20 }),
      );
      const consumer = new RecordingConsumer();
      await orderer.start(consumer);
      await Promise.all([0, 1, 2].map((i) => orderer.submit(txOf('t', i))));
      await until(() => consumer.blocks.length === 1);
      await orderer.close();
      assert.equal(consumer.blocks[0]!.txs.length, 3);
    });

    test('acknowledged transactions survive a restart before any block is cut', async () => {
      const dir = freshDir();
      const first = await factory(dir, options());
      await Promise.all(Array.from({ length: 10 }, (_, i) => first.submit(txOf('r', i))));
      await first.close();
      const consumer = new RecordingConsumer();
      const second = await factory(dir, options());
      const queued = second.queued().map((tx) => Buffer.from(tx).toString('utf8'));
      assert.deepEqual(
        queued,
        Array.from({ length: 10 }, (_, i) => `r-${String(i).padStart(5, '0')}`),
        'queued() lists the acknowledged transactions in order',
      );
      await second.start(consumer);
      await until(() => consumer.txs().length === 10);
      await second.close();
      assert.deepEqual(
        consumer.txs(),
        Array.from({ length: 10 }, (_, i) => `r-${String(i).padStart(5, '0')}`),
      );
    });

    test('restart resumes at the consumer height with nothing lost or repeated', async () => {
      const dir = freshDir();
      const consumer = new RecordingConsumer();
      const first = await factory(dir, options({ blockTxCountMax: 4 }));
      await first.start(consumer);
      await Promise.all(Array.from({ length: 40 }, (_, i) => first.submit(txOf('s', i))));
      await until(() => consumer.blocks.length >= 2);
      await first.close();
      const second = await factory(dir, options({ blockTxCountMax: 4 }));
      await second.start(consumer);
      await Promise.all(Array.from({ length: 40 }, (_, i) => second.submit(txOf('s', 40 + i))));
      await until(() => consumer.txs().length >= 80);
      await second.close();
      assert.deepEqual(
        consumer.txs(),
        Array.from({ length: 80 }, (_, i) => `s-${String(i).padStart(5, '0')}`),
      );
    });

    test('a block cut but not committed before a crash is delivered again, unchanged', async () => {
      const dir = freshDir();
      const consumer = new RecordingConsumer();
      consumer.failAtHeight = 1;
      const failures: Error[] = [];
      const first = await factory(dir, {
        ...options({ blockTxCountMax: 3 }),
        onFatal: (error) => failures.push(error),
      });
      await first.start(consumer);
      await Promise.all(Array.from({ length: 9 }, (_, i) => first.submit(txOf('c', i))));
      await until(() => failures.length === 1);
      await first.close();
      assert.equal(consumer.blocks.length, 1);
      consumer.failAtHeight = -1;
      const second = await factory(dir, options({ blockTxCountMax: 3 }));
      await second.start(consumer);
      await until(() => consumer.txs().length >= 9);
      await second.close();
      assert.deepEqual(
        consumer.txs(),
        Array.from({ length: 9 }, (_, i) => `c-${String(i).padStart(5, '0')}`),
      );
      assert.deepEqual(
        consumer.blocks.map((block) => block.height),
        [0, 1, 2],
      );
      const proposals = consumer.proposals.get(1) ?? [];
      assert.ok(
        proposals.length >= 1 && proposals.every((proposal) => proposal === proposals[0]),
        'height 1 is rebuilt from the same transactions and time',
      );
    });

    test('back-pressure: a full queue refuses with QueueFullError, then drains', async () => {
      const orderer = await factory(
        freshDir(),
        options({ blockTxCountMax: 8, pendingTxCountMax: 32 }),
      );
      const consumer = new RecordingConsumer();
      let release!: () => void;
      consumer.gate = new Promise((resolve) => (release = resolve));
      await orderer.start(consumer);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => orderer.submit(txOf('b', i))),
      );
      const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.equal(refused.length, 18);
      assert.ok(
        refused.every(
          (outcome) => (outcome as PromiseRejectedResult).reason instanceof QueueFullError,
        ),
      );
      release();
      await until(() => consumer.txs().length === 32);
      await orderer.submit(txOf('b', 99));
      await until(() => consumer.txs().length === 33);
      await orderer.close();
    });
  });
}
