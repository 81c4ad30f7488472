/**
 * The etcd orderer under faults, on real etcd processes: members killed with SIGKILL (a
 * follower, then the Raft leader) and the proposing orderer killed, all under continuous
 * submissions; and etcd gone entirely, then back. Nothing acknowledged may be lost or delivered
 * twice, and every wait is bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { EtcdTestCluster } from '../../../test/etcd-cluster.js';
import { OrdererUnavailableError, type BlockConsumer, type OrderedBatch } from '../orderer.js';
import { longestGapMs } from '../testonly/orderer-networked-conformance.js';
import { EtcdOrderer } from './etcd-orderer.js';

class Consumer implements BlockConsumer {
  readonly txs: string[] = [];
  readonly deliveredAt: number[] = [];
  height = 0;
  proposals = 0;
  get fromHeight(): number {
    return this.height;
  }
  get lastTime(): number {
    return 0;
  }
  async propose(batch: OrderedBatch): Promise<Uint8Array> {
    this.proposals += 1;
    return Buffer.from(JSON.stringify(batch.txs.map((tx) => Buffer.from(tx).toString('utf8'))));
  }
  async deliver(height: number, block: Uint8Array): Promise<void> {
    assert.equal(height, this.height);
    this.height += 1;
    this.txs.push(...(JSON.parse(Buffer.from(block).toString('utf8')) as string[]));
    this.deliveredAt.push(Date.now());
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const options = { blockTxCountMax: 32, batchTimeoutMs: 5, pendingTxCountMax: 4096 };

/** Submits through `orderers` in turn until stopped; records what was acknowledged. */
function submitContinuously(orderers: () => EtcdOrderer[]): {
  acknowledged: string[];
  refused: number;
  stop: () => Promise<void>;
} {
  const state = { acknowledged: [] as string[], refused: 0, running: true };
  let sequence = 0;
  const loop = async (): Promise<void> => {
    while (state.running) {
      const tx = `f-${String(sequence++).padStart(7, '0')}`;
      const live = orderers();
      try {
        await live[sequence % live.length]!.submit(Buffer.from(tx));
        state.acknowledged.push(tx);
      } catch {
        state.refused += 1;
      }
      await sleep(1);
    }
  };
  const loops = Promise.all([loop(), loop(), loop(), loop()]);
  return {
    acknowledged: state.acknowledged,
    get refused() {
      return state.refused;
    },
    stop: async () => {
      state.running = false;
      await loops;
    },
  };
}

test(
  'etcd members killed (a follower, then the leader) and the proposer killed: nothing acknowledged lost or twice',
  { timeout: 120_000 },
  async (t) => {
    const cluster = await EtcdTestCluster.start(3);
    after(() => cluster.stop());
    const namespace = `faults-${randomBytes(4).toString('hex')}`;
    const nodes = await Promise.all(
      ['n0', 'n1', 'n2'].map((nodeId) =>
        EtcdOrderer.open({ ...options, endpoints: cluster.endpoints, namespace, nodeId }),
      ),
    );
    const consumers = nodes.map(() => new Consumer());
    await Promise.all(nodes.map((node, i) => node.start(consumers[i]!)));
    await nodes[0]!.submit(Buffer.from('warm-up'));
    await until(() => consumers.some((consumer) => consumer.proposals > 0), 'a proposer');
    const proposer = consumers.findIndex((consumer) => consumer.proposals > 0);
    const survivors = [0, 1, 2].filter((i) => i !== proposer);
    const watched = consumers[survivors[0]!]!;
    const load = submitContinuously(() => survivors.map((i) => nodes[i]!));
    // On a failure, too: the load and the orderers stop, or they keep the test process alive.
    t.after(async () => {
      await load.stop();
      await Promise.all(nodes.map((node) => node.crash()));
    });

    const leader = await cluster.leaderIndex();
    const follower = (leader + 1) % 3;
    await until(() => watched.txs.length > 200, 'traffic before the first kill');
    const followerKilledAt = Date.now();
    await cluster.kill(follower);
    await until(
      () => watched.deliveredAt.some((time) => time > followerKilledAt + 500),
      'deliveries with a member down',
    );
    cluster.restart(follower);
    await cluster.waitReady();

    const leaderKilledAt = Date.now();
    await cluster.kill(leader);
    await until(
      () => watched.deliveredAt.some((time) => time > leaderKilledAt + 1_000),
      'deliveries after the etcd leader died',
    );

    assert.deepEqual(
      survivors.map((i) => consumers[i]!.proposals),
      [0, 0],
      "the proposer kept its role through the etcd members' deaths",
    );
    const proposerKilledAt = Date.now();
    await nodes[proposer]!.crash();
    await until(
      () => watched.deliveredAt.some((time) => time > proposerKilledAt + 1_000),
      'deliveries after the proposer died',
    );
    await load.stop();
    for (const i of survivors)
      await until(
        () => load.acknowledged.every((tx) => consumers[i]!.txs.includes(tx)),
        `node ${i} to deliver every acknowledged tx`,
      );
    await Promise.all(survivors.map((i) => nodes[i]!.close()));

    for (const i of survivors) {
      assert.equal(
        new Set(consumers[i]!.txs).size,
        consumers[i]!.txs.length,
        'no transaction delivered twice',
      );
      assert.deepEqual(consumers[i]!.txs, watched.txs, 'the survivors agree');
    }
    const gaps = {
      followerMemberKilled: longestGapMs(
        watched.deliveredAt.filter((time) => time < leaderKilledAt),
        followerKilledAt,
      ),
      leaderMemberKilled: longestGapMs(
        watched.deliveredAt.filter((time) => time < proposerKilledAt),
        leaderKilledAt,
      ),
      proposerKilled: longestGapMs(watched.deliveredAt, proposerKilledAt),
    };
    console.log(
      `longest gap between deliveries (ms): ${JSON.stringify(gaps)}; acknowledged ${load.acknowledged.length}, refused ${load.refused}`,
    );
    assert.ok(load.acknowledged.length > 300);
  },
);

test(
  'etcd unreachable: submit rejects with OrdererUnavailableError, and the orderer recovers by itself',
  { timeout: 90_000 },
  async () => {
    const cluster = await EtcdTestCluster.start(1);
    after(() => cluster.stop());
    const orderer = await EtcdOrderer.open({
      ...options,
      endpoints: cluster.endpoints,
      namespace: `down-${randomBytes(4).toString('hex')}`,
      nodeId: 'n0',
    });
    const consumer = new Consumer();
    await orderer.start(consumer);
    await orderer.submit(Buffer.from('before'));
    await until(() => consumer.txs.length === 1, 'the first block');
    await cluster.kill(0);
    const started = Date.now();
    await assert.rejects(orderer.submit(Buffer.from('while-down')), OrdererUnavailableError);
    assert.ok(Date.now() - started < 10_000, 'the refusal comes within seconds');
    cluster.restart(0);
    await cluster.waitReady();
    let acknowledged = false;
    for (let attempt = 0; attempt < 100 && !acknowledged; attempt++) {
      acknowledged = await orderer.submit(Buffer.from('after')).then(
        () => true,
        () => false,
      );
      if (!acknowledged) await sleep(200);
    }
    assert.ok(acknowledged, 'submissions succeed again once etcd is back');
    await until(() => consumer.txs.includes('after'), 'a block after etcd came back');
    await orderer.close();
    assert.equal(new Set(consumer.txs).size, consumer.txs.length);
  },
);
