import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUDIT_ENTRIES, auditCount, auditKey } from '../contracts/index.js';
import {
  AS_DOCTOR,
  createPatient,
  fhirJson,
  outcome,
  serveFhir,
} from './testonly/fhir-test-fixture.js';

/** The practice's analytics system: a system principal acting through OAuth client `analytics`. */
const SYSTEM = { authorization: 'Bearer system:practice-a@analytics' };
const KICK_OFF = { ...SYSTEM, prefer: 'respond-async', accept: 'application/fhir+json' };

test('a system client exports every readable record as NDJSON: kick-off, poll, download, delete', async (t) => {
  const { node, app } = await serveFhir(t);
  const patient = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Lovelace' }] }),
  );
  const patientId = (patient.json() as { id: string }).id;
  for (const value of [70, 71]) {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: `Patient/${patientId}` },
      valueQuantity: { value, unit: 'kg' },
    };
    assert.equal(
      (await app.inject(fhirJson('POST', '/fhir/Observation', observation))).statusCode,
      201,
    );
  }
  const pseudonym = node.pseudonyms.patientIdOf(patientId)!;
  const trailBefore = auditCount(node.ledger.state, pseudonym);

  const kickOff = await app.inject({
    method: 'GET',
    url: '/fhir/Patient/$export?_type=Patient,Observation',
    headers: KICK_OFF,
  });
  assert.equal(kickOff.statusCode, 202, kickOff.body);
  const statusUrl = new URL(String(kickOff.headers['content-location'])).pathname;
  const manifest = await poll(app, statusUrl);
  assert.equal(manifest['requiresAccessToken'], true);
  const output = manifest['output'] as { type: string; url: string; count: number }[];
  assert.deepEqual(
    output.map(({ type, count }) => [type, count]),
    [
      ['Patient', 1],
      ['Observation', 2],
    ],
  );

  const file = await app.inject({
    method: 'GET',
    url: new URL(output[1]!.url).pathname,
    headers: SYSTEM,
  });
  assert.equal(file.statusCode, 200);
  assert.match(String(file.headers['content-type']), /^application\/fhir\+ndjson/);
  const lines = file.body
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { resourceType: string; valueQuantity: { value: number } });
  assert.deepEqual(lines.map((line) => line.valueQuantity.value).sort(), [70, 71]);
  // The export's access.search was durable before release; its block commits soon after.
  for (
    const deadline = Date.now() + 10_000;
    auditCount(node.ledger.state, pseudonym) === trailBefore && Date.now() < deadline;
  )
    await new Promise((resolve) => setTimeout(resolve, 10));
  const count = auditCount(node.ledger.state, pseudonym);
  assert.ok(count > trailBefore, 'the export is in the patient trail');
  assert.deepEqual(
    AUDIT_ENTRIES.get(node.ledger.state, auditKey(pseudonym, count))?.actor,
    { role: 'system', subject: 'practice-a', org: 'practice-a', client: 'analytics' },
    "naming which of the organisation's systems read",
  );
  const events = (
    await app.inject({ url: `/fhir/AuditEvent?patient=${patientId}&_count=500`, headers: SYSTEM })
  ).json() as { entry: { resource: { agent: { altId?: string }[] } }[] };
  assert.ok(
    events.entry.some((entry) => entry.resource.agent[0]!.altId === 'analytics'),
    'the AuditEvent names the client as the agent altId',
  );

  const jobDir = join(node.dataDir, 'exports', statusUrl.split('/').pop()!);
  for (const name of readdirSync(jobDir)) {
    const bytes = readFileSync(join(jobDir, name));
    assert.ok(
      !bytes.includes('Lovelace') && !bytes.includes('Observation'),
      `${name} rests sealed`,
    );
  }
  // Another organisation's client, another of this organisation's systems, and this client's
  // own token once it no longer reads Observation: none gets the job's files.
  for (const authorization of ['Bearer system:hospital-b', 'Bearer system:practice-a@lab'])
    outcome(
      await app.inject({ method: 'GET', url: statusUrl, headers: { authorization } }),
      404,
      'not-found',
    );
  outcome(
    await app.inject({
      method: 'GET',
      url: new URL(output[1]!.url).pathname,
      headers: { authorization: 'Bearer system:practice-a:search@analytics' },
    }),
    403,
    'forbidden',
  );
  assert.equal(
    (await app.inject({ method: 'DELETE', url: statusUrl, headers: SYSTEM })).statusCode,
    202,
  );
  outcome(await app.inject({ method: 'GET', url: statusUrl, headers: SYSTEM }), 404, 'not-found');
  assert.equal(existsSync(jobDir), false, 'a deleted job leaves no file');
});

test('an export kick-off names what is wrong with it', async (t) => {
  const { app } = await serveFhir(t);
  const kickOff = (query: string, headers: Record<string, string> = KICK_OFF) =>
    app.inject({ method: 'GET', url: `/fhir/Patient/$export${query}`, headers });
  outcome(await kickOff('', { ...AS_DOCTOR, prefer: 'respond-async' }), 403, 'forbidden');
  outcome(await kickOff('', SYSTEM), 400, 'invalid');
  outcome(await kickOff('?_type=Organization'), 400, 'not-supported');
  outcome(await kickOff('?_outputFormat=text/csv'), 400, 'not-supported');
  outcome(await kickOff('?_since=yesterday'), 400, 'value');
  outcome(
    await kickOff('', { ...KICK_OFF, authorization: 'Bearer system:practice-a:search@analytics' }),
    403,
    'forbidden',
  );
  const future = await kickOff(`?_since=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
  assert.equal(future.statusCode, 202);
  const manifest = await poll(app, new URL(String(future.headers['content-location'])).pathname);
  assert.deepEqual(manifest['output'], [], 'nothing was updated after _since');
});

test("a Group export covers its active Patient members' compartments, every compartment type", async (t) => {
  const { app } = await serveFhir(t);
  const [ada, ben, cy] = [
    await createPatient(app),
    await createPatient(app),
    await createPatient(app),
  ];
  for (const patientId of [ada, ben, cy]) {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: `Patient/${patientId}` },
    };
    assert.equal(
      (await app.inject(fhirJson('POST', '/fhir/Observation', observation))).statusCode,
      201,
    );
  }
  // CarePlan is one of the compartment types found through `patient` since index schema 4.
  const carePlan = {
    resourceType: 'CarePlan',
    status: 'active',
    intent: 'plan',
    subject: { reference: `Patient/${ada}` },
  };
  assert.equal((await app.inject(fhirJson('POST', '/fhir/CarePlan', carePlan))).statusCode, 201);
  const group = await app.inject(
    fhirJson('POST', '/fhir/Group', {
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [
        { entity: { reference: `Patient/${ada}` } },
        { entity: { reference: `Patient/${ben}` } },
        { entity: { reference: `Patient/${cy}` }, inactive: true },
        // Not a Patient id: a comma would otherwise smuggle cy in as a second search value.
        { entity: { reference: `Patient/${ada},${cy}` } },
        { entity: { reference: 'Practitioner/dr-ada' } },
      ],
    }),
  );
  assert.equal(group.statusCode, 201, group.body);
  const groupId = (group.json() as { id: string }).id;

  const kickOff = await app.inject({
    method: 'GET',
    url: `/fhir/Group/${groupId}/$export?_type=Patient,Observation,CarePlan`,
    headers: KICK_OFF,
  });
  assert.equal(kickOff.statusCode, 202, kickOff.body);
  const manifest = await poll(app, new URL(String(kickOff.headers['content-location'])).pathname);
  const output = manifest['output'] as { type: string; url: string; count: number }[];
  assert.deepEqual(
    output.map(({ type, count }) => [type, count]),
    [
      ['Patient', 2],
      ['Observation', 2],
      ['CarePlan', 1],
    ],
  );
  const patients = await app.inject({
    method: 'GET',
    url: new URL(output[0]!.url).pathname,
    headers: SYSTEM,
  });
  const ids = patients.body
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: string }).id);
  assert.deepEqual(ids.sort(), [ada, ben].sort());

  const groupKickOff = (id: string, headers: Record<string, string> = KICK_OFF) =>
    app.inject({ method: 'GET', url: `/fhir/Group/${id}/$export`, headers });
  outcome(await groupKickOff('no-such-group'), 404, 'not-found');
  outcome(
    await groupKickOff(groupId, {
      ...KICK_OFF,
      authorization: 'Bearer system:practice-a:search@analytics',
    }),
    403,
    'forbidden',
  );
});

async function poll(
  app: Awaited<ReturnType<typeof serveFhir>>['app'],
  url: string,
): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const status = await app.inject({ method: 'GET', url, headers: SYSTEM });
    if (status.statusCode === 200) return status.json() as Record<string, unknown>;
    assert.equal(status.statusCode, 202, status.body);
    assert.ok(status.headers['x-progress']);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the export did not finish');
}
