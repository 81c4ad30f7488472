import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { EtcdTestCluster } from '../../../test/etcd-cluster.js';
import type { Checkpoint } from '../../ledger/index.js';
import { EtcdCheckpointExchange } from './etcd-checkpoints.js';

const cluster = await EtcdTestCluster.start(1);
after(() => cluster.stop());

const checkpoint = (orgId: string, height: number): Checkpoint => ({
  height,
  blockHash: 'ab'.repeat(32),
  appHash: 'cd'.repeat(32),
  orgId,
  signer: orgId,
  sig: '00',
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("a subscriber hears every organisation's newest checkpoint, then each later one; a late subscriber catches up", async () => {
  const practice = new EtcdCheckpointExchange(cluster.endpoints, 'checkpoints-a');
  const hospital = new EtcdCheckpointExchange(cluster.endpoints, 'checkpoints-a');
  const otherNetwork = new EtcdCheckpointExchange(cluster.endpoints, 'checkpoints-b');
  try {
    await practice.publish(checkpoint('practice', 1));
    const heard: unknown[] = [];
    const stop = hospital.subscribe((value) => heard.push(value));
    await until(() => heard.length === 1);
    await practice.publish(checkpoint('practice', 2));
    await otherNetwork.publish(checkpoint('stranger', 9));
    await until(() => heard.length === 2);
    assert.deepEqual(heard, [checkpoint('practice', 1), checkpoint('practice', 2)]);

    const late: unknown[] = [];
    const stopLate = otherNetwork.subscribe((value) => late.push(value));
    await until(() => late.length === 1);
    assert.deepEqual(
      late,
      [checkpoint('stranger', 9)],
      'only its own network, and only the newest per organisation',
    );
    stop();
    stopLate();
    await practice.publish(checkpoint('practice', 3));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(heard.length, 2, 'nothing after unsubscribing');
  } finally {
    await Promise.all([practice.close(), hospital.close(), otherNetwork.close()]);
  }
});

test("what is not a checkpoint's JSON is dropped without stopping the subscription", async () => {
  const exchange = new EtcdCheckpointExchange(cluster.endpoints, 'checkpoints-c');
  const raw = new EtcdCheckpointExchange(cluster.endpoints, 'checkpoints-c');
  try {
    const heard: unknown[] = [];
    exchange.subscribe((value) => heard.push(value));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await raw.publish({ ...checkpoint('mallory', 1), orgId: 'mallory' });
    // A value that is not JSON, written behind the exchange's back.
    const { Etcd3 } = await import('etcd3');
    const direct = new Etcd3({ hosts: [...cluster.endpoints] });
    await direct.put('chartchain/checkpoints-c/checkpoints/garbage').value('{not json');
    direct.close();
    await raw.publish(checkpoint('practice', 5));
    await until(() => heard.length === 2);
    assert.deepEqual(
      heard.map((value) => (value as Checkpoint).orgId),
      ['mallory', 'practice'],
    );
  } finally {
    await Promise.all([exchange.close(), raw.close()]);
  }
});
