import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ETCD_MISSING, EtcdTestCluster, requireEtcd } from './etcd-cluster.js';

test('without etcd on PATH the helper says how to install it', () => {
  const path = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    assert.throws(() => requireEtcd(), { message: ETCD_MISSING });
    assert.match(ETCD_MISSING, /install it with `apt-get install etcd-server`/);
  } finally {
    process.env['PATH'] = path;
  }
});

test(
  'stop() ends every member it started, even one restarted after a kill',
  { timeout: 60_000 },
  async () => {
    const cluster = await EtcdTestCluster.start(1);
    const [endpoint] = cluster.endpoints;
    await cluster.kill(0);
    cluster.restart(0);
    await cluster.waitReady();
    await cluster.stop();
    await assert.rejects(fetch(`${endpoint!}/health`, { signal: AbortSignal.timeout(2_000) }));
  },
);
