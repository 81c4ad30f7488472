/**
 * Two organisations, two nodes in one process (two data dirs, two HTTP servers on loopback),
 * one shared in-memory ordered log: a record written at the practice is read by the hospital's
 * clinician at the hospital's node once the patient consents and an agreement is active, with
 * the ciphertext fetched from the practice over node-authenticated HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/api/index.js';
import { FhirService } from '../src/fhir/index.js';
import { MemoryCheckpointHub } from '../src/consensus/index.js';
import type { Transaction } from '../src/ledger/index.js';
import { canonicalize, fromUtf8, utf8 } from '../src/crypto/index.js';
import {
  adoptGenesis,
  buildGenesis,
  ChartChainNode,
  identityOf,
  loadOrgKeys,
  readNodeConfig,
  signPeerRequest,
} from '../src/node/index.js';
import { SharedLog, type SharedLogOrderer } from './shared-log-orderer.js';

interface Peer {
  readonly node: ChartChainNode;
  readonly orderer: SharedLogOrderer;
  readonly app: FastifyInstance;
  readonly url: string;
}

async function twoOrgNetwork(
  t: TestContext,
): Promise<{ practice: Peer; hospital: Peer; log: SharedLog }> {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-peers-'));
  const dirs = ['practice-a', 'hospital-b'].map((orgId) => {
    const dir = join(root, orgId);
    ChartChainNode.init(dir, { orgId, orgName: orgId, network: 'unused', join: true });
    return dir;
  });
  const genesis = buildGenesis(
    'peers',
    dirs.map((dir) => identityOf(readNodeConfig(dir)!, loadOrgKeys(dir))),
    Date.now(),
  );
  for (const dir of dirs) adoptGenesis(dir, genesis);
  const log = new SharedLog();
  const hub = new MemoryCheckpointHub();
  const peers: Peer[] = [];
  t.after(async () => {
    for (const peer of peers) await peer.app.close();
    for (const peer of peers) await peer.node.close();
    rmSync(root, { recursive: true, force: true });
  });
  for (const [i, dir] of dirs.entries()) {
    const orderer = log.orderer(i === 0);
    const node = await ChartChainNode.open(dir, {
      verifyPoolSize: 1,
      orderer: () => orderer,
      checkpoints: hub.connect(),
    });
    const app = buildServer(node);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    peers.push({ node, orderer, app, url });
  }
  const [practice, hospital] = peers as [Peer, Peer];
  practice.node.peers.setEndpoint('hospital-b', hospital.url);
  hospital.node.peers.setEndpoint('practice-a', practice.url);
  return { practice, hospital, log };
}

async function committed(node: ChartChainNode, tx: Transaction): Promise<string> {
  const { status, txId } = await node.submitAndWait(tx);
  assert.equal(status, 'ok', `${tx.type}: ${status}`);
  return txId!;
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Registers dr-b at the hospital, and dr-a and the custodial patient pt-1 at the practice. */
async function enrolPeople(practice: Peer, hospital: Peer): Promise<void> {
  const drB = hospital.node.records.enrol('practitioner', 'dr-b');
  await committed(
    hospital.node,
    hospital.node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-b', ...drB }),
  );
  const drA = practice.node.records.enrol('practitioner', 'dr-a');
  await committed(
    practice.node,
    practice.node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-a', ...drA }),
  );
  const patient = practice.node.records.enrol('patient', 'pt-1');
  await committed(
    practice.node,
    practice.node.signAsOrg('membership.register-patient', {
      patientId: 'pt-1',
      custody: 'custodial',
      ...patient,
    }),
  );
}

test('a record written at the practice is read at the hospital by its clinician, its ciphertext fetched from the practice', async (t) => {
  const { practice, hospital } = await twoOrgNetwork(t);
  assert.equal(practice.node.blockHash(0), hospital.node.blockHash(0));

  await enrolPeople(practice, hospital);

  const resource = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'HbA1c' },
    valueString: 'SECRET-6.1',
  };
  const write = await practice.node.records.write({
    practitionerId: 'dr-a',
    patientId: 'pt-1',
    resource,
  });
  await committed(practice.node, write.tx);
  const hash = practice.node.records.version(write.recordId, 1)!.ciphertextHash!;
  await until(
    'the hospital to commit the write',
    () => hospital.node.records.version(write.recordId, 1) !== undefined,
  );
  assert.equal(
    hospital.node.records.blobs.has(hash),
    false,
    'not wrapped to the hospital: not fetched',
  );

  // Without the agreement and consent the hospital's clinician is denied, and nothing is fetched.
  const clinician = { kind: 'practitioner' as const, id: 'dr-b', org: 'hospital-b' };
  const hospitalFhir = new FhirService(hospital.node);
  t.after(() => hospitalFhir.close());
  const searchAtHospital = () =>
    hospitalFhir.search.readableMatches(
      { principal: clinician, purpose: 'TREAT', mayRead: () => true },
      'Observation',
      '',
      10,
    );
  assert.deepEqual(searchAtHospital(), []);
  const denied = await hospital.node.access.read(clinician, write.recordId, { purpose: 'TREAT' });
  assert.equal(denied.outcome, 'deny');

  const terms = {
    resourceTypes: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
    redisclosure: false,
  };
  await committed(
    practice.node,
    practice.node.signAsOrg('agreements.propose', {
      agreementId: 'dsa-a-b',
      discloser: 'practice-a',
      recipient: 'hospital-b',
      terms,
    }),
  );
  await committed(
    hospital.node,
    hospital.node.signAsOrg('agreements.countersign', { agreementId: 'dsa-a-b' }),
  );
  const grant = {
    grantee: { kind: 'organisation' as const, id: 'hospital-b' },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(await practice.node.consent.grant('pt-1', 'grant-hospital', grant), 'ok');
  await practice.node.consent.settled();

  // The key share wraps the version to the hospital: its node fetches the ciphertext as the block commits.
  await until('the hospital to fetch the ciphertext', () => hospital.node.records.blobs.has(hash));
  // Once here, the record joins the hospital's search index: its clinician's searches find it.
  await until("the hospital's search to find the record", () =>
    searchAtHospital().includes(write.recordId),
  );
  const read = await hospital.node.access.read(clinician, write.recordId, { purpose: 'TREAT' });
  assert.equal(read.outcome, 'permit');
  assert.deepEqual(read.outcome === 'permit' ? read.resource : undefined, resource);

  // The access is on the shared ledger: the practice shows it in the patient's trail.
  assert.equal((await practice.node.waitForTx(read.txId)).status, 'ok');
  const entry = practice.node.access
    .trail('pt-1')
    .find(({ entry }) => entry.txId === read.txId)?.entry;
  assert.ok(entry, "the hospital's read is in the patient's trail at the practice");
  assert.deepEqual(
    [entry.kind, entry.actor.subject, entry.actor.org],
    ['access', 'dr-b', 'hospital-b'],
  );

  // On demand: a blob lost at the hospital is fetched again when next read.
  hospital.node.records.blobs.delete(hash);
  const again = await hospital.node.access.read(clinician, write.recordId, { purpose: 'TREAT' });
  assert.equal(again.outcome, 'permit');
  assert.equal(hospital.node.records.blobs.has(hash), true);

  // Both organisations signed identical checkpoints: the blocks are final on both nodes.
  const height = practice.node.head().height;
  await until('both nodes to finalise the head', () =>
    [practice, hospital].every((peer) => peer.node.checkpoints.status().finalisedHeight >= height),
  );
  assert.deepEqual([...practice.node.records.alarms, ...hospital.node.records.alarms], []);
});

test('GET /peer/blobs/:hash answers only a member organisation holding an envelope, and only to a fresh signed request', async (t) => {
  const { practice, hospital } = await twoOrgNetwork(t);
  const drA = practice.node.records.enrol('practitioner', 'dr-a');
  await committed(
    practice.node,
    practice.node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-a', ...drA }),
  );
  const patient = practice.node.records.enrol('patient', 'pt-1');
  await committed(
    practice.node,
    practice.node.signAsOrg('membership.register-patient', {
      patientId: 'pt-1',
      custody: 'custodial',
      ...patient,
    }),
  );
  const write = await practice.node.records.write({
    practitionerId: 'dr-a',
    patientId: 'pt-1',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
  });
  await committed(practice.node, write.tx);
  const hash = practice.node.records.version(write.recordId, 1)!.ciphertextHash!;
  const path = `/peer/blobs/${hash}`;
  const hospitalKey = loadOrgKeys(hospital.node.dataDir).signing;
  const get = (headers: Record<string, string>) => fetch(practice.url + path, { headers });

  assert.equal((await get({})).status, 401, 'unsigned');
  assert.equal(
    (await get(signPeerRequest(hospitalKey, 'hospital-b', 'GET', path))).status,
    404,
    'a member without an envelope on it',
  );
  assert.equal(
    (await get(signPeerRequest(hospitalKey, 'practice-a', 'GET', path))).status,
    401,
    "signed with another organisation's key",
  );
  assert.equal(
    (await get(signPeerRequest(hospitalKey, 'hospital-b', 'GET', path, Date.now() - 120_000)))
      .status,
    401,
    'stale',
  );
  assert.equal(
    (await get(signPeerRequest(hospitalKey, 'hospital-b', 'GET', '/peer/blobs/' + '00'.repeat(32))))
      .status,
    401,
    'signed for another path',
  );

  // Once the hospital holds an envelope (its own organisation key), the ciphertext is served, once per nonce.
  const withEnvelope = await practice.node.records.write({
    practitionerId: 'dr-a',
    patientId: 'pt-1',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'y' } },
    extraRecipients: [hospital.node.keys.encryptionPublicKey],
  });
  await committed(practice.node, withEnvelope.tx);
  const sharedPath = `/peer/blobs/${practice.node.records.version(withEnvelope.recordId, 1)!.ciphertextHash!}`;
  const headers = signPeerRequest(hospitalKey, 'hospital-b', 'GET', sharedPath);
  const served = await fetch(practice.url + sharedPath, { headers });
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('content-type'), 'application/octet-stream');
  assert.equal(
    (await fetch(practice.url + sharedPath, { headers })).status,
    401,
    'a replayed request',
  );
});

test('a block from the orderer that fails validation is refused with an alarm naming the organisation that proposed it', async (t) => {
  const { practice, hospital, log } = await twoOrgNetwork(t);
  const drA = practice.node.records.enrol('practitioner', 'dr-a');
  await committed(
    practice.node,
    practice.node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-a', ...drA }),
  );
  await until(
    "the hospital at the practice's height",
    () => hospital.node.head().height === practice.node.head().height,
  );
  // The practice's last block again, one height on: its signature and prevHash no longer hold.
  const block = JSON.parse(fromUtf8(log.blocks.at(-1)!)) as { header: { height: number } };
  block.header.height += 1;
  log.blocks.push(utf8(canonicalize(block)));
  await hospital.orderer.catchUp();
  assert.ok(hospital.orderer.failure instanceof Error, 'the forged block is not committed');
  assert.equal(hospital.node.head().height, log.blocks.length - 1);
  const alarms = hospital.node.records.alarms.map((alarm) => alarm.reason);
  const keyId = loadOrgKeys(practice.node.dataDir).signing.keyId;
  assert.ok(
    alarms.some((reason) =>
      reason.startsWith(
        `block ${log.blocks.length} from the orderer, proposed by organisation practice-a (key ${keyId}), fails validation (`,
      ),
    ),
    JSON.stringify(alarms),
  );
});

test("a record shared with one clinician of the hospital, not the whole hospital, is found by that clinician's search there", async (t) => {
  const { practice, hospital } = await twoOrgNetwork(t);
  await enrolPeople(practice, hospital);
  const terms = {
    resourceTypes: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
    redisclosure: false,
  };
  await committed(
    practice.node,
    practice.node.signAsOrg('agreements.propose', {
      agreementId: 'dsa-a-b',
      discloser: 'practice-a',
      recipient: 'hospital-b',
      terms,
    }),
  );
  await committed(
    hospital.node,
    hospital.node.signAsOrg('agreements.countersign', { agreementId: 'dsa-a-b' }),
  );
  const grant = {
    grantee: { kind: 'practitioner' as const, id: 'dr-b' },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(await practice.node.consent.grant('pt-1', 'grant-dr-b', grant), 'ok');
  await practice.node.consent.settled();

  // Written after the grant: wrapped to dr-b's key, which the hospital's node holds, and not to the hospital's own.
  const write = await practice.node.records.write({
    practitionerId: 'dr-a',
    patientId: 'pt-1',
    resource: {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HbA1c' },
      valueString: '7.3',
    },
  });
  await committed(practice.node, write.tx);
  const clinician = { kind: 'practitioner' as const, id: 'dr-b', org: 'hospital-b' };
  const hospitalFhir = new FhirService(hospital.node);
  t.after(() => hospitalFhir.close());
  const search = () =>
    hospitalFhir.search.readableMatches(
      { principal: clinician, purpose: 'TREAT', mayRead: () => true },
      'Observation',
      '',
      10,
    );
  await until("the hospital's search to find the record shared with its clinician", () =>
    search().includes(write.recordId),
  );
  const read = await hospital.node.access.read(clinician, write.recordId, { purpose: 'TREAT' });
  assert.equal(read.outcome, 'permit');
  assert.equal(
    (await hospital.node.waitForTx(read.txId)).status,
    'ok',
    'the access is on the ledger',
  );
});
