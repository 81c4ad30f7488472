import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { TX_BYTES_MAX } from '../../ledger/index.js';
import { OrdererStoppedError, type BlockConsumer, type OrderedBatch } from '../orderer.js';
import { PART_SIZE_BYTES } from './block-log.js';
import { EtcdTestCluster } from '../../../test/etcd-cluster.js';
import { runOrdererConformance } from '../testonly/orderer-conformance.js';
import { runNetworkedOrdererConformance } from '../testonly/orderer-networked-conformance.js';
import { EtcdOrderer } from './etcd-orderer.js';

const cluster = await EtcdTestCluster.start(1);
after(() => cluster.stop());

/** Each conformance directory is its own network: the same dir reopens the same etcd queue. */
const namespaceOf = (dir: string): string =>
  `conformance-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;

runOrdererConformance('etcd', (dir, options) =>
  EtcdOrderer.open({
    ...options,
    endpoints: cluster.endpoints,
    namespace: namespaceOf(dir),
    nodeId: 'node-a',
  }),
);

runNetworkedOrdererConformance(
  'etcd',
  async (network, nodeId, options) => {
    const orderer = await EtcdOrderer.open({
      ...options,
      endpoints: cluster.endpoints,
      namespace: network,
      nodeId,
    });
    return { orderer, crash: () => orderer.crash() };
  },
  (figure, value) => console.log(`${figure}: ${value}`),
);

const etcdOnly = { blockTxCountMax: 4, batchTimeoutMs: 5, pendingTxCountMax: 4096 };

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Proposes the concatenated transactions; records delivered blocks. */
class BytesConsumer implements BlockConsumer {
  readonly blocks: Buffer[] = [];
  readonly proposed = new Map<number, Buffer>();
  readonly fatal: Error[] = [];
  constructor(readonly fromHeight = 0) {}
  get lastTime(): number {
    return 0;
  }
  async propose(batch: OrderedBatch): Promise<Uint8Array> {
    const block = Buffer.concat(batch.txs);
    this.proposed.set(batch.height, block);
    return block;
  }
  async deliver(_height: number, block: Uint8Array): Promise<void> {
    this.blocks.push(Buffer.from(block));
  }
}

test('a block larger than one etcd part is stored in parts and delivered whole', async () => {
  const namespace = `parts-${randomBytes(4).toString('hex')}`;
  const orderer = await EtcdOrderer.open({
    ...etcdOnly,
    blockTxCountMax: 16,
    endpoints: cluster.endpoints,
    namespace,
    nodeId: 'n0',
  });
  const consumer = new BytesConsumer();
  await orderer.start(consumer);
  const txs = [0, 1, 2].map((i) => Buffer.alloc(400_000, 97 + i));
  await Promise.all(txs.map((tx) => orderer.submit(tx)));
  await until(
    () => consumer.blocks.reduce((sum, block) => sum + block.length, 0) >= 1_200_000,
    'the large block',
  );
  await assert.rejects(
    orderer.submit(Buffer.alloc(TX_BYTES_MAX + 1)),
    RangeError,
    'a transaction over 1 MiB is refused',
  );
  await orderer.close();
  assert.deepEqual(Buffer.concat(consumer.blocks), Buffer.concat(txs));
  const client = new Etcd3({ hosts: cluster.endpoints });
  try {
    const parts = await client.getAll().prefix(`chartchain/${namespace}/parts/`).keys();
    assert.ok(
      parts.length >= 3,
      `block split into ${parts.length} parts of ≤ ${PART_SIZE_BYTES} bytes`,
    );
    await assert.rejects(orderer.submit(Buffer.from('late')), OrdererStoppedError);
  } finally {
    client.close();
  }
});

test('a queue of 1 MiB transactions is read in pages of bounded bytes, and each block keeps to its byte limit', async () => {
  const namespace = `big-queue-${randomBytes(4).toString('hex')}`;
  const blockBytesMax = 2.5 * 1024 * 1024;
  const orderer = await EtcdOrderer.open({
    ...etcdOnly,
    blockTxCountMax: 16,
    blockBytesMax,
    endpoints: cluster.endpoints,
    namespace,
    nodeId: 'n0',
  });
  const txs = [0, 1, 2, 3, 4, 5, 6].map((i) => Buffer.alloc(TX_BYTES_MAX - i, 97 + i));
  await Promise.all(txs.map((tx) => orderer.submit(tx)));
  const consumer = new BytesConsumer();
  await orderer.start(consumer);
  await until(
    () =>
      consumer.blocks.reduce((sum, block) => sum + block.length, 0) >=
      txs.reduce((sum, tx) => sum + tx.length, 0),
    'seven 1 MiB transactions',
  );
  await orderer.close();
  assert.deepEqual(Buffer.concat(consumer.blocks), Buffer.concat(txs));
  assert.deepEqual(
    consumer.blocks.map((block) => Math.round(block.length / TX_BYTES_MAX)),
    [2, 2, 2, 1],
  );
});

test('an orderer crashed at any moment of its start, even while its first watches are being created, stops', async () => {
  const namespace = `crash-early-${randomBytes(4).toString('hex')}`;
  for (let delayMs = 0; delayMs <= 30; delayMs += 3) {
    const orderer = await EtcdOrderer.open({
      ...etcdOnly,
      endpoints: cluster.endpoints,
      namespace,
      nodeId: `n${delayMs}`,
    });
    void orderer.start(new BytesConsumer()).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const stopped = await Promise.race([
      orderer.crash().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(resolve, 5_000, 'hung')),
    ]);
    assert.equal(stopped, 'stopped', `crash ${delayMs} ms after start`);
  }
});

test('blocks every node has committed are deleted and etcd history compacted; a node left behind is told so', async () => {
  const namespace = `compact-${randomBytes(4).toString('hex')}`;
  const open = (nodeId: string, onFatal?: (error: Error) => void) =>
    EtcdOrderer.open({
      ...etcdOnly,
      compactIntervalMs: 100,
      endpoints: cluster.endpoints,
      namespace,
      nodeId,
      ...(onFatal === undefined ? {} : { onFatal }),
    });
  const nodes = await Promise.all([open('n0'), open('n1')]);
  const consumers = [new BytesConsumer(), new BytesConsumer()];
  await Promise.all(nodes.map((node, i) => node.start(consumers[i]!)));
  const client = new Etcd3({ hosts: cluster.endpoints });
  try {
    const firstRevision = (await client.get('x').exec()).header.revision;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => nodes[i % 2]!.submit(Buffer.from(`c-${i}`))),
    );
    await until(
      () => consumers.every((consumer) => consumer.blocks.length >= 15),
      'every block on both nodes',
    );
    const floor = async (): Promise<number> => {
      const keys = await client.getAll().prefix(`chartchain/${namespace}/manifests/`).keys();
      return keys.length === 0 ? -1 : Number(keys[0]!.slice(keys[0]!.lastIndexOf('/') + 1));
    };
    await until(
      async () => (await floor()) >= consumers[0]!.blocks.length - 1,
      'blocks below the committed height deleted',
    );
    await until(
      () =>
        client
          .get('x')
          .revision(firstRevision)
          .exec()
          .then(
            () => false,
            () => true,
          ),
      'history compacted',
    );
    await until(
      async () =>
        (await client.getAll().prefix(`chartchain/${namespace}/writers/`).keys()).length === 0,
      'idle writers forgotten',
    );
    await nodes[1]!.submit(Buffer.from('after-forgetting'));
    await until(
      () => consumers[0]!.blocks.some((block) => block.toString() === 'after-forgetting'),
      'a forgotten writer writing again',
    );
    const fatal: Error[] = [];
    const late = await open('n2', (error) => fatal.push(error));
    await late.start(new BytesConsumer(0));
    await until(() => fatal.length === 1, 'the late node to be told its blocks are gone');
    assert.match(fatal[0]!.message, /no longer in etcd.*cannot fetch it from peers/);
    await late.close();
  } finally {
    client.close();
    await Promise.all(nodes.map((node) => node.close()));
  }
});

test('a txId is delivered once however often it reaches the queue (two nodes, a late client retry)', async () => {
  const namespace = `dedupe-${randomBytes(4).toString('hex')}`;
  const nodes = await Promise.all(
    ['n0', 'n1'].map((nodeId) =>
      EtcdOrderer.open({ ...etcdOnly, endpoints: cluster.endpoints, namespace, nodeId }),
    ),
  );
  const consumers = [new BytesConsumer(), new BytesConsumer()];
  await Promise.all(nodes.map((node, i) => node.start(consumers[i]!)));
  const client = new Etcd3({ hosts: cluster.endpoints });
  try {
    const same = Buffer.from('same-tx;');
    await Promise.all([
      nodes[0]!.submit(same),
      nodes[1]!.submit(same),
      nodes[0]!.submit(Buffer.from('other;')),
    ]);
    await until(
      () =>
        consumers.every(
          (consumer) => Buffer.concat(consumer.blocks).toString().split(';').length >= 3,
        ),
      'both transactions',
    );
    // A client retry that lands after its transaction was ordered: the same bytes, re-queued.
    await client.put(`chartchain/${namespace}/txq/retry.0/0000000000000001`).value(same);
    await client.put(`chartchain/${namespace}/writers/retry.0`).value('1');
    await nodes[1]!.submit(Buffer.from('last;'));
    await until(
      () =>
        consumers.every((consumer) => Buffer.concat(consumer.blocks).toString().includes('last;')),
      'the last transaction',
    );
    for (const consumer of consumers)
      assert.deepEqual(
        Buffer.concat(consumer.blocks).toString().split(';').filter(Boolean).sort(),
        ['last', 'other', 'same-tx'],
      );
    await until(
      async () =>
        (await client.getAll().prefix(`chartchain/${namespace}/txq/`).keys()).length === 0,
      'the duplicate dropped from the queue',
    );
  } finally {
    client.close();
    await Promise.all(nodes.map((node) => node.close()));
  }
});
