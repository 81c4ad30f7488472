/**
 * Writes as a practitioner whom the patient's consent refuses a record: they may not change it,
 * and their answers say no more than for a record that does not exist.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditCount } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { call, pseudonymOf, serveFhir } from './testonly/fhir-fixture.js';

const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

const note = (id: string, patientId: string, extra: JsonObject = {}): JsonObject => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'Mood' },
  subject: { reference: `Patient/${patientId}` },
  ...extra,
});

test('a practitioner whom consent refuses a record can neither update nor delete it, and learns nothing of it', async (t) => {
  const { node, app } = await serveFhir(t);
  for (const resource of [
    { resourceType: 'Patient', id: 'alice' },
    { resourceType: 'Patient', id: 'bob' },
    note('psy-1', 'alice', { meta: { security: [PSY] } }),
    note('open-1', 'alice'),
  ]) {
    const url = `/fhir/${String(resource['resourceType'])}/${String(resource['id'])}`;
    assert.equal((await call(app, 'PUT', url, { body: resource })).status, 201, url);
  }
  const restricted = await node.consent.restrict(pseudonymOf(node, 'patient', 'alice'), 'r-psy', {
    resourceTypes: [],
    labels: ['PSY'],
    practitionerIds: [],
  });
  assert.equal(restricted, 'ok');
  const versionOf = (id: string) =>
    node.records.record(node.pseudonyms.recordIdOf('Observation', id)!)!;
  const notFound = (answer: { status: number; body: JsonObject }, what: string) => {
    assert.equal(answer.status, 404, `${what}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body['resourceType'], 'OperationOutcome', what);
    assert.doesNotMatch(JSON.stringify(answer.body), /alice|bob|PSY/, what);
  };

  const url = '/fhir/Observation/psy-1';
  const trailBefore = auditCount(node.store.state, pseudonymOf(node, 'patient', 'alice'));
  notFound(await call(app, 'GET', url), 'a read');
  notFound(
    await call(app, 'PUT', url, { body: note('psy-1', 'alice', { status: 'amended' }) }),
    'an update for the same patient',
  );
  notFound(
    await call(app, 'PUT', url, { body: note('psy-1', 'bob') }),
    'an update naming another patient (not the 422 that would say it exists)',
  );
  // Checks that come before creating answer as they do for an id nobody holds.
  const ifMatch = async (path: string) => {
    const answer = await app.inject({
      method: 'PUT',
      url: path,
      headers: {
        authorization: 'Bearer practitioner:dr-ada',
        'content-type': 'application/fhir+json',
        'if-match': 'W/"5"',
      },
      payload: JSON.stringify(note(path.split('/').pop()!, 'alice')),
    });
    return [answer.statusCode, (answer.json() as { issue: { code: string }[] }).issue[0]!.code];
  };
  assert.deepEqual(await ifMatch(url), await ifMatch('/fhir/Observation/no-such-1'));
  const invalid = async (id: string) =>
    (
      await call(app, 'PUT', `/fhir/Observation/${id}`, {
        body: { ...note(id, 'alice'), status: 7 },
      })
    ).status;
  assert.equal(await invalid('psy-1'), await invalid('no-such-2'));
  assert.equal(await invalid('psy-1'), 422);
  const inBundle = await call(app, 'POST', '/fhir', {
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: note('psy-1', 'alice', { status: 'amended' }),
          request: { method: 'PUT', url: 'Observation/psy-1' },
        },
      ],
    },
  });
  assert.equal(inBundle.status, 404, JSON.stringify(inBundle.body));
  const deleted = await call(app, 'DELETE', url);
  const deletedNothing = await call(app, 'DELETE', '/fhir/Observation/no-such-1');
  assert.equal(deleted.status, deletedNothing.status, 'a DELETE answers as for an id nobody holds');
  assert.equal(deleted.status, 204);
  const record = versionOf('psy-1');
  assert.equal(record.status, 'active', 'still there');
  assert.equal(record.latestVersion, 1, 'never changed');
  // Each refused attempt is in alice's trail (refusals are logged without holding the answer):
  // the read, the two updates, the If-Match one, the two invalid ones, the Bundle and the DELETE.
  const refused = () =>
    auditCount(node.store.state, pseudonymOf(node, 'patient', 'alice')) - trailBefore;
  for (const deadline = Date.now() + 10_000; refused() < 8 && Date.now() < deadline;)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(refused(), 8, "every refused attempt, once, in alice's trail");

  const readable = await call(app, 'PUT', '/fhir/Observation/open-1', {
    body: note('open-1', 'alice', { status: 'amended' }),
  });
  assert.equal(readable.status, 200, 'a record the practitioner may read is updated as before');
  assert.equal(versionOf('open-1').latestVersion, 2);
});
