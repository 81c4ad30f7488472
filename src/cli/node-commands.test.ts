import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEMO_PASSWORD } from '../api/index.js';
import { selfSignedCertificate } from '../crypto/index.js';
import { BLOB_GC_GRACE_MS, ChartChainNode, readNodeConfig } from '../node/index.js';
import { BlobStore } from '../storage/index.js';
import { login } from './login.js';
import { applyOrdererFlags, openServer, type StartFlags } from './node-commands.js';
import { orgToken } from './org-client.js';

/** A data directory whose node holds the demo practitioner's keys, as a node seeded on its first start does. */
async function seededOnce(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-start-'));
  ChartChainNode.init(dir, { orgId: 'demo-practice', orgName: 'Demo Practice', network: 'test' });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  node.records.enrol('practitioner', 'dr-ada');
  await node.close();
  return dir;
}

const flags = (data: string, demo: boolean): StartFlags => ({
  data,
  demo,
  host: '127.0.0.1',
  port: '0',
  orgId: 'demo-practice',
  orgName: 'Demo Practice',
  network: 'test',
});

test('a start collects blobs nothing references that are past the grace period, and keeps the rest', async (t) => {
  const dir = await seededOnce();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let clock = Date.now() - BLOB_GC_GRACE_MS - 60_000;
  const blobs = new BlobStore(join(dir, 'blobs'), { now: () => clock });
  const orphan = await blobs.put(new Uint8Array([1, 2, 3]));
  clock = Date.now();
  const recent = await blobs.put(new Uint8Array([4, 5, 6]));
  await blobs.close();
  const started = await openServer(flags(dir, false));
  await started.close();
  const after = new BlobStore(join(dir, 'blobs'));
  t.after(() => after.close());
  assert.deepEqual([after.has(orphan), after.has(recent)], [false, true]);
});

test('with --no-demo on a later start, the demo users of the first start cannot log in; with the demo on they can', async (t) => {
  const dir = await seededOnce();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const off = await openServer(flags(dir, false));
  try {
    assert.equal(off.demo.demo, false);
    await assert.rejects(
      login(off.origin, 'dr-ada', DEMO_PASSWORD, 'user/*.cruds'),
      /login refused/,
    );
    await assert.rejects(
      login(off.origin, 'auditor-ann', DEMO_PASSWORD, 'user/AuditEvent.rs'),
      /login refused/,
    );
  } finally {
    await off.close();
  }
  const on = await openServer(flags(dir, true));
  try {
    assert.equal(on.demo.demo, true);
    assert.match(
      (await login(on.origin, 'dr-ada', DEMO_PASSWORD, 'user/*.cruds')).access_token,
      /^ey/,
    );
  } finally {
    await on.close();
  }
});

test("the organisation's own backend client, authenticated by the organisation key, reads the ledger's blocks; nobody else's key gets a token", async (t) => {
  const dir = await seededOnce();
  const other = await seededOnce();
  t.after(() => [dir, other].forEach((path) => rmSync(path, { recursive: true, force: true })));
  const started = await openServer(flags(dir, false));
  t.after(() => started.close());
  assert.equal((await fetch(`${started.origin}/ledger/blocks/0`)).status, 401);
  const token = await orgToken(started.origin, dir);
  const block = await fetch(`${started.origin}/ledger/blocks/0`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(block.status, 200);
  assert.equal(((await block.json()) as { header: { height: number } }).header.height, 0);
  const fhir = await fetch(`${started.origin}/fhir/Patient?_count=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(fhir.status, 403, 'the organisation client reads the ledger, not records');
  await assert.rejects(orgToken(started.origin, other), /token refused/);
});

test('--orderer, --etcd and --proposer-lease are saved in node.json; a bad lease or an etcd orderer without endpoints is refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-orderer-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, { orgId: 'demo-practice', orgName: 'Demo Practice', network: 'test' });
  assert.throws(() => applyOrdererFlags(dir, { orderer: 'etcd' }), /needs --etcd/);
  applyOrdererFlags(dir, { etcd: 'http://127.0.0.1:2379, http://127.0.0.1:2381' });
  applyOrdererFlags(dir, { proposerLease: '1' });
  const { kind, endpoints, leaseTtlSec } = readNodeConfig(dir)!.orderer;
  assert.deepEqual(
    { kind, endpoints, leaseTtlSec },
    { kind: 'etcd', endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:2381'], leaseTtlSec: 1 },
  );
  for (const bad of ['0', '1.5', 'soon', '61'])
    assert.throws(() => applyOrdererFlags(dir, { proposerLease: bad }), /--proposer-lease must be/);
  assert.throws(
    () => applyOrdererFlags(dir, { orderer: 'raft' }),
    /--orderer must be solo or etcd/,
  );
  assert.equal(readNodeConfig(dir)!.orderer.leaseTtlSec, 1);
});

/** GET `url` over HTTPS trusting only `ca`: the status and the JSON body. */
function getJson(
  url: string,
  ca: string,
): Promise<{ status: number; hsts: string | undefined; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          hsts: response.headers['strict-transport-security'],
          body: JSON.parse(text) as Record<string, unknown>,
        }),
      );
    }).on('error', reject);
  });
}

test('start --tls-cert --tls-key serves HTTPS, and names https in the URLs its tokens and metadata carry', async (t) => {
  const dir = await seededOnce();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { certPem, keyPem } = selfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), certPem);
  writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
  const started = await openServer({
    ...flags(dir, false),
    tlsCert: join(dir, 'cert.pem'),
    tlsKey: join(dir, 'key.pem'),
  });
  t.after(() => started.close());
  assert.match(started.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
  const smart = await getJson(`${started.origin}/.well-known/smart-configuration`, certPem);
  assert.equal(smart.body['token_endpoint'], `${started.origin}/auth/token`);
  const read = await getJson(`${started.origin}/fhir/Patient/patient-0001`, certPem);
  assert.equal(read.status, 401);
  assert.match(String(read.hsts), /^max-age=/);
});

test('start with a missing certificate exits 1 with one line naming --tls-cert, no stack trace, and leaves the data directory alone', () => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-start-tls-'));
  try {
    const data = join(root, 'data');
    const cli = new URL('./main.ts', import.meta.url).pathname;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        'start',
        '--data',
        data,
        '--port',
        '0',
        '--tls-cert',
        join(root, 'missing.pem'),
        '--tls-key',
        join(root, 'key.pem'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.equal(
      run.stderr,
      `chartchain: --tls-cert: cannot read ${join(root, 'missing.pem')} (ENOENT)\n`,
    );
    assert.equal(existsSync(data), false, 'nothing was initialised');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
