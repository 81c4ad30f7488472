/**
 * A real node ordering through a real etcd: it commits, restarts and keeps its chain with no
 * transaction lost or committed twice; and when etcd is gone, a write is refused with 503 and
 * Retry-After (never acknowledged), and succeeds again once etcd is back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildServer } from '../src/api/index.js';
import { applyOrdererFlags } from '../src/cli/node-commands.js';
import { generateSigningKey, toHex } from '../src/crypto/index.js';
import { encodeTransaction, txIdOf } from '../src/ledger/index.js';
import { ChartChainNode, readNodeConfig } from '../src/node/index.js';
import { EtcdTestCluster } from './etcd-cluster.js';

const cluster = await EtcdTestCluster.start(1);
after(() => cluster.stop());

const patientBody = (id: string) => ({
  patientId: id,
  signingKey: toHex(generateSigningKey().publicKey),
  encryptionKey: '11'.repeat(32),
  custody: 'self',
});

function etcdNodeDir(network: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-etcd-node-'));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network,
    orderer: { batchTimeoutMs: 5 },
  });
  applyOrdererFlags(dir, { orderer: 'etcd', etcd: cluster.endpoints.join(',') });
  return dir;
}

/**
 * Registers `count` patients, resubmitting what is refused as unavailable:ordering, as a client
 * told 503 + Retry-After does: on a loaded machine an etcd call can outlast the orderer's
 * one-second breaker, most often while a new node first connects.
 */
async function registerPatients(
  node: ChartChainNode,
  prefix: string,
  count: number,
): Promise<string[]> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      registerPatient(node, `${prefix}-${String(i).padStart(4, '0')}`),
    ),
  );
  assert.ok(
    results.every((result) => result.status === 'ok'),
    JSON.stringify(results.find((result) => result.status !== 'ok')),
  );
  return results.map((result) => result.txId!);
}

async function registerPatient(
  node: ChartChainNode,
  patientId: string,
): Promise<Awaited<ReturnType<ChartChainNode['submitAndWait']>>> {
  const tx = node.signAsOrg('membership.register-patient', patientBody(patientId));
  for (let attempt = 1; ; attempt++) {
    const result = await node.submitAndWait(tx);
    if (result.status !== 'unavailable:ordering' || attempt === 10) return result;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Every transaction id in the node's chain, from genesis to head. */
function chainTxIds(node: ChartChainNode): string[] {
  const ids: string[] = [];
  for (let height = 0; height <= node.head().height; height++)
    ids.push(...node.block(height)!.txs.map((entry) => txIdOf(encodeTransaction(entry.tx))));
  return ids;
}

test(
  'a node on etcd commits, restarts and keeps its chain: nothing lost, nothing twice',
  { timeout: 120_000 },
  async (t) => {
    const dir = etcdNodeDir('node-restart');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(readNodeConfig(dir)!.orderer.kind, 'etcd');
    const first = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
    const before = await registerPatients(first, 'p', 40);
    const headBefore = first.head();
    const hashBefore = first.blockHash(headBefore.height);
    await first.close();

    const second = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
    try {
      assert.equal(second.head().height, headBefore.height, 'the chain survives the restart');
      assert.equal(second.blockHash(headBefore.height), hashBefore);
      const afterRestart = await registerPatients(second, 'q', 40);
      const ids = chainTxIds(second);
      assert.equal(new Set(ids).size, ids.length, 'no transaction committed twice');
      for (const txId of [...before, ...afterRestart])
        assert.ok(ids.includes(txId), `committed ${txId}`);
      assert.ok(second.head().height > headBefore.height);
    } finally {
      await second.close();
    }
  },
);

test(
  'etcd down: POST /ledger/tx is a 503 with Retry-After, and writes succeed again once it is back',
  { timeout: 120_000 },
  async (t) => {
    const dir = etcdNodeDir('node-outage');
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
    const app = buildServer(node);
    try {
      await registerPatients(node, 'up', 3);
      await cluster.kill(0);
      const refused = await app.inject({
        method: 'POST',
        url: '/ledger/tx',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(
          node.signAsOrg('membership.register-patient', patientBody('down-0001')),
        ),
      });
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal((refused.json() as { error: string }).error, 'unavailable:ordering');
      cluster.restart(0);
      await cluster.waitReady();
      let status = '';
      for (let attempt = 0; attempt < 50 && status !== 'ok'; attempt++) {
        status = (
          await node.submitAndWait(
            node.signAsOrg('membership.register-patient', patientBody(`back-${attempt}`)),
            10_000,
          )
        ).status;
        if (status !== 'ok') await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(status, 'ok', 'the node orders again once etcd is back');
    } finally {
      await app.close();
      await node.close();
    }
  },
);
