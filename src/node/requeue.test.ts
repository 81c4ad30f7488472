import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { encodeTransaction } from '../ledger/index.js';
import { ChartChainNode } from './node.js';
import { openTempNode } from './testonly/temp-node.js';

test("a restart before the queue has dropped a committed block's rows does not count them as pending", async (t) => {
  const { dir, node } = await openTempNode(t, 'requeue');
  const tx = node.signAsOrg('membership.register-patient', {
    patientId: 'patient-0001',
    custody: 'custodial',
    ...node.records.enrol('patient', 'patient-0001'),
  });
  const result = await node.submit(tx);
  assert.ok(result.ok, JSON.stringify(result));
  const committed = await node.waitForTx(result.txId, 20_000);
  assert.equal(committed.status, 'ok');
  await node.close();
  // As a crash would leave the queue: the committed block's cut and transaction still in it.
  const queue = new Database(join(dir, 'orderer.db'));
  const seq = queue
    .prepare('INSERT INTO pending (bytes) VALUES (?)')
    .run(encodeTransaction(tx)).lastInsertRowid;
  queue
    .prepare('INSERT INTO cut (height, time, last_seq) VALUES (?, ?, ?)')
    .run(committed.height, 0, seq);
  queue.close();
  const reopened = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  t.after(() => reopened.close());
  assert.deepEqual(reopened.pendingTransactions(), []);
  assert.equal(reopened.lookupTx(result.txId)?.status, 'ok');
  assert.equal(reopened.head().height, committed.height, 'the block was not delivered again');
});
