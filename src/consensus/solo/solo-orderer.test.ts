import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { diskFullError } from '../../storage/index.js';
import { runOrdererConformance } from '../testonly/orderer-conformance.js';
import { OrdererStoppedError } from '../orderer.js';
import { SoloOrderer } from './solo-orderer.js';

runOrdererConformance('solo', (dir, options) => new SoloOrderer(join(dir, 'orderer.db'), options));

test('a cut that fails for a full disk is delivered again, unchanged, once there is space, instead of stopping the orderer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-solo-full-'));
  const fatal: Error[] = [];
  const orderer = new SoloOrderer(join(dir, 'orderer.db'), {
    blockTxCountMax: 4,
    batchTimeoutMs: 5,
    pendingTxCountMax: 64,
    onFatal: (error) => fatal.push(error),
  });
  t.after(async () => {
    await orderer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const proposed: string[] = [];
  const delivered: string[][] = [];
  let failures = 2;
  await orderer.start({
    fromHeight: 0,
    lastTime: 0,
    propose: async (batch) => {
      proposed.push(
        JSON.stringify({
          height: batch.height,
          time: batch.time,
          txs: batch.txs.map((tx) => Buffer.from(tx).toString()),
        }),
      );
      return Buffer.from(proposed.at(-1)!);
    },
    deliver: async (_height, block) => {
      if (failures-- > 0) throw diskFullError();
      delivered.push((JSON.parse(Buffer.from(block).toString()) as { txs: string[] }).txs);
    },
  });
  const txs = ['a', 'b', 'c', 'd', 'e'].map((label) => Buffer.from(label));
  await Promise.all(txs.map((tx) => orderer.submit(tx)));
  const deadline = Date.now() + 10_000;
  while (delivered.flat().length < txs.length) {
    assert.ok(Date.now() < deadline, `delivered ${JSON.stringify(delivered)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(fatal, []);
  assert.deepEqual(delivered.flat(), ['a', 'b', 'c', 'd', 'e'], 'each once, in order');
  assert.equal(
    new Set(proposed.slice(0, 3)).size,
    1,
    'the failed cut was proposed again with the same time and transactions',
  );
});

test('a committed block leaves the queue with the next cut; a restart before that does not deliver it again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-solo-finish-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'orderer.db');
  const options = { blockTxCountMax: 2, batchTimeoutMs: 5, pendingTxCountMax: 64 };
  const delivered: string[][] = [];
  const consumer = (fromHeight: number) => ({
    fromHeight,
    lastTime: 0,
    propose: async (batch: { txs: readonly Uint8Array[] }) =>
      Buffer.from(JSON.stringify(batch.txs.map((tx) => Buffer.from(tx).toString()))),
    deliver: async (_height: number, block: Uint8Array) => {
      delivered.push(JSON.parse(Buffer.from(block).toString()) as string[]);
    },
  });
  const waitFor = async (count: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (delivered.length < count) {
      assert.ok(Date.now() < deadline, `delivered ${JSON.stringify(delivered)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const first = new SoloOrderer(path, options);
  await first.start(consumer(0));
  await Promise.all(['a', 'b'].map((label) => first.submit(Buffer.from(label))));
  await waitFor(1);
  // As after a crash: block 0 is committed, its rows are not yet deleted.
  const rows = new Database(path, { readonly: true });
  t.after(() => rows.close());
  assert.equal(rows.prepare('SELECT count(*) FROM pending').pluck().get(), 2);
  const second = new SoloOrderer(path, options);
  await second.start(consumer(1));
  await second.submit(Buffer.from('c'));
  await waitFor(2);
  assert.deepEqual(delivered, [['a', 'b'], ['c']], 'block 0 was not delivered again');
  await second.close();
  assert.equal(
    rows.prepare('SELECT count(*) FROM pending').pluck().get(),
    0,
    'the cuts committed leave the queue: with the next cut, or at a clean stop',
  );
  await first.close();
});

test('a submission that arrives while the orderer closes is refused as stopped, never left to a closed writer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-solo-stopping-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const orderer = new SoloOrderer(join(dir, 'orderer.db'), {
    blockTxCountMax: 4,
    batchTimeoutMs: 5,
    pendingTxCountMax: 64,
  });
  await orderer.start({
    fromHeight: 0,
    lastTime: 0,
    propose: async (batch) => Buffer.from(String(batch.txs.length)),
    deliver: async () => {},
  });
  await orderer.submit(Buffer.from('before'));
  const closed = orderer.close();
  const late = orderer.submit(Buffer.from('late'));
  await assert.rejects(late, OrdererStoppedError);
  await closed;
});

test('the batch timeout counts from the oldest waiting transaction: one that waited out a slow block is cut as soon as that block is delivered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-solo-timeout-'));
  const batchTimeoutMs = 2000; // far above an fsync on a loaded machine: the cut's record costs one
  const orderer = new SoloOrderer(join(dir, 'orderer.db'), {
    blockTxCountMax: 64,
    batchTimeoutMs,
    pendingTxCountMax: 64,
  });
  t.after(async () => {
    await orderer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const proposedAt: number[] = [];
  let deliveredAt = 0;
  let submitLate: Promise<void> | undefined;
  await orderer.start({
    fromHeight: 0,
    lastTime: 0,
    propose: async (batch) => {
      proposedAt.push(performance.now());
      return Buffer.from(String(batch.height));
    },
    deliver: async (height) => {
      if (height === 0) {
        // While block 0 is slowly committed, the next transaction arrives and waits it out.
        submitLate = orderer.submit(Buffer.from('late'));
        await new Promise((resolve) => setTimeout(resolve, 1.5 * batchTimeoutMs));
        deliveredAt = performance.now();
      }
    },
  });
  await orderer.submit(Buffer.from('first'));
  const deadline = Date.now() + 10_000;
  while (proposedAt.length < 2) {
    assert.ok(Date.now() < deadline, `${proposedAt.length} blocks proposed`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await submitLate;
  const gapMs = proposedAt[1]! - deliveredAt;
  assert.ok(
    gapMs < batchTimeoutMs / 2,
    `block 1 was cut ${gapMs.toFixed(0)} ms after block 0, not at once`,
  );
});

test('a cut is proposed while its record is written, and delivered only once the record is durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-solo-overlap-'));
  const path = join(dir, 'orderer.db');
  const orderer = new SoloOrderer(path, {
    blockTxCountMax: 64,
    batchTimeoutMs: 50,
    pendingTxCountMax: 64,
  });
  // A second connection holds the write lock, so the cut's record cannot be written until it lets go.
  const holder = new Database(path);
  t.after(async () => {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
    await orderer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cutRecorded = (height: number): boolean =>
    holder.prepare('SELECT 1 FROM cut WHERE height = ?').get(height) !== undefined;
  let proposedWhileHeld = false;
  let recordedAtDelivery: boolean | undefined;
  await orderer.start({
    fromHeight: 0,
    lastTime: 0,
    propose: async (batch) => {
      proposedWhileHeld = holder.inTransaction;
      return Buffer.from(String(batch.height));
    },
    deliver: async (height) => {
      recordedAtDelivery = cutRecorded(height);
    },
  });
  await orderer.submit(Buffer.from('first'));
  holder.exec('BEGIN IMMEDIATE');
  const deadline = Date.now() + 2_000;
  while (!proposedWhileHeld && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(recordedAtDelivery, undefined, 'nothing was delivered while the record was held');
  holder.exec('COMMIT');
  assert.ok(proposedWhileHeld, 'the block was proposed while its cut was being recorded');
  while (recordedAtDelivery === undefined) {
    assert.ok(Date.now() < deadline + 5_000, 'block 0 was never delivered');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(recordedAtDelivery, true, 'the cut was durable before its block was delivered');
});
