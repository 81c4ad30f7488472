import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { EtcdTestCluster } from '../../../test/etcd-cluster.js';

const cluster = await EtcdTestCluster.start(1);
after(() => cluster.stop());

const CHILD = fileURLToPath(new URL('../../../test/etcd-close-child.ts', import.meta.url));

/** Runs the child; resolves with its exit code, or 'alive' if it still runs after `ms`. */
function exitWithin(ms: number): Promise<number | 'alive'> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, cluster.endpoints[0]!], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('alive');
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

test(
  'a closed etcd client keeps nothing running, even an election candidate still waiting for the leader',
  { timeout: 60_000 },
  async () => {
    assert.equal(await exitWithin(15_000), 0);
  },
);
