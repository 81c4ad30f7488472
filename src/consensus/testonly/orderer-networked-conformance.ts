/**
 * The conformance cases only a networked Orderer adapter has: several nodes, each with its own
 * orderer and consumer, on one ordering service. Every consumer must receive the same blocks in
 * the same order, each transaction exactly once, whichever node it was submitted through; one
 * node proposes at a time; and when the proposer dies, another takes over with nothing
 * acknowledged lost and nothing delivered twice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { BlockConsumer, OrderedBatch, Orderer, OrdererOptions } from '../orderer.js';

/** One node's orderer, and how to kill it as kill -9 would (no resignation, no cleanup). */
export interface NetworkedOrderer {
  readonly orderer: Orderer;
  crash(): Promise<void>;
}

/** Opens node `nodeId`'s orderer on network `network`. */
export type NetworkedOrdererFactory = (
  network: string,
  nodeId: string,
  options: OrdererOptions,
) => Promise<NetworkedOrderer>;

class NodeConsumer implements BlockConsumer {
  readonly blocks: { height: number; txs: string[] }[] = [];
  proposals = 0;
  readonly deliveredAt: number[] = [];
  get fromHeight(): number {
    return this.blocks.length;
  }
  get lastTime(): number {
    return 0;
  }
  async propose(batch: OrderedBatch): Promise<Uint8Array> {
    this.proposals += 1;
    return Buffer.from(
      JSON.stringify({
        height: batch.height,
        txs: batch.txs.map((tx) => Buffer.from(tx).toString('utf8')),
      }),
    );
  }
  async deliver(height: number, block: Uint8Array): Promise<void> {
    const decoded = JSON.parse(Buffer.from(block).toString('utf8')) as {
      height: number;
      txs: string[];
    };
    assert.equal(height, this.blocks.length, 'blocks arrive in height order without gaps');
    assert.equal(decoded.height, height);
    this.blocks.push(decoded);
    this.deliveredAt.push(Date.now());
  }
  txs(): string[] {
    return this.blocks.flatMap((block) => block.txs);
  }
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const options: OrdererOptions = { blockTxCountMax: 16, batchTimeoutMs: 5, pendingTxCountMax: 4096 };
const networkName = (): string => `net-${randomBytes(6).toString('hex')}`;

/** The longest pause between consecutive deliveries in `times` after `from` (ms). */
export function longestGapMs(times: readonly number[], from: number): number {
  let gap = 0;
  let previous = from;
  for (const time of times) {
    if (time < from) continue;
    gap = Math.max(gap, time - previous);
    previous = time;
  }
  return gap;
}

/** Registers the networked suite under `name`; `report` hears measured figures. */
export function runNetworkedOrdererConformance(
  name: string,
  factory: NetworkedOrdererFactory,
  report: (figure: string, value: number) => void = () => undefined,
): void {
  describe(`Networked orderer conformance: ${name}`, () => {
    test('three nodes deliver the same blocks, each transaction once, with one proposer', async () => {
      const network = networkName();
      const nodes = await Promise.all(
        ['n0', 'n1', 'n2'].map((id) => factory(network, id, options)),
      );
      const consumers = nodes.map(() => new NodeConsumer());
      await Promise.all(nodes.map((node, i) => node.orderer.start(consumers[i]!)));
      const sent = Array.from({ length: 300 }, (_, i) => `t-${String(i).padStart(5, '0')}`);
      await Promise.all(sent.map((tx, i) => nodes[i % 3]!.orderer.submit(Buffer.from(tx))));
      await until(() => consumers.every((consumer) => consumer.txs().length >= sent.length));
      await Promise.all(nodes.map((node) => node.orderer.close()));
      const first = consumers[0]!;
      for (const consumer of consumers)
        assert.deepEqual(consumer.blocks, first.blocks, 'every node has the same chain');
      assert.deepEqual([...first.txs()].sort(), sent, 'each transaction exactly once');
      assert.equal(
        consumers.filter((consumer) => consumer.proposals > 0).length,
        1,
        'one elected proposer',
      );
      // Each node's own submissions keep their order.
      for (let node = 0; node < 3; node++) {
        const own = first.txs().filter((tx) => Number(tx.slice(2)) % 3 === node);
        assert.deepEqual(
          own,
          sent.filter((_, i) => i % 3 === node),
        );
      }
    });

    test('when the proposer dies, another takes over: nothing acknowledged lost, nothing twice', async () => {
      const network = networkName();
      const nodes = await Promise.all(
        ['n0', 'n1', 'n2'].map((id) => factory(network, id, options)),
      );
      const consumers = nodes.map(() => new NodeConsumer());
      await Promise.all(nodes.map((node, i) => node.orderer.start(consumers[i]!)));
      const acknowledged: string[] = [];
      let running = true;
      let sequence = 0;
      const submitter = async (through: number[]): Promise<void> => {
        while (running) {
          const tx = `k-${String(sequence++).padStart(6, '0')}`;
          const node = nodes[through[sequence % through.length]!]!;
          try {
            await node.orderer.submit(Buffer.from(tx));
            acknowledged.push(tx);
          } catch {
            // Refused (stopped or unavailable): not acknowledged, so not owed.
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      };
      await nodes[0]!.orderer.submit(Buffer.from('warm-up'));
      acknowledged.push('warm-up');
      await until(() => consumers.some((consumer) => consumer.proposals > 0));
      const proposer = consumers.findIndex((consumer) => consumer.proposals > 0);
      const survivors = [0, 1, 2].filter((i) => i !== proposer);
      const submitting = Promise.all([submitter(survivors), submitter(survivors)]);
      await until(() => consumers[survivors[0]!]!.txs().length >= 50);
      const killedAt = Date.now();
      await nodes[proposer]!.crash();
      await until(() => survivors.some((i) => consumers[i]!.proposals > 0));
      await until(() =>
        consumers[survivors[0]!]!.deliveredAt.some((time) => time > killedAt + 500),
      );
      running = false;
      await submitting;
      for (const i of survivors)
        await until(() => acknowledged.every((tx) => consumers[i]!.txs().includes(tx)));
      await Promise.all(survivors.map((i) => nodes[i]!.orderer.close()));
      const chain = consumers[survivors[0]!]!;
      assert.deepEqual(consumers[survivors[1]!]!.blocks, chain.blocks, 'survivors agree');
      assert.equal(new Set(chain.txs()).size, chain.txs().length, 'no transaction delivered twice');
      assert.ok(
        acknowledged.every((tx) => chain.txs().includes(tx)),
        'every acknowledged transaction delivered',
      );
      report(
        'proposer failover, longest gap between deliveries (ms)',
        longestGapMs(chain.deliveredAt, killedAt),
      );
    });
  });
}
