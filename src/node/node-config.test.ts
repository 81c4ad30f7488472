import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeConfigError } from './node-config-check.js';
import { readNodeConfig, type NodeConfig } from './node-config.js';
import { ordererChoice } from './orderer-choice.js';

const GOOD = {
  network: 'regional-hie',
  orgId: 'practice-a',
  orgName: 'Practice A',
  orderer: { kind: 'solo' },
};

function withConfig<T>(text: string, run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-config-'));
  try {
    writeFileSync(join(dir, 'node.json'), text);
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function problemsOf(config: unknown): readonly string[] {
  return withConfig(JSON.stringify(config), (dir) => {
    try {
      readNodeConfig(dir);
      return [];
    } catch (error) {
      assert.ok(error instanceof NodeConfigError, String(error));
      assert.match(error.message, /node\.json is not a valid node configuration/);
      return error.problems;
    }
  });
}

test('a good node.json reads with the solo defaults filled in', () => {
  const config = withConfig(JSON.stringify(GOOD), readNodeConfig)!;
  assert.equal(config.orgId, 'practice-a');
  assert.deepEqual(config.orderer, {
    kind: 'solo',
    blockTxCountMax: 2048,
    batchTimeoutMs: 20,
    pendingTxCountMax: 65_536,
  });
});

test('a node that joined no network yet has no network name and no genesis hash', () => {
  assert.deepEqual(problemsOf({ ...GOOD, network: '' }), []);
  assert.deepEqual(problemsOf({ ...GOOD, network: '', genesisHash: 'ab'.repeat(32) }), [
    'network must be a name of 1–128 printable characters',
  ]);
});

test('a directory without node.json holds no node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-config-'));
  try {
    assert.equal(readNodeConfig(dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a node.json that is not JSON is named as such', () => {
  withConfig('{"network": ', (dir) =>
    assert.throws(
      () => readNodeConfig(dir),
      (error: unknown) => error instanceof NodeConfigError && /not JSON/.test(error.problems[0]!),
    ),
  );
});

test('every bad field is named, one line each', () => {
  const problems = problemsOf({
    network: 7,
    orgId: 'Practice A',
    orgName: 7,
    genesisHash: 'abc',
    peers: { 'hospital-b': 'ftp://hospital' },
    orderer: { kind: 'raft', blockTxCountMax: 0, batchTimeoutMs: 1.5, leaseTtlSec: '2' },
  });
  const fields = [
    'network',
    'orgId',
    'orgName',
    'genesisHash',
    'peers.hospital-b',
    'orderer.kind',
    'orderer.leaseTtlSec',
    'orderer.blockTxCountMax',
    'orderer.batchTimeoutMs',
  ];
  assert.equal(problems.length, fields.length, problems.join('\n'));
  fields.forEach((field, i) => assert.ok(problems[i]!.startsWith(`${field} `), problems[i]));
});

test('an etcd orderer needs endpoints, as URLs', () => {
  assert.deepEqual(problemsOf({ ...GOOD, orderer: { kind: 'etcd' } }), [
    'orderer.endpoints must name at least one etcd member when orderer.kind is "etcd"',
  ]);
  assert.deepEqual(
    problemsOf({ ...GOOD, orderer: { kind: 'etcd', endpoints: ['127.0.0.1:2379'] } }),
    ['orderer.endpoints must be a list of http:// or https:// URLs'],
  );
  assert.deepEqual(problemsOf([GOOD]), ['the file must hold a JSON object']);
});

test('the orderer choice follows node.json: solo in the data directory, etcd under the network name', () => {
  const solo = {
    ...GOOD,
    orderer: { kind: 'solo', blockTxCountMax: 1, batchTimeoutMs: 1, pendingTxCountMax: 1 },
  } as NodeConfig;
  assert.deepEqual(ordererChoice('/data', solo), {
    kind: 'solo',
    queueFile: join('/data', 'orderer.db'),
  });
  const etcd = {
    ...GOOD,
    orderer: {
      ...solo.orderer,
      kind: 'etcd',
      endpoints: ['http://127.0.0.1:2379'],
      leaseTtlSec: 1,
    },
  } as NodeConfig;
  assert.deepEqual(ordererChoice('/data', etcd), {
    kind: 'etcd',
    endpoints: ['http://127.0.0.1:2379'],
    namespace: 'regional-hie',
    nodeId: 'practice-a',
    leaseTtlSec: 1,
  });
  assert.throws(
    () => ordererChoice('/data', { ...etcd, orderer: { ...etcd.orderer, endpoints: [] } }),
    RangeError,
  );
});
