/**
 * A real FHIR client (fhir-kit-client) and a real SMART login (authorization code + PKCE) against
 * a node serving HTTP on a free loopback port: the path an existing EHR or app takes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'fhir-kit-client';
import { exportJWK } from 'jose';
import { backendClient, generateJoseKeyPair } from '../src/api/index.js';
import { seedDemo } from '../src/cli/demo-seed.js';
import { login } from '../src/cli/login.js';
import { clientCredentialsToken } from '../src/cli/org-client.js';
import { startFhirServer } from './fhir-server.js';

type Resource = Record<string, unknown> & { resourceType: string; id?: string };

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

test('fhir-kit-client over HTTP with SMART tokens: create, read, update, history, search, a patient-signed Consent, and the error paths', async (t) => {
  let now = Date.now();
  const { origin } = await startFhirServer(t, {
    prepare: async (node) => assert.equal(await seedDemo(node), true),
    clock: () => now,
  });

  const doctorToken = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds'))
    .access_token;
  const doctor = new Client({ baseUrl: `${origin}/fhir`, bearerToken: doctorToken });
  const patient = (await doctor.read({ resourceType: 'Patient', id: 'patient-0001' })) as Resource;
  assert.equal(patient['birthDate'], '1961-04-12');

  const created = (await doctor.create({
    resourceType: 'Observation',
    body: {
      resourceType: 'Observation',
      status: 'preliminary',
      code: { text: 'Weight' },
      subject: { reference: 'Patient/patient-0001' },
      valueQuantity: { value: 71.5, unit: 'kg' },
    },
  })) as Resource;
  assert.ok(created.id);
  const updated = (await doctor.update({
    resourceType: 'Observation',
    id: created.id!,
    body: { ...created, status: 'final', meta: undefined },
  })) as Resource;
  assert.equal((updated['meta'] as { versionId: string }).versionId, '2');
  const read = (await doctor.read({ resourceType: 'Observation', id: created.id! })) as Resource;
  assert.equal(read['status'], 'final');
  const history = (await doctor.resourceHistory({
    resourceType: 'Observation',
    id: created.id!,
  })) as unknown as { entry: { resource: Resource }[] };
  assert.deepEqual(
    history.entry.map((entry) => entry.resource['status']),
    ['final', 'preliminary'],
  );
  const consents = (await doctor.search({
    resourceType: 'Consent',
    searchParams: { patient: 'patient-0001' },
  })) as unknown as { entry: { resource: Resource }[] };
  assert.deepEqual(
    consents.entry.map((entry) => entry.resource['status']),
    ['active', 'active'],
    'the demo consents to the practice and to the hospital',
  );

  // A transaction Bundle through the client: a new Encounter and an Observation that references it by urn:uuid.
  const transaction = (await doctor.transaction({
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1e2a3b-0000-4000-8000-000000000001',
          resource: {
            resourceType: 'Encounter',
            status: 'finished',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: 'Patient/patient-0001' },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'Pulse' },
            subject: { reference: 'Patient/patient-0001' },
            encounter: { reference: 'urn:uuid:6f1e2a3b-0000-4000-8000-000000000001' },
            valueQuantity: { value: 64, unit: '/min' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    },
  })) as unknown as { type: string; entry: { response: { status: string; location: string } }[] };
  assert.equal(transaction.type, 'transaction-response');
  assert.deepEqual(
    transaction.entry.map((entry) => entry.response.status.split(' ')[0]),
    ['201', '201'],
  );
  const [encounterId, observationId] = transaction.entry.map(
    (entry) => entry.response.location.split('/')[1]!,
  );
  const linked = (await doctor.read({
    resourceType: 'Observation',
    id: observationId!,
  })) as Resource;
  assert.equal(
    (linked['encounter'] as { reference: string }).reference,
    `Encounter/${encounterId}`,
  );

  // The patient narrows their consent: a new grant to one practitioner, then they read it back.
  const patientToken = (
    await login(origin, 'patient-0001', 'chartchain-demo', 'patient/*.rs patient/Consent.cud')
  ).access_token;
  const asPatient = new Client({ baseUrl: `${origin}/fhir`, bearerToken: patientToken });
  const consent = (await asPatient.create({
    resourceType: 'Consent',
    body: {
      resourceType: 'Consent',
      status: 'active',
      scope: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
        ],
      },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/patient-0001' },
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
        class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
      },
    },
  })) as Resource;
  const readBack = (await asPatient.read({ resourceType: 'Consent', id: consent.id! })) as Resource;
  assert.equal(
    (readBack['provision'] as { actor: { reference: { reference: string } }[] }).actor[0]!.reference
      .reference,
    'Practitioner/dr-ada',
  );
  assert.equal(
    ((await asPatient.read({ resourceType: 'Observation', id: created.id! })) as Resource)[
      'status'
    ],
    'final',
  );

  // Error paths, each an OperationOutcome with the right status.
  const failure = async (
    run: () => Promise<unknown>,
  ): Promise<{ status: number; code: string }> => {
    try {
      await run();
    } catch (error) {
      const response = (
        error as {
          response: { status: number; data: { resourceType: string; issue: { code: string }[] } };
        }
      ).response;
      assert.equal(response.data.resourceType, 'OperationOutcome');
      return { status: response.status, code: response.data.issue[0]!.code };
    }
    assert.fail('the request should have failed');
  };
  const patientOnlyReads = new Client({
    baseUrl: `${origin}/fhir`,
    bearerToken: (await login(origin, 'patient-0001', 'chartchain-demo', 'patient/*.rs'))
      .access_token,
  });
  assert.deepEqual(
    await failure(() =>
      patientOnlyReads.create({ resourceType: 'Consent', body: { resourceType: 'Consent' } }),
    ),
    { status: 403, code: 'forbidden' },
  );
  assert.deepEqual(
    await failure(() =>
      new Client({
        baseUrl: `${origin}/fhir`,
        bearerToken: `${doctorToken.slice(0, -4)}AAAA`,
      }).read({ resourceType: 'Patient', id: 'patient-0001' }),
    ),
    { status: 401, code: 'login' },
  );
  assert.deepEqual(
    await failure(() => doctor.read({ resourceType: 'Observation', id: 'no-such-thing' })),
    { status: 404, code: 'not-found' },
  );
  assert.deepEqual(
    await failure(() =>
      doctor.create({
        resourceType: 'Questionnaire',
        body: { resourceType: 'Questionnaire', status: 'draft' },
      }),
    ),
    { status: 422, code: 'not-supported' },
  );
  now += 2 * 60 * 60 * 1000;
  assert.deepEqual(
    await failure(() => doctor.read({ resourceType: 'Patient', id: 'patient-0001' })),
    { status: 401, code: 'login' },
  );
});

test('fhir-kit-client drives JSON Patch and conditional create, update and delete over HTTP', async (t) => {
  const { origin } = await startFhirServer(t, {
    prepare: async (node) => assert.equal(await seedDemo(node), true),
  });
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const doctor = new Client({ baseUrl: `${origin}/fhir`, bearerToken: token });
  const heartRate = (value: number): Resource => ({
    resourceType: 'Observation',
    status: 'preliminary',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/patient-0001' },
    valueQuantity: { value, unit: '/min' },
  });
  const metadata = (await doctor.capabilityStatement()) as unknown as {
    patchFormat: string[];
    rest: {
      resource: { type: string; conditionalDelete: string; interaction: { code: string }[] }[];
    }[];
  };
  assert.deepEqual(metadata.patchFormat, ['application/json-patch+json', 'application/fhir+json']);
  const observation = metadata.rest[0]!.resource.find(
    (resource) => resource.type === 'Observation',
  )!;
  assert.equal(observation.conditionalDelete, 'single');
  assert.ok(observation.interaction.some((interaction) => interaction.code === 'patch'));

  const identifier = { system: 'urn:example:device-reading', value: 'reading-0001' };
  const created = (await doctor.create({
    resourceType: 'Observation',
    body: { ...heartRate(61), identifier: [identifier] },
    options: {
      headers: { 'If-None-Exist': `identifier=${identifier.system}|${identifier.value}` },
    },
  })) as Resource;
  const again = (await doctor.create({
    resourceType: 'Observation',
    body: { ...heartRate(99), identifier: [identifier] },
    options: {
      headers: { 'If-None-Exist': `identifier=${identifier.system}|${identifier.value}` },
    },
  })) as Resource;
  assert.equal(again.id, created.id, 'the resent reading finds the first');

  const patched = (await doctor.patch({
    resourceType: 'Observation',
    id: created.id!,
    jsonPatch: [{ op: 'replace', path: '/status', value: 'final' }],
  })) as Resource;
  assert.equal(patched['status'], 'final');

  const byIdentifier = { identifier: `${identifier.system}|${identifier.value}` };
  const updated = (await doctor.update({
    resourceType: 'Observation',
    searchParams: byIdentifier,
    body: { ...heartRate(62), status: 'amended', identifier: [identifier] },
  })) as Resource;
  assert.equal(updated.id, created.id);
  assert.equal((updated['meta'] as { versionId: string }).versionId, '3');

  await doctor.request(`Observation?identifier=${encodeURIComponent(byIdentifier.identifier)}`, {
    method: 'DELETE',
  });
  await assert.rejects(
    doctor.read({ resourceType: 'Observation', id: created.id! }),
    (error: { response?: { status: number } }) => error.response?.status === 410,
  );
});

test('fhir-kit-client drives chained search, _has, _security and a FHIRPath Patch over HTTP', async (t) => {
  const { origin } = await startFhirServer(t, {
    prepare: async (node) => assert.equal(await seedDemo(node), true),
  });
  const token = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds')).access_token;
  const doctor = new Client({ baseUrl: `${origin}/fhir`, bearerToken: token });
  const normal = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' };
  const created = (await doctor.create({
    resourceType: 'Observation',
    body: {
      resourceType: 'Observation',
      meta: { security: [normal] },
      status: 'preliminary',
      code: { coding: [{ system: 'urn:example:lab', code: 'chain-probe' }] },
      subject: { reference: 'Patient/patient-0001' },
      note: [{ text: 'drawn fasting' }, { text: 'repeat in a week' }],
    },
  })) as Resource;
  const ids = (bundle: unknown) =>
    ((bundle as { entry?: { resource: Resource }[] }).entry ?? []).map(
      (entry) => `${entry.resource.resourceType}/${entry.resource.id!}`,
    );

  const chained = await doctor.search({
    resourceType: 'Observation',
    searchParams: { 'subject.family': 'Demo', code: 'urn:example:lab|chain-probe' },
  });
  assert.deepEqual(ids(chained), [`Observation/${created.id!}`]);
  const reverse = await doctor.search({
    resourceType: 'Patient',
    searchParams: { '_has:Observation:subject:code': 'urn:example:lab|chain-probe' },
  });
  assert.deepEqual(ids(reverse), ['Patient/patient-0001']);
  const labelled = await doctor.search({
    resourceType: 'Observation',
    searchParams: { _security: `${normal.system}|${normal.code}` },
  });
  assert.deepEqual(ids(labelled), [`Observation/${created.id!}`]);

  const patched = (await doctor.request(`Observation/${created.id!}`, {
    method: 'PATCH',
    options: { headers: { 'content-type': 'application/fhir+json' } },
    body: {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'operation',
          part: [
            { name: 'type', valueCode: 'delete' },
            { name: 'path', valueString: "Observation.note.where(text = 'repeat in a week')" },
          ],
        },
        {
          name: 'operation',
          part: [
            { name: 'type', valueCode: 'replace' },
            { name: 'path', valueString: 'Observation.status' },
            { name: 'value', valueCode: 'final' },
          ],
        },
      ],
    },
  })) as Resource;
  assert.equal(patched['status'], 'final');
  assert.deepEqual(patched['note'], [{ text: 'drawn fasting' }]);
});

test('a registered backend client drives a Group Bulk export and a rest-hook Subscription through fhir-kit-client', async (t) => {
  const { publicKey, privateKey } = await generateJoseKeyPair('EdDSA');
  const analytics = backendClient({
    clientId: 'analytics',
    org: 'demo-practice',
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] },
    scope: 'system/*.rs system/Subscription.cd',
  });
  const { origin } = await startFhirServer(t, {
    prepare: async (node) => assert.equal(await seedDemo(node), true),
    clients: [analytics],
  });
  const baseUrl = `${origin}/fhir`;
  const doctorToken = (await login(origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds'))
    .access_token;
  const doctor = new Client({ baseUrl, bearerToken: doctorToken });
  const systemToken = await clientCredentialsToken(origin, {
    clientId: 'analytics',
    kid: 'k1',
    alg: 'EdDSA',
    privateKey,
    scope: 'system/*.rs system/Subscription.cd',
  });
  const system = new Client({ baseUrl, bearerToken: systemToken });

  // A rest-hook endpoint on loopback: the handshake, then notifications.
  const notified: { focus: string[] }[] = [];
  const hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      const bundle = JSON.parse(text) as { entry: { fullUrl: string }[] };
      notified.push({ focus: bundle.entry.slice(1).map((entry) => entry.fullUrl) });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => hook.close(() => resolve())));
  const subscription = (await system.create({
    resourceType: 'Subscription',
    body: {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'analytics feed',
      criteria: 'urn:chartchain:topic:record-changed',
      _criteria: {
        extension: [
          {
            url: `${BACKPORT}/backport-filter-criteria`,
            valueString: 'Observation?patient=Patient/patient-0001',
          },
        ],
      },
      channel: {
        type: 'rest-hook',
        endpoint: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
        payload: 'application/fhir+json',
      },
    },
  })) as Resource;
  assert.ok(subscription.id);
  const observation = (await doctor.create({
    resourceType: 'Observation',
    body: {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: 'Patient/patient-0001' },
      valueQuantity: { value: 70, unit: 'kg' },
    },
  })) as Resource;
  const focus = await until(() =>
    notified.flatMap((n) => n.focus).find((url) => url.endsWith(`Observation/${observation.id!}`)),
  );
  const read = (await system.read({
    resourceType: 'Observation',
    id: focus.split('/').pop()!,
  })) as Resource;
  assert.equal((read['valueQuantity'] as { value: number }).value, 70, 'the id-only focus reads');

  const group = (await doctor.create({
    resourceType: 'Group',
    body: {
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: 'Patient/patient-0001' } }],
    },
  })) as Resource;
  const kickOff = await system.operation({
    name: '$export',
    resourceType: 'Group',
    id: group.id!,
    method: 'GET',
    input: { _type: 'Patient,Observation' },
    options: { headers: { prefer: 'respond-async' } },
  });
  const { response } = Client.httpFor(kickOff);
  assert.equal(response?.status, 202);
  const statusUrl = response.headers.get('content-location')!;
  const manifest = await until(async () => {
    const status = await system.request(statusUrl);
    return Client.httpFor(status).response?.status === 200
      ? (status as unknown as { output: { type: string; url: string; count: number }[] })
      : undefined;
  });
  assert.deepEqual(
    manifest.output.map((file) => file.type),
    ['Patient', 'Observation'],
  );
  const observations = await fetch(manifest.output[1]!.url, {
    headers: { authorization: `Bearer ${systemToken}` },
  });
  const subjects = new Set(
    (await observations.text())
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { subject: { reference: string } }).subject.reference),
  );
  assert.deepEqual([...subjects], ['Patient/patient-0001'], "only the Group member's records");
});

async function until<T>(found: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await found();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('timed out');
}
