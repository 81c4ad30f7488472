/**
 * Storage faults at the HTTP edge: a damaged search index, corrupted transaction bytes under
 * $verify, a full disk. Each is an alarm in /ledger/status and a named answer (503 with
 * Retry-After, or 500 naming record, version and stage), never a crash or a bare 500.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { FastifyInstance, HTTPMethods, InjectOptions } from 'fastify';
import type { JsonObject } from '../ledger/index.js';
import { ChartChainNode, CommitTimeoutError } from '../node/index.js';
import { diskFullError } from '../storage/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import { buildServer } from './server.js';

const ORG = 'practice-a';
const ORIGIN = 'http://localhost:80';
const auth = await AuthServer.create({ issuer: ORIGIN, fhirBaseUrl: `${ORIGIN}/fhir` });
const AS_DOCTOR = {
  authorization: `Bearer ${await auth.tokens.issue({ principal: { kind: 'practitioner', id: 'dr-ada', org: ORG }, scopes: parseScopes('user/*.cruds') })}`,
};

interface Served {
  readonly dir: string;
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** A node with /ledger and /fhir over `dir` (initialised with practitioner dr-ada on first use). */
async function serve(
  t: TestContext,
  dir = mkdtempSync(join(tmpdir(), 'chartchain-faults-')),
): Promise<Served> {
  const fresh = readdirSync(dir).length === 0;
  if (fresh)
    ChartChainNode.init(dir, {
      orgId: ORG,
      orgName: 'Practice A',
      network: 'test',
      orderer: { batchTimeoutMs: 5 },
    });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  if (fresh) {
    const keys = node.records.enrol('practitioner', 'dr-ada');
    assert.equal(
      (
        await node.submitAndWait(
          node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-ada', ...keys }),
        )
      ).status,
      'ok',
    );
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

const fhirJson = (method: HTTPMethods, url: string, body: unknown): InjectOptions => ({
  method,
  url,
  headers: { 'content-type': 'application/fhir+json', ...AS_DOCTOR },
  payload: JSON.stringify(body),
});

async function createPatient(
  app: FastifyInstance,
  node: ChartChainNode,
  family: string,
): Promise<string> {
  const created = await app.inject(
    fhirJson('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family }],
      gender: 'female',
    }),
  );
  assert.equal(created.statusCode, 201, created.body);
  const id = String((created.json() as JsonObject)['id']);
  const terms = {
    grantee: { kind: 'organisation' as const, id: ORG },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(
    await node.consent.grant(node.pseudonyms.patientIdOf(id)!, `grant-${id}`, terms),
    'ok',
  );
  return id;
}

async function alarms(app: FastifyInstance): Promise<{ kind: string; reason: string }[]> {
  return (
    (await app.inject({ url: '/ledger/status' })).json() as {
      alarms: { kind: string; reason: string }[];
    }
  ).alarms;
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

test('a damaged search.db is deleted and rebuilt from the chain; searches answer 503 meanwhile, and the process lives on', async (t) => {
  const first = await serve(t);
  const ids = [];
  for (let i = 0; i < 3; i++)
    ids.push(await createPatient(first.app, first.node, `Quarrington${i}`));
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
  assert.equal((during.json() as { issue: JsonObject[] }).issue[0]!['code'], 'transient');
  const raised = await alarms(app);
  assert.ok(
    raised.some((alarm) => alarm.kind === 'search-index' && /damaged/.test(alarm.reason)),
    JSON.stringify(raised),
  );
  assert.ok(
    !readdirSync(dir).some((name) => /^search\.db\.damaged/.test(name)),
    "no damaged copy is kept: it holds patients' values, which erasure must reach",
  );

  let after = during;
  for (let attempt = 0; attempt < 50 && after.statusCode === 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await app.inject({
      url: '/fhir/Patient?family=quarrington&_count=100',
      headers: AS_DOCTOR,
    });
  }
  assert.equal(after.statusCode, 200, after.body);
  const found = (after.json() as { entry: { resource: JsonObject }[] }).entry.map((entry) =>
    String(entry.resource['id']),
  );
  assert.deepEqual(
    found.sort(),
    [...ids].sort(),
    'the rebuilt index holds every patient, the one written during the fault too',
  );
});

async function createObservation(app: FastifyInstance, patientId: string): Promise<string> {
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Heart rate' },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: 72.5, unit: '/min' },
  };
  const created = await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  assert.equal(created.statusCode, 201, created.body);
  return String((created.json() as JsonObject)['id']);
}

function issueOf(
  response: { statusCode: number; json: () => unknown },
  status: number,
): JsonObject {
  assert.equal(response.statusCode, status);
  const body = response.json() as { resourceType: string; issue: JsonObject[] };
  assert.equal(body.resourceType, 'OperationOutcome');
  return body.issue[0]!;
}

test('$verify re-hashes the stored transaction: corrupted bytes are a 500 naming record, version and stage, and an alarm, never a 200', async (t) => {
  const { app, node, dir } = await serve(t);
  const patientId = await createPatient(app, node, 'Vandermeer');
  const observationId = await createObservation(app, patientId);
  const url = `/fhir/Observation/${observationId}/_history/1/$verify`;
  assert.equal((await app.inject({ url, headers: AS_DOCTOR })).statusCode, 200);

  // Flip one byte of the anchoring transaction as stored, as a failing disk or a hostile hand might.
  const recordId = node.pseudonyms.recordIdOf('Observation', observationId)!;
  const { txId } = node.records.version(recordId, 1)!;
  const { leafIndex } = node.lookupTx(txId) as { leafIndex: number };
  const db = new Database(join(dir, 'chain.db'));
  try {
    const bytes = db
      .prepare('SELECT bytes FROM tx WHERE leaf_index = ?')
      .pluck()
      .get(leafIndex) as Buffer;
    const at = bytes.indexOf('"nonce":') + 8;
    bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
    db.prepare('UPDATE tx SET bytes = ? WHERE leaf_index = ?').run(bytes, leafIndex);
  } finally {
    db.close();
  }
  const issue = issueOf(await app.inject({ url, headers: AS_DOCTOR }), 500);
  assert.match(
    String(issue['diagnostics']),
    new RegExp(`record ${recordId} version 1 failed its transaction-hash integrity check`),
  );
  assert.doesNotMatch(String(issue['diagnostics']), /Heart|72\.5|\/min/); // the record's id is random hex and may contain 72
  assert.ok(
    (await alarms(app)).some(
      (alarm) => alarm.kind === 'integrity' && alarm.reason.includes('transaction-hash'),
    ),
  );
});

test('a record whose blob fails its hash is a 500 naming record, version and stage, with an alarm', async (t) => {
  const { app, node } = await serve(t);
  const patientId = await createPatient(app, node, 'Brightwater');
  const observationId = await createObservation(app, patientId);
  const recordId = node.pseudonyms.recordIdOf('Observation', observationId)!;
  const hash = node.records.version(recordId, 1)!.ciphertextHash!;
  const place = node.records.blobs.place(hash)!;
  const bytes = readFileSync(place.path);
  bytes[place.offset] = bytes[place.offset]! ^ 0x01;
  writeFileSync(place.path, bytes);
  const issue = issueOf(
    await app.inject({ url: `/fhir/Observation/${observationId}`, headers: AS_DOCTOR }),
    500,
  );
  assert.equal(issue['code'], 'exception');
  assert.match(
    String(issue['diagnostics']),
    new RegExp(`record ${recordId} version 1 failed its blob-hash integrity check`),
  );
  assert.ok(
    (await alarms(app)).some(
      (alarm) => alarm.kind === 'integrity' && alarm.reason.includes('blob-hash'),
    ),
  );
});

test('a full disk is 503 with Retry-After and a disk-full alarm wherever a write fails, cleared once a write succeeds, nothing acknowledged lost', async (t) => {
  const { app, node } = await serve(t);
  const patientId = await createPatient(app, node, 'Fullerton');

  // The blob store cannot write the ciphertext.
  const put = node.records.blobs.put.bind(node.records.blobs);
  node.records.blobs.put = async () => Promise.reject(diskFullError());
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Heart rate' },
    subject: { reference: `Patient/${patientId}` },
  };
  const refused = await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  assert.equal(issueOf(refused, 503)['code'], 'transient');
  assert.equal(refused.headers['retry-after'], '10');
  assert.deepEqual((await alarms(app)).filter((alarm) => alarm.kind === 'disk-full').length, 1);
  await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  assert.deepEqual(
    (await alarms(app)).filter((alarm) => alarm.kind === 'disk-full').length,
    1,
    'one standing alarm, not one per request',
  );
  node.records.blobs.put = put;

  // The keystore cannot seal a new custodial patient's keys.
  const keystorePut = node.records.keystore.put.bind(node.records.keystore);
  node.records.keystore.put = () => {
    throw diskFullError('fsync');
  };
  node.records.clearCondition('disk-full');
  const enrolment = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'male' }),
  );
  assert.equal(issueOf(enrolment, 503)['code'], 'transient');
  assert.ok(
    (await alarms(app)).some(
      (alarm) => alarm.kind === 'disk-full' && alarm.reason.includes('keystore'),
    ),
  );
  node.records.keystore.put = keystorePut;

  // The orderer's queue cannot take the transaction: /ledger/tx says so in its own vocabulary.
  const orderer = (node as unknown as { orderer: { submit: (bytes: Uint8Array) => Promise<void> } })
    .orderer;
  const submit = orderer.submit.bind(orderer);
  orderer.submit = async () =>
    Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
  const tx = node.signAsOrg('membership.register-patient', {
    patientId: 'patient-queued',
    signingKey: '11'.repeat(32),
    encryptionKey: '22'.repeat(32),
    custody: 'self',
  });
  const queued = await app.inject({
    method: 'POST',
    url: '/ledger/tx',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(tx),
  });
  assert.equal(queued.statusCode, 503);
  assert.equal(queued.headers['retry-after'], '10');
  assert.equal((queued.json() as { error: string }).error, 'unavailable:disk-full');
  orderer.submit = submit;

  // The block commit itself: the node waits for space instead of halting, and commits the acknowledged transaction.
  const commit = node.store.commit.bind(node.store);
  let failures = 3;
  node.store.commit = (block) => {
    if (failures-- > 0)
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return commit(block);
  };
  const created = await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(failures, -1, 'the commit was retried until it went through');
  assert.equal(node.halted, undefined);
  assert.deepEqual(
    (await alarms(app)).filter((alarm) => alarm.kind === 'disk-full'),
    [],
    'cleared by the write that succeeded',
  );
  const read = await app.inject({
    url: `/fhir/Observation/${String((created.json() as JsonObject)['id'])}`,
    headers: AS_DOCTOR,
  });
  assert.equal(read.statusCode, 200, read.body);
});

test('a write accepted but not committed in time (a commit waiting for disk space) is a 503 naming its transaction, not a bare 500', async (t) => {
  const { app, node } = await serve(t);
  const patientId = await createPatient(app, node, 'Waitingham');
  const waitForTx = node.waitForTx.bind(node);
  node.waitForTx = async (txId) => Promise.reject(new CommitTimeoutError(txId, 30_000));
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Heart rate' },
    subject: { reference: `Patient/${patientId}` },
  };
  const response = await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  node.waitForTx = waitForTx;
  const issue = issueOf(response, 503);
  assert.equal(response.headers['retry-after'], '10');
  const txId = /accepted as transaction ([0-9a-f]{64})/.exec(String(issue['diagnostics']))?.[1];
  assert.ok(txId !== undefined, String(issue['diagnostics']));
  assert.equal((await node.waitForTx(txId, 10_000)).status, 'ok', 'it commits all the same');
});
