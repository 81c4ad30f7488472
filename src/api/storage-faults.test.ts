/**
 * Storage faults at the HTTP edge: a damaged search index, corrupted transaction bytes under
 * $verify, a full disk. Each is an alarm in /ledger/status and a named answer (503 with
 * Retry-After, or 500 naming record, version and stage), never a crash or a bare 500.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { JsonObject } from '../ledger/index.js';
import { ChartChainNode } from '../node/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import { buildServer } from './server.js';

const ORG = 'practice-a';
const ORIGIN = 'http://localhost:80';
const auth = await AuthServer.create({ issuer: ORIGIN, fhirBaseUrl: `${ORIGIN}/fhir` });
const AS_DOCTOR = { authorization: `Bearer ${await auth.tokens.issue({ principal: { kind: 'practitioner', id: 'dr-ada', org: ORG }, scopes: parseScopes('user/*.cruds') })}` };

interface Served {
  readonly dir: string;
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** A node with /ledger and /fhir over `dir` (initialised with practitioner dr-ada on first use). */
async function serve(t: TestContext, dir = mkdtempSync(join(tmpdir(), 'chartchain-faults-'))): Promise<Served> {
  const fresh = readdirSync(dir).length === 0;
  if (fresh) ChartChainNode.init(dir, { orgId: ORG, orgName: 'Practice A', network: 'test', orderer: { batchTimeoutMs: 5 } });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  if (fresh) {
    const keys = node.records.enrol('practitioner', 'dr-ada');
    assert.equal((await node.submitAndWait(node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-ada', ...keys }))).status, 'ok');
  }
  const app = buildServer(node, { auth });
  await app.ready();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close();
    await node.close();
  };
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, node, app, close };
}

const fhirJson = (method: InjectOptions['method'], url: string, body: unknown): InjectOptions => ({
  method,
  url,
  headers: { 'content-type': 'application/fhir+json', ...AS_DOCTOR },
  payload: JSON.stringify(body),
});

async function createPatient(app: FastifyInstance, node: ChartChainNode, family: string): Promise<string> {
  const created = await app.inject(fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }], gender: 'female' }));
  assert.equal(created.statusCode, 201, created.body);
  const id = String((created.json() as JsonObject)['id']);
  const terms = { grantee: { kind: 'organisation' as const, id: ORG }, actions: ['read' as const], resourceTypes: [], recordIds: [], excludeLabels: [], purposes: ['TREAT'], period: { start: 0, end: null } };
  assert.equal(await node.consent.grant(id, `grant-${id}`, terms), 'ok');
  return id;
}

async function alarms(app: FastifyInstance): Promise<{ kind: string; reason: string }[]> {
  return ((await app.inject({ url: '/ledger/status' })).json() as { alarms: { kind: string; reason: string }[] }).alarms;
}

/** Overwrites every page of `path` after the first two with garbage, as a failing disk might. */
function damagePages(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(size - 8192, 0x5a), 0, size - 8192, 8192);
  } finally {
    closeSync(fd);
  }
}

test('a damaged search.db is set aside and rebuilt from the chain; searches answer 503 meanwhile, and the process lives on', async (t) => {
  const first = await serve(t);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await createPatient(first.app, first.node, `Quarrington${i}`));
  await first.close();
  damagePages(join(first.dir, 'search.db'));

  const { app, node, dir } = await serve(t, first.dir);
  // The next write's batched put hits the damaged pages inside setImmediate: it used to end the process.
  ids.push(await createPatient(app, node, 'Quarringtonlast'));
  await new Promise((resolve) => setImmediate(resolve));
  const during = await app.inject({ url: '/fhir/Patient?family=quarrington', headers: AS_DOCTOR });
  assert.equal(during.statusCode, 503, during.body);
  assert.equal(during.headers['retry-after'], '5');
  assert.equal((during.json() as JsonObject)['resourceType'], 'OperationOutcome');
  assert.equal(((during.json() as { issue: JsonObject[] }).issue[0]!)['code'], 'transient');
  const raised = await alarms(app);
  assert.ok(raised.some((alarm) => alarm.kind === 'search-index' && /damaged/.test(alarm.reason)), JSON.stringify(raised));
  assert.ok(readdirSync(dir).some((name) => /^search\.db\.damaged-\d+$/.test(name)), 'the damaged file is set aside');

  let after = during;
  for (let attempt = 0; attempt < 50 && after.statusCode === 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await app.inject({ url: '/fhir/Patient?family=quarrington&_count=100', headers: AS_DOCTOR });
  }
  assert.equal(after.statusCode, 200, after.body);
  const found = ((after.json() as { entry: { resource: JsonObject }[] }).entry).map((entry) => String(entry.resource['id']));
  assert.deepEqual(found.sort(), [...ids].sort(), 'the rebuilt index holds every patient, the one written during the fault too');
});
