/** The FHIR edge under hostile or careless clients: bodies before tokens, malformed Bundles, patient moves and update races. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../ledger/index.js';
import { anchorsInState, type ChartChainNode } from '../node/index.js';
import { createPatient, fhirJson, outcome, serveFhir } from './testonly/fhir-test-fixture.js';

const HUGE_BODY = 'x'.repeat(15 * 1024 * 1024);

test('an unauthenticated request is refused with 401 before its body is read or parsed', async (t) => {
  const { app, parsedBodies } = await serveFhir(t);
  for (const [method, url] of [
    ['POST', '/fhir'],
    ['POST', '/fhir/Observation'],
    ['PUT', '/fhir/Observation/abc'],
    ['DELETE', '/fhir/Observation/abc'],
    ['GET', '/fhir/Observation/abc'],
  ] as const) {
    const refused = await app.inject({
      method,
      url,
      headers: { 'content-type': 'application/fhir+json' },
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: HUGE_BODY }),
    });
    outcome(refused, 401, 'login');
    assert.equal(
      refused.headers['www-authenticate'] ?? 'challenge-less test auth',
      'challenge-less test auth',
    );
  }
  outcome(
    await app.inject(fhirJson('POST', '/fhir', HUGE_BODY, { authorization: 'Bearer nobody' })),
    401,
    'login',
  );
  assert.equal(parsedBodies(), 0, 'no body was parsed for a caller without a valid token');
  outcome(
    await app.inject(fhirJson('POST', '/fhir', '{"resourceType":"Bundle"')),
    400,
    'structure',
  );
  assert.equal(parsedBodies(), 1, "an authenticated caller's body is parsed");
  assert.equal(
    (await app.inject('/fhir/metadata')).statusCode,
    200,
    'the CapabilityStatement stays public',
  );
});

const observation = (patientId: string): JsonObject => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'Heart rate' },
  subject: { reference: `Patient/${patientId}` },
});

test('a batch with malformed entries answers 200; each malformed entry has its own 400 OperationOutcome and the others run', async (t) => {
  const { app } = await serveFhir(t);
  const patientId = await createPatient(app);
  const good = {
    resource: observation(patientId),
    request: { method: 'POST', url: 'Observation' },
  };
  const entry = [
    good,
    { resource: observation(patientId) },
    { resource: 'not an object', request: { method: 'POST', url: 'Observation' } },
    { resource: observation(patientId), request: { method: 'FETCH', url: 'Observation' } },
    { resource: observation(patientId), request: { method: 'constructor', url: 'Observation' } },
    'not an entry',
    { resource: observation(patientId), request: { method: 'PUT', url: 'Observation?code=x' } },
    {
      resource: { ...observation(patientId), subject: { reference: 'Patient?bogus=1' } },
      request: { method: 'POST', url: 'Observation' },
    },
    good,
  ];
  const response = await app.inject(
    fhirJson('POST', '/fhir', { resourceType: 'Bundle', type: 'batch', entry }),
  );
  assert.equal(response.statusCode, 200, response.body.slice(0, 500));
  const entries = (response.json() as JsonObject)['entry'] as {
    response: { status: string; outcome?: JsonObject };
  }[];
  assert.deepEqual(
    entries.map((item) => item.response.status.split(' ')[0]),
    ['201', '400', '400', '400', '400', '400', '400', '400', '201'],
  );
  for (const [index, item] of entries.entries()) {
    if (item.response.outcome === undefined) continue;
    const issue = (item.response.outcome['issue'] as JsonObject[])[0]!;
    assert.match(
      String((issue['expression'] as string[])[0]),
      new RegExp(`^Bundle\\.entry\\[${index}\\]`),
      'each outcome names its own entry',
    );
  }
});

test('a transaction with one malformed entry is a 400 naming that entry, and writes nothing', async (t) => {
  const { node, app } = await serveFhir(t);
  const patientId = await createPatient(app);
  const good = {
    resource: observation(patientId),
    request: { method: 'POST', url: 'Observation' },
  };
  const malformed: [entry: unknown, code: string][] = [
    [{ resource: observation(patientId) }, 'required'],
    [{ resource: [1], request: { method: 'POST', url: 'Observation' } }, 'structure'],
    [
      { resource: observation(patientId), request: { method: 'toString', url: 'Observation' } },
      'value',
    ],
    [null, 'structure'],
    [{ request: { method: 'DELETE', url: 'Observation?code=x' } }, 'not-supported'],
    [
      { resource: observation(patientId), request: { method: 'PUT', url: 'Observation?code=x' } },
      'not-supported',
    ],
  ];
  for (const [bad, code] of malformed) {
    const height = node.head().height;
    const refused = outcome(
      await app.inject(
        fhirJson('POST', '/fhir', {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [good, good, good, bad, good],
        }),
      ),
      400,
      code,
    );
    assert.match(
      String(((refused['issue'] as JsonObject[])[0]!['expression'] as string[])[0]),
      /^Bundle\.entry\[3\]/,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(node.head().height, height, 'nothing reached the ledger');
  }
});

test('an update may not move a record to another patient: 422 business-rule, nothing written', async (t) => {
  const { app, node } = await serveFhir(t);
  const first = await createPatient(app);
  const second = await createPatient(app);
  const created = await app.inject(fhirJson('POST', '/fhir/Observation', observation(first)));
  assert.equal(created.statusCode, 201, created.body);
  const id = String((created.json() as JsonObject)['id']);
  const moved = outcome(
    await app.inject(fhirJson('PUT', `/fhir/Observation/${id}`, { ...observation(second), id })),
    422,
    'business-rule',
  );
  assert.ok(!JSON.stringify(moved).includes(second), 'the outcome does not quote the patient');
  const recordId = node.pseudonyms.recordIdOf('Observation', id)!;
  assert.equal(node.records.record(recordId)!.latestVersion, 1);
  const inBundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: { ...observation(second), id },
        request: { method: 'PUT', url: `Observation/${id}` },
      },
    ],
  };
  outcome(await app.inject(fhirJson('POST', '/fhir', inBundle)), 422, 'business-rule');
  assert.equal(node.records.record(recordId)!.latestVersion, 1);
  const kept = await app.inject(
    fhirJson('PUT', `/fhir/Observation/${id}`, { ...observation(first), id, status: 'amended' }),
  );
  assert.equal(kept.statusCode, 200, 'an update for the same patient goes through');
});

test('of two concurrent updates with the same If-Match, the loser gets 412 Precondition Failed and leaves no blob', async (t) => {
  const { app, node } = await serveFhir(t);
  const patientId = await createPatient(app);
  const created = await app.inject(fhirJson('POST', '/fhir/Observation', observation(patientId)));
  const id = String((created.json() as JsonObject)['id']);
  const put = (status: string) =>
    app.inject(
      fhirJson(
        'PUT',
        `/fhir/Observation/${id}`,
        { ...observation(patientId), id, status },
        { 'if-match': 'W/"1"' },
      ),
    );
  const answers = await Promise.all([put('amended'), put('corrected')]);
  assert.deepEqual(
    answers.map((answer) => answer.statusCode).sort(),
    [200, 412],
    answers.map((answer) => answer.body.slice(0, 300)).join('\n'),
  );
  outcome(
    answers.find((answer) => answer.statusCode === 412)!,
    412,
    'conflict',
  );
  assert.deepEqual(
    blobFiles(node).sort(),
    [...anchorsInState(node.store)].map(([hash]) => hash).sort(),
    "the losing write's ciphertext was deleted with its refusal",
  );
});

/** Every blob in the node's blob store. */
function blobFiles(node: ChartChainNode): string[] {
  return [...node.records.blobs.hashes()];
}

test('a transaction Bundle that cannot fit one ledger transaction is refused with 413 before any work: no blobs, nothing on the ledger', async (t) => {
  const { app, node } = await serveFhir(t);
  const patientId = await createPatient(app);
  const blobsBefore = blobFiles(node).length;
  const height = node.head().height;
  const post = (resource: JsonObject) => ({
    resource,
    request: { method: 'POST', url: 'Observation' },
  });
  const label = (i: number) => ({
    system: `http://example.org/a-long-security-label-system-${'x'.repeat(200)}`,
    code: `label-${i}`,
  });
  const tooMany = Array.from({ length: 10_000 }, () => post(observation(patientId)));
  const tooBig = Array.from({ length: 1_000 }, () =>
    post({ ...observation(patientId), meta: { security: [1, 2, 3, 4].map(label) } }),
  );
  for (const entry of [tooMany, tooMany.slice(0, 1_001), tooBig]) {
    const started = performance.now();
    outcome(
      await app.inject(
        fhirJson('POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry }),
      ),
      413,
      'too-costly',
    );
    assert.ok(
      performance.now() - started < 5_000,
      `refused in ${Math.round(performance.now() - started)} ms`,
    );
  }
  outcome(
    await app.inject(
      fhirJson('POST', '/fhir', { resourceType: 'Bundle', type: 'batch', entry: tooMany }),
    ),
    413,
    'too-costly',
  );
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(blobFiles(node).length, blobsBefore, 'no ciphertext was stored');
  assert.equal(node.head().height, height, 'nothing reached the ledger');
});

test('a body with a lone UTF-16 surrogate or bytes that are not UTF-8 is a 400 OperationOutcome; a paired surrogate is text like any other', async (t) => {
  const { app, node } = await serveFhir(t);
  const heightBefore = node.head()!.height;
  const named = (family: string) => `{"resourceType":"Patient","name":[{"family":"${family}"}]}`;
  for (const family of ['Sur\\ud800', 'Sur\\uDC00x', '\\ud800\\ud800']) {
    const refused = outcome(
      await app.inject(fhirJson('POST', '/fhir/Patient', named(family))),
      400,
      'structure',
    );
    assert.match(JSON.stringify(refused), /lone UTF-16 surrogate/, family);
  }
  const inMemberName = '{"resourceType":"Patient","name":[{"family":"Ok","\\udfff":1}]}';
  outcome(await app.inject(fhirJson('POST', '/fhir/Patient', inMemberName)), 400, 'structure');
  const notUtf8 = {
    ...fhirJson('POST', '/fhir/Patient', ''),
    payload: Buffer.concat([
      Buffer.from(named('Sur')).subarray(0, 40),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]}'),
    ]),
  };
  const badBytes = outcome(await app.inject(notUtf8), 400, 'structure');
  assert.match(JSON.stringify(badBytes), /not valid UTF-8/);
  assert.equal(node.head()!.height, heightBefore, 'nothing refused reached the ledger');
  const paired = await app.inject(fhirJson('POST', '/fhir/Patient', named('Smile\\ud83d\\ude00')));
  assert.equal(paired.statusCode, 201, paired.body);
});

test('of concurrent creates of one new id, one is 201 and the others a 409 that says the id was created meanwhile', async (t) => {
  const { app, node } = await serveFhir(t);
  const patientId = await createPatient(app);
  const id = 'race-1';
  const answers = await Promise.all(
    [1, 2, 3].map(() =>
      app.inject(fhirJson('PUT', `/fhir/Observation/${id}`, { ...observation(patientId), id })),
    ),
  );
  // All three were checked before any committed: each expected to create the record.
  assert.deepEqual(
    answers.map((answer) => answer.statusCode).sort(),
    [201, 409, 409],
    answers.map((answer) => answer.body.slice(0, 300)).join('\n'),
  );
  for (const answer of answers.filter((answer) => answer.statusCode === 409)) {
    const refused = JSON.stringify(outcome(answer, 409, 'conflict'));
    assert.match(refused, /created by another request meanwhile/);
    assert.doesNotMatch(refused, /another type/);
  }
  assert.equal(
    node.records.record(node.pseudonyms.recordIdOf('Observation', id)!)!.status,
    'active',
  );
});
