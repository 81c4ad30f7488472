/**
 * Group resources: a Group is its organisation's list of patients, so who reads it, and which
 * of its members they see, follows what they may read of those patients (group-members.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../ledger/index.js';
import { pseudonymOf } from './testonly/fhir-fixture.js';
import {
  AS_DOCTOR,
  createPatient,
  fhirJson,
  outcome,
  serveFhir,
} from './testonly/fhir-test-fixture.js';

const SYSTEM = { authorization: 'Bearer system:practice-a' };

test("the organisation's patients and auditors may not read a Group", async (t) => {
  const { app } = await serveFhir(t);
  const patientId = await createPatient(app);
  const group = await app.inject(
    fhirJson('POST', '/fhir/Group', {
      resourceType: 'Group',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${patientId}` } }],
    }),
  );
  assert.equal(group.statusCode, 201, group.body);
  const url = `/fhir/Group/${(group.json() as { id: string }).id}`;
  assert.equal((await app.inject({ method: 'GET', url, headers: AS_DOCTOR })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url, headers: SYSTEM })).statusCode, 200);
  // Refused like any record they may not read: the 404 of a record that does not exist.
  for (const reader of ['patient:someone', 'auditor:inspector'])
    outcome(
      await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${reader}` } }),
      404,
      'not-found',
    );
});

test('members whose records the reader may not read are left out, and such a reader may not change the Group', async (t) => {
  const { node, app } = await serveFhir(t);
  const [seen, hidden] = [await createPatient(app), await createPatient(app)];
  const created = await app.inject(
    fhirJson('POST', '/fhir/Group', {
      resourceType: 'Group',
      type: 'person',
      actual: true,
      quantity: 2,
      member: [
        { entity: { reference: `Patient/${seen}` } },
        { entity: { reference: `Patient/${hidden}` } },
      ],
    }),
  );
  assert.equal(created.statusCode, 201, created.body);
  const group = created.json() as JsonObject;
  const url = `/fhir/Group/${String(group['id'])}`;
  // A restriction naming nothing covers every record of the patient from every practitioner.
  const restricted = await node.consent.restrict(pseudonymOf(node, 'patient', hidden), 'hide', {
    resourceTypes: [],
    labels: [],
    practitionerIds: [],
  });
  assert.equal(restricted, 'ok');

  const read = (await app.inject({ method: 'GET', url, headers: AS_DOCTOR })).json() as JsonObject;
  assert.deepEqual(read['member'], [{ entity: { reference: `Patient/${seen}` } }]);
  assert.equal(read['quantity'], undefined, 'a count would tell of the hidden member');
  assert.deepEqual((read['meta'] as JsonObject)['security'], [
    { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED' },
  ]);
  const searched = (
    await app.inject({
      method: 'GET',
      url: `/fhir/Group?_id=${String(group['id'])}`,
      headers: AS_DOCTOR,
    })
  ).json() as { entry: { resource: JsonObject }[] };
  assert.deepEqual(searched.entry[0]!.resource['member'], read['member']);

  const { meta: _meta, ...stored } = group;
  outcome(await app.inject(fhirJson('PUT', url, { ...stored, name: 'renamed' })), 403, 'forbidden');
  outcome(await app.inject({ method: 'DELETE', url, headers: AS_DOCTOR }), 403, 'forbidden');
  const patched = await app.inject({
    method: 'PATCH',
    url,
    headers: { ...AS_DOCTOR, 'content-type': 'application/json-patch+json' },
    payload: JSON.stringify([{ op: 'add', path: '/name', value: 'renamed' }]),
  });
  outcome(patched, 403, 'forbidden');
});
