/**
 * A node that starts after etcd has compacted the blocks it lacks syncs them from its peers
 * over node-signed HTTP, validating every block as it would one from the orderer: a peer that
 * serves a forged block is named in an alarm and the next peer is asked. It then follows etcd
 * and ends with the same chain as the others.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildServer } from '../src/api/index.js';
import { EtcdOrderer } from '../src/consensus/index.js';
import { BlockLog } from '../src/consensus/etcd/block-log.js';
import { connectEtcd } from '../src/consensus/etcd/etcd-client.js';
import { EtcdKeys } from '../src/consensus/etcd/etcd-keys.js';
import { canonicalize, fromUtf8, generateSigningKey, toHex, utf8 } from '../src/crypto/index.js';
import {
  adoptGenesis,
  blockLines,
  buildGenesis,
  ChartChainNode,
  httpTransport,
  identityOf,
  loadOrgKeys,
  readNodeConfig,
  signPeerRequest,
  writeNodeConfig,
  type PeerTransport,
} from '../src/node/index.js';
import { EtcdTestCluster } from './etcd-cluster.js';

const ORGS = ['practice-a', 'hospital-b', 'lab-c'] as const;
const FORGING_PEER = 'http://lab-c.invalid';

async function openOnEtcd(
  dir: string,
  endpoints: string[],
  namespace: string,
  peerTransport?: PeerTransport,
): Promise<ChartChainNode> {
  let halt: (error: Error) => void = () => undefined;
  const orderer = await EtcdOrderer.open({
    endpoints,
    namespace,
    nodeId: readNodeConfig(dir)!.orgId,
    blockTxCountMax: 5,
    batchTimeoutMs: 5,
    pendingTxCountMax: 1_000,
    compactIntervalMs: 100,
    onFatal: (error) => halt(error),
  });
  return ChartChainNode.open(dir, {
    verifyPoolSize: 1,
    orderer: (onFatal) => ((halt = onFatal), orderer),
    ...(peerTransport === undefined ? {} : { peerTransport }),
  });
}

/** Serves what the practice serves, with the first block's time changed: a peer forging a block. */
function forgingTransport(practiceUrl: string): PeerTransport {
  return {
    async get(url, headers, sizeMax) {
      if (!url.startsWith(FORGING_PEER)) return httpTransport.get(url, headers, sizeMax);
      const answer = await httpTransport.get(
        practiceUrl + url.slice(FORGING_PEER.length),
        headers,
        sizeMax,
      );
      if (answer.body === undefined) return answer;
      const [first, ...rest] = blockLines(answer.body);
      const block = JSON.parse(fromUtf8(first!)) as { header: { time: number } };
      block.header.time += 1;
      return {
        status: 200,
        body: utf8([canonicalize(block), ...rest.map(fromUtf8), ''].join('\n')),
      };
    },
  };
}

async function registerPatients(
  node: ChartChainNode,
  prefix: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const body = {
      patientId: `${prefix}-${i}`,
      signingKey: toHex(generateSigningKey().publicKey),
      encryptionKey: '11'.repeat(32),
      custody: 'self',
    };
    assert.equal(
      (await node.submitAndWait(node.signAsOrg('membership.register-patient', body))).status,
      'ok',
    );
  }
}

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function networkDirs(t: TestContext): string[] {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-peer-sync-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dirs = ORGS.map((orgId) => {
    const dir = join(root, orgId);
    ChartChainNode.init(dir, { orgId, orgName: orgId, network: 'unused', join: true });
    return dir;
  });
  const genesis = buildGenesis(
    'peer-sync',
    dirs.map((dir) => identityOf(readNodeConfig(dir)!, loadOrgKeys(dir))),
    Date.now(),
  );
  for (const dir of dirs) adoptGenesis(dir, genesis);
  return dirs;
}

test(
  'a node starting after etcd compacted its blocks syncs them from peers, refuses a forged one, and follows etcd',
  { timeout: 120_000 },
  async (t) => {
    // Closed in reverse order, the etcd cluster last: stopped first, it would leave the nodes'
    // watches retrying for ever and the test process alive.
    const closing: (() => unknown)[] = [];
    t.after(async () => {
      for (const close of closing.reverse()) await close();
    });
    const cluster = await EtcdTestCluster.start(1);
    closing.push(() => cluster.stop());
    const [practiceDir, hospitalDir] = networkDirs(t);
    const namespace = `peer-sync-${Date.now()}`;

    const practice = await openOnEtcd(practiceDir!, cluster.endpoints, namespace);
    const app = buildServer(practice);
    closing.push(async () => {
      await app.close();
      await practice.close();
    });
    const practiceUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    await registerPatients(practice, 'early', 12);

    const client = connectEtcd(cluster.endpoints);
    closing.push(() => client.close());
    const log = new BlockLog(client, new EtcdKeys(namespace));
    await until('etcd to compact the early blocks', async () => ((await log.floor()) ?? 0) > 5);

    const signed = signPeerRequest(
      loadOrgKeys(hospitalDir!).signing,
      'hospital-b',
      'GET',
      '/peer/blocks?from=1&count=2',
    );
    assert.equal(
      (await fetch(`${practiceUrl}/peer/blocks?from=1&count=2`)).status,
      401,
      'unsigned',
    );
    const page = await fetch(`${practiceUrl}/peer/blocks?from=1&count=2`, { headers: signed });
    assert.equal(page.status, 200);
    assert.equal(blockLines(new Uint8Array(await page.arrayBuffer())).length, 2);
    const zero = await fetch(`${practiceUrl}/peer/blocks?from=1&count=0`, {
      headers: signPeerRequest(
        loadOrgKeys(hospitalDir!).signing,
        'hospital-b',
        'GET',
        '/peer/blocks?from=1&count=0',
      ),
    });
    assert.equal(zero.status, 400, 'count out of range');

    // The hospital knows two peers: the lab (first in id order), which forges, and the practice.
    writeNodeConfig(hospitalDir!, {
      ...readNodeConfig(hospitalDir!)!,
      peers: { 'lab-c': FORGING_PEER, 'practice-a': practiceUrl },
    });
    const hospital = await openOnEtcd(
      hospitalDir!,
      cluster.endpoints,
      namespace,
      forgingTransport(practiceUrl),
    );
    closing.push(() => hospital.close());

    assert.ok(
      hospital.head().height >= 5,
      `synced past the compacted blocks (at ${hospital.head().height})`,
    );
    const alarms = hospital.records.alarms.map((alarm) => alarm.reason);
    assert.ok(
      alarms.some((reason) =>
        /^peer lab-c sent block 1 that fails validation \(.*\): refused$/.test(reason),
      ),
      JSON.stringify(alarms),
    );

    await registerPatients(practice, 'late', 3);
    await until(
      "the hospital to reach the practice's head",
      () => hospital.head().height === practice.head().height,
    );
    assert.equal(
      hospital.blockHash(hospital.head().height),
      practice.blockHash(practice.head().height),
    );
    assert.equal(hospital.head().appHash, practice.head().appHash);
    assert.equal(hospital.halted, undefined);
  },
);
