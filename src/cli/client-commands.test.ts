import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { exportJWK } from 'jose';
import { generateJoseKeyPair } from '../api/index.js';
import { ChartChainNode } from '../node/index.js';
import { startNode } from './testonly/start-node.js';
import { clientCredentialsToken } from './org-client.js';
import { chartchain } from './testonly/run-cli.js';

/** A new node's data directory, removed after `t`, and a client key pair whose public JWK set (kid k1) is in `jwks`. */
async function nodeAndClientKey(t: TestContext, client: string) {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-clients-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const { publicKey, privateKey } = await generateJoseKeyPair('EdDSA');
  const jwks = join(dir, `${client}.jwks.json`);
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
  return { dir, jwks, privateKey };
}

test('clients add lets a backend client get system/*.rs tokens from a running node; remove stops it at once', async (t) => {
  const { dir, jwks, privateKey } = await nodeAndClientKey(t, 'analytics');

  assert.equal(
    await chartchain('clients', 'add', 'analytics', '--jwks', jwks, '--data', dir),
    'added analytics (system/*.rs)\n',
  );
  assert.equal(
    statSync(join(dir, 'clients.json')).mode & 0o077,
    0,
    'the clients file is owner-only',
  );
  assert.match(
    await chartchain('clients', 'list', '--data', dir),
    /^analytics\tsystem\/\*\.rs\tk1\t\d{4}-/m,
  );

  const started = await startNode(t, dir);
  const client = { clientId: 'analytics', kid: 'k1', alg: 'EdDSA', privateKey };
  const token = await clientCredentialsToken(started.origin, { ...client, scope: 'system/*.rs' });
  const search = await fetch(`${started.origin}/fhir/Patient?_count=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(search.status, 200);
  // Asking for more is narrowed to what it was registered with (SMART): reads, never writes.
  const narrowed = await clientCredentialsToken(started.origin, {
    ...client,
    scope: 'system/*.cruds',
  });
  const create = await fetch(`${started.origin}/fhir/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${narrowed}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient' }),
  });
  assert.equal(create.status, 403);

  assert.equal(
    await chartchain('clients', 'remove', 'analytics', '--data', dir),
    'removed analytics\n',
  );
  await assert.rejects(
    clientCredentialsToken(started.origin, { ...client, scope: 'system/*.rs' }),
    /token refused: invalid_client/,
  );
});

test('clients commands refuse what would be unsafe or ambiguous, naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-clients-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(chartchain('clients', 'list', '--data', dir), /holds no node/);
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const { publicKey, privateKey } = await generateJoseKeyPair('EdDSA');
  const file = (name: string, keys: unknown[]) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ keys }));
    return path;
  };
  const good = file('good.json', [await exportJWK(publicKey)]);
  const add = (id: string, jwks: string, ...more: string[]) =>
    chartchain('clients', 'add', id, '--jwks', jwks, '--data', dir, ...more);
  await assert.rejects(add('organisation', good), /is the node's own/);
  await assert.rejects(
    add('lab', file('private.json', [await exportJWK(privateKey)])),
    /public keys only/,
  );
  await assert.rejects(add('lab', file('empty.json', [])), /non-empty JWK set/);
  await assert.rejects(add('lab', good, '--scope', 'user/*.rs'), /system\/ scopes only/);
  await assert.rejects(add('lab space', good), /client_id must be/);
  await add('lab', good);
  await assert.rejects(add('lab', good), /already registered/);
  await assert.rejects(
    chartchain('clients', 'remove', 'nobody', '--data', dir),
    /no client named nobody/,
  );
});

test('a clients file others may write is tightened at start, and refused while running; a damaged one refuses every client, with an alarm, until repaired', async (t) => {
  const { dir, jwks, privateKey } = await nodeAndClientKey(t, 'lab');
  await chartchain('clients', 'add', 'lab', '--jwks', jwks, '--data', dir);
  const file = join(dir, 'clients.json');
  const good = readFileSync(file);
  chmodSync(file, 0o666);
  const started = await startNode(t, dir);
  const token = () =>
    clientCredentialsToken(started.origin, {
      clientId: 'lab',
      kid: 'k1',
      alg: 'EdDSA',
      privateKey,
      scope: 'system/*.rs',
    });
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the start made it owner-only again');
  assert.ok(await token());
  chmodSync(file, 0o666);
  await assert.rejects(token(), /token refused: invalid_client/, 'others may write it');
  chmodSync(file, 0o600);
  writeFileSync(file, '{"clients": [', { mode: 0o600 });
  await assert.rejects(token(), /token refused: invalid_client/);
  assert.ok(started.node.records.alarms.some((alarm) => alarm.kind === 'clients'));
  writeFileSync(file, good, { mode: 0o600 });
  assert.ok(await token());
  assert.ok(!started.node.records.alarms.some((alarm) => alarm.kind === 'clients'));
});
