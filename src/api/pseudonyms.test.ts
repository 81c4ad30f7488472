import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PATIENT_TABLE, RECORD_TABLE } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import Database from 'better-sqlite3';
import { encodeTransaction, txIdOf } from '../ledger/index.js';
import { blockPage, type ChartChainNode } from '../node/index.js';
import { call, serveFhir } from './testonly/fhir-fixture.js';

// Ids a careless client chooses: a name, a birth date and a record number in them.
const PATIENT_ID = 'Jane.Smith-1961-MRN-40213';
const OBSERVATION_ID = 'jane-smith-hba1c-2026';
const patient = {
  resourceType: 'Patient',
  id: PATIENT_ID,
  name: [{ family: 'Smith', given: ['Jane'] }],
  birthDate: '1961-04-12',
};
const observation = {
  resourceType: 'Observation',
  id: OBSERVATION_ID,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
  subject: { reference: `Patient/${PATIENT_ID}` },
  effectiveDateTime: '2026-11-01',
  valueQuantity: { value: 6.1, unit: '%' },
};

/** Every committed block, as the canonical JSON every member organisation holds. */
function chainText(node: ChartChainNode): string {
  return Buffer.from(blockPage(node.store, 0, 10_000)).toString('utf8');
}

async function writeChart(app: Parameters<typeof call>[0]): Promise<void> {
  assert.equal(
    (await call(app, 'PUT', `/fhir/Patient/${PATIENT_ID}`, { body: patient })).status,
    201,
  );
  assert.equal(
    (await call(app, 'PUT', `/fhir/Observation/${OBSERVATION_ID}`, { body: observation })).status,
    201,
  );
}

test('ids a client chooses never reach the chain: records and patients go on it under pseudonyms the node generates', async (t) => {
  const { node, app } = await serveFhir(t);
  await writeChart(app);
  const chain = chainText(node);
  for (const fragment of ['Jane', 'jane', 'Smith', 'MRN'])
    assert.ok(!chain.includes(fragment), `the chain holds "${fragment}"`);
  // Digits also occur inside hashes, signatures and block times: only a run of its own counts.
  for (const digits of ['40213', '1961'])
    assert.ok(
      !new RegExp(`(?<![0-9a-f])${digits}(?![0-9a-f])`).test(chain),
      `the chain holds "${digits}"`,
    );
  const patientId = node.pseudonyms.patientIdOf(PATIENT_ID)!;
  assert.match(patientId, /^[0-9a-f]{32}$/);
  assert.ok(
    node.store.state.get(PATIENT_TABLE, patientId) !== undefined,
    'the patient is registered under the pseudonym',
  );
  const recordId = node.pseudonyms.recordIdOf('Observation', OBSERVATION_ID)!;
  assert.match(recordId, /^[0-9a-f]{32}$/);
  assert.deepEqual([...node.store.stateKeys(RECORD_TABLE)].sort(), [patientId, recordId].sort());

  // Clients still see only their own ids.
  const read = await call(app, 'GET', `/fhir/Observation/${OBSERVATION_ID}`);
  assert.deepEqual(
    [read.status, read.body['id'], (read.body['subject'] as JsonObject)['reference']],
    [200, OBSERVATION_ID, `Patient/${PATIENT_ID}`],
  );
  const found = await call(app, 'GET', `/fhir/Observation?patient=${PATIENT_ID}`);
  assert.deepEqual(
    (found.body['entry'] as JsonObject[]).map((entry) => (entry['resource'] as JsonObject)['id']),
    [OBSERVATION_ID],
  );
  // A read answers once its access transaction is durable; its block, and so its audit entry, may come a moment later.
  const audited = async (): Promise<unknown[]> => {
    const events = await call(app, 'GET', `/fhir/AuditEvent?patient=${PATIENT_ID}&_count=100`, {
      token: 'auditor:auditor-1',
    });
    return (events.body['entry'] as JsonObject[])
      .flatMap((entry) =>
        ((entry['resource'] as JsonObject)['entity'] as JsonObject[]).map(
          (entity) => (entity['what'] as JsonObject)['reference'],
        ),
      )
      .filter((reference) => reference !== undefined);
  };
  let what = await audited();
  for (
    const deadline = Date.now() + 10_000;
    !what.includes(`Observation/${OBSERVATION_ID}/_history/1`) && Date.now() < deadline;
    what = await audited()
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(
    what.includes(`Patient/${PATIENT_ID}`) &&
      what.includes(`Observation/${OBSERVATION_ID}/_history/1`),
    JSON.stringify(what),
  );
  const provenance = await call(
    app,
    'GET',
    `/fhir/Provenance?target=Observation/${OBSERVATION_ID}`,
  );
  const target = (
    ((provenance.body['entry'] as JsonObject[])[0]!['resource'] as JsonObject)[
      'target'
    ] as JsonObject[]
  )[0]!;
  assert.equal(target['reference'], `Observation/${OBSERVATION_ID}/_history/1`);

  const everything = await call(app, 'GET', `/fhir/Patient/${PATIENT_ID}/$everything`);
  assert.equal((everything.body['entry'] as JsonObject[]).length, 2);
});

test('the pseudonym map is learnt again from the chain when it is lost: FHIR reads, updates and search go on as before', async (t) => {
  const { node, app } = await serveFhir(t);
  await writeChart(app);
  const before = {
    patient: node.pseudonyms.patientIdOf(PATIENT_ID),
    record: node.pseudonyms.recordIdOf('Observation', OBSERVATION_ID),
  };
  const dataDir = node.dataDir;
  await app.close();
  await node.close();
  for (const suffix of ['', '-wal', '-shm'])
    rmSync(join(dataDir, `pseudonyms.db${suffix}`), { force: true });

  const reopened = await serveFhir(t, { dataDir });
  assert.deepEqual(
    {
      patient: reopened.node.pseudonyms.patientIdOf(PATIENT_ID),
      record: reopened.node.pseudonyms.recordIdOf('Observation', OBSERVATION_ID),
    },
    before,
  );
  assert.equal((await call(reopened.app, 'GET', `/fhir/Patient/${PATIENT_ID}`)).status, 200);
  const updated = await call(reopened.app, 'PUT', `/fhir/Observation/${OBSERVATION_ID}`, {
    body: { ...observation, status: 'amended' },
  });
  assert.deepEqual(
    [updated.status, updated.body['meta'] && (updated.body['meta'] as JsonObject)['versionId']],
    [200, '2'],
    'an update, not a second record',
  );
  assert.equal(reopened.node.store.stateKeys(RECORD_TABLE).length, 2);
});

test('a Patient id may be any FHIR id: the ledger never holds it, so the old lowercase-only rule is gone', async (t) => {
  const { app } = await serveFhir(t);
  for (const id of ['A.B', 'X', 'Upper-Case.7']) {
    const created = await call(app, 'PUT', `/fhir/Patient/${id}`, {
      body: { resourceType: 'Patient', id },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  // The same id under two types names two resources, as FHIR allows.
  const observationX = { ...observation, id: 'X', subject: { reference: 'Patient/X' } };
  assert.equal((await call(app, 'PUT', '/fhir/Observation/X', { body: observationX })).status, 201);
  assert.equal((await call(app, 'GET', '/fhir/Patient/X')).body['resourceType'], 'Patient');
  assert.equal((await call(app, 'GET', '/fhir/Observation/X')).body['resourceType'], 'Observation');
});

test('a Consent limited to one record names it by FHIR id; the grant on the chain holds its pseudonym, and reads back as the FHIR reference', async (t) => {
  const { node, app } = await serveFhir(t);
  await writeChart(app);
  const asPatient = `patient:${PATIENT_ID}`;
  const consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${PATIENT_ID}` },
    policyRule: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
    },
    provision: {
      type: 'permit',
      period: { start: '2026-01-01' },
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
              },
            ],
          },
          reference: { reference: 'Practitioner/dr-ada' },
        },
      ],
      action: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' },
          ],
        },
      ],
      purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
      data: [{ meaning: 'instance', reference: { reference: `Observation/${OBSERVATION_ID}` } }],
    },
  };
  const created = await call(app, 'POST', '/fhir/Consent', { token: asPatient, body: consent });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await node.consent.settled(); // the key share for the grantee, which the node closing under it would refuse
  const [grant] = node.consent.grantsOf(node.pseudonyms.patientIdOf(PATIENT_ID)!);
  assert.deepEqual(grant?.recordIds, [node.pseudonyms.recordIdOf('Observation', OBSERVATION_ID)]);
  assert.ok(!chainText(node).includes('jane'), 'the chain holds no FHIR id');
  const data = ((created.body['provision'] as JsonObject)['data'] as JsonObject[])[0]!;
  assert.deepEqual(data['reference'], { reference: `Observation/${OBSERVATION_ID}` });
  // Any FHIR id, one starting with '-' too, names a record in a Consent, which reads back.
  const dashed = { ...observation, id: '-hba1c.2' };
  assert.equal(
    (await call(app, 'PUT', '/fhir/Observation/-hba1c.2', { body: dashed })).status,
    201,
  );
  const withDashed = {
    ...consent,
    provision: {
      ...consent.provision,
      data: [{ meaning: 'instance', reference: { reference: 'Observation/-hba1c.2' } }],
    },
  };
  assert.equal(
    (await call(app, 'POST', '/fhir/Consent', { token: asPatient, body: withDashed })).status,
    201,
  );
  await node.consent.settled();
  const listed = await call(app, 'GET', `/fhir/Consent?patient=${PATIENT_ID}`, {
    token: asPatient,
  });
  assert.deepEqual([listed.status, (listed.body['entry'] as JsonObject[]).length], [200, 2]);
  // A record that is not this patient's is refused like one that does not exist.
  for (const reference of ['Observation/no-such-record', `Patient/${PATIENT_ID}-other`]) {
    const refused = await call(app, 'POST', '/fhir/Consent', {
      token: asPatient,
      body: {
        ...consent,
        provision: {
          ...consent.provision,
          data: [{ meaning: 'instance', reference: { reference } }],
        },
      },
    });
    assert.deepEqual(
      [refused.status, (refused.body['issue'] as JsonObject[])[0]!['diagnostics']],
      [422, 'not a record of this patient'],
    );
  }
});

test('a record whose write was queued at a crash that took its FHIR id is found by that id once it commits', async (t) => {
  const { node, app } = await serveFhir(t);
  await writeChart(app);
  // The write a crash left in the queue: signed and queued, never committed, its id unrecorded.
  const queuedId = 'jane-smith-ldl-2026';
  const write = await node.records.write({
    practitionerId: 'dr-ada',
    patientId: node.pseudonyms.patientIdOf(PATIENT_ID)!,
    resource: { ...observation, id: queuedId, code: { text: 'LDL cholesterol' } },
  });
  const dataDir = node.dataDir;
  await app.close();
  await node.close();
  const queue = new Database(join(dataDir, 'orderer.db'));
  queue.prepare('INSERT INTO pending (bytes) VALUES (?)').run(encodeTransaction(write.tx));
  queue.close();
  for (const suffix of ['', '-wal', '-shm'])
    rmSync(join(dataDir, `pseudonyms.db${suffix}`), { force: true });

  const reopened = await serveFhir(t, { dataDir });
  const deadline = Date.now() + 10_000;
  const txId = txIdOf(encodeTransaction(write.tx));
  while (reopened.node.lookupTx(txId)?.status !== 'ok') {
    assert.ok(Date.now() < deadline, 'the queued write never committed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const read = await call(reopened.app, 'GET', `/fhir/Observation/${queuedId}`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(reopened.node.pseudonyms.recordIdOf('Observation', queuedId), write.recordId);
});
