import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../ledger/index.js';
import { AS_DOCTOR, fhirJson, outcome, serveFhir } from './testonly/fhir-test-fixture.js';

const LOINC_WEIGHT = 'http://loinc.org|29463-7';

function observation(patientId: string, value: number): JsonObject {
  return {
    resourceType: 'Observation',
    status: 'preliminary',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}

const jsonPatch = (url: string, operations: unknown, headers: Record<string, string> = {}) => ({
  method: 'PATCH' as const,
  url,
  headers: { 'content-type': 'application/json-patch+json', ...AS_DOCTOR, ...headers },
  payload: JSON.stringify(operations),
});

async function withPatient(t: Parameters<typeof serveFhir>[0]) {
  const served = await serveFhir(t);
  const patient = await served.app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Lovelace' }] }),
  );
  assert.equal(patient.statusCode, 201, patient.body);
  return { ...served, patientId: (patient.json() as { id: string }).id };
}

test('PATCH applies a JSON Patch to the current version as an update, or names why not', async (t) => {
  const { app, patientId } = await withPatient(t);
  const created = await app.inject(
    fhirJson('POST', '/fhir/Observation', observation(patientId, 70)),
  );
  const id = (created.json() as { id: string }).id;
  const url = `/fhir/Observation/${id}`;

  const patched = await app.inject(
    jsonPatch(url, [
      { op: 'test', path: '/status', value: 'preliminary' },
      { op: 'replace', path: '/status', value: 'final' },
      { op: 'replace', path: '/valueQuantity/value', value: 71.5 },
    ]),
  );
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.headers['etag'], 'W/"2"');
  const read = (await app.inject({ method: 'GET', url, headers: AS_DOCTOR })).json() as JsonObject;
  assert.equal(read['status'], 'final');
  assert.deepEqual((read['valueQuantity'] as JsonObject)['value'], 71.5);
  assert.deepEqual((read['meta'] as JsonObject)['versionId'], '2');

  outcome(
    await app.inject(
      jsonPatch(url, [{ op: 'replace', path: '/status', value: 'amended' }], {
        'if-match': 'W/"1"',
      }),
    ),
    412,
    'conflict',
  );
  outcome(
    await app.inject(jsonPatch(url, [{ op: 'test', path: '/status', value: 'preliminary' }])),
    422,
    'processing',
  );
  outcome(
    await app.inject(jsonPatch(url, [{ op: 'replace', path: '/id', value: 'another' }])),
    422,
    'processing',
  );
  outcome(await app.inject(jsonPatch(url, [{ op: 'remove', path: '/note/0' }])), 422, 'processing');
  outcome(await app.inject(jsonPatch(url, { op: 'replace' })), 400, 'structure');
  outcome(
    await app.inject(jsonPatch(url, [{ op: 'increment', path: '/status' }])),
    400,
    'structure',
  );
  outcome(
    await app.inject(jsonPatch(url, [{ op: 'add', path: '/status', value: 7 }])),
    422,
    'value',
  );
  const notPatch = await app.inject({
    ...jsonPatch(url, []),
    headers: { ...AS_DOCTOR, 'content-type': 'text/plain' },
  });
  outcome(notPatch, 415, 'not-supported');
  outcome(await app.inject(jsonPatch('/fhir/Observation/no-such-id', [])), 404, 'not-found');
  outcome(await app.inject(jsonPatch('/fhir/Consent/any', [])), 405, 'not-supported');
  const readOnly = { authorization: 'Bearer practitioner:dr-ada:read,search' };
  outcome(await app.inject(jsonPatch(url, [], readOnly)), 403, 'forbidden');
  // Update alone does not read: a patch answers with the resource, so it needs read too.
  const updateOnly = { authorization: 'Bearer practitioner:dr-ada:update' };
  outcome(await app.inject(jsonPatch(url, [], updateOnly)), 403, 'forbidden');
  const after = (await app.inject({ method: 'GET', url, headers: AS_DOCTOR })).json() as JsonObject;
  assert.equal((after['meta'] as JsonObject)['versionId'], '2', 'no refused patch wrote a version');
});

test('conditional create, update and delete act on the one readable match, and refuse several', async (t) => {
  const { app, patientId } = await withPatient(t);
  const ifNoneExist = { 'if-none-exist': `code=${encodeURIComponent(LOINC_WEIGHT)}` };

  const first = await app.inject(
    fhirJson('POST', '/fhir/Observation', observation(patientId, 70), ifNoneExist),
  );
  assert.equal(first.statusCode, 201, first.body);
  const id = (first.json() as { id: string }).id;
  const createOnly = { ...ifNoneExist, authorization: 'Bearer practitioner:dr-ada:create' };
  const probing = await app.inject(
    fhirJson('POST', '/fhir/Observation', observation(patientId, 99), createOnly),
  );
  outcome(probing, 403, 'forbidden');
  const again = await app.inject(
    fhirJson('POST', '/fhir/Observation', observation(patientId, 99), ifNoneExist),
  );
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(
    (again.json() as { id: string }).id,
    id,
    'the match is returned, nothing is created',
  );

  const query = `/fhir/Observation?code=${encodeURIComponent(LOINC_WEIGHT)}`;
  const updated = await app.inject(
    fhirJson('PUT', query, { ...observation(patientId, 72), status: 'final' }),
  );
  assert.equal(updated.statusCode, 200, updated.body);
  assert.equal((updated.json() as { id: string }).id, id);
  assert.equal(updated.headers['etag'], 'W/"2"');
  outcome(
    await app.inject(fhirJson('PUT', query, { ...observation(patientId, 72), id: 'another' })),
    400,
    'invalid',
  );

  const none = `/fhir/Observation?code=${encodeURIComponent('http://loinc.org|8302-2')}`;
  const height = {
    ...observation(patientId, 172),
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
  };
  outcome(await app.inject(fhirJson('PUT', none, { ...height, id })), 409, 'conflict');
  const createdByPut = await app.inject(fhirJson('PUT', none, height));
  assert.equal(createdByPut.statusCode, 201, createdByPut.body);

  const everyWeight = `/fhir/Observation?subject=Patient/${patientId}`;
  outcome(
    await app.inject({ method: 'DELETE', url: everyWeight, headers: AS_DOCTOR }),
    412,
    'multiple-matches',
  );
  outcome(
    await app.inject({ method: 'DELETE', url: '/fhir/Observation', headers: AS_DOCTOR }),
    400,
    'invalid',
  );
  const deleted = await app.inject({ method: 'DELETE', url: query, headers: AS_DOCTOR });
  assert.equal(deleted.statusCode, 204, deleted.body);
  assert.equal(deleted.headers['etag'], 'W/"3"');
  outcome(
    await app.inject({ method: 'GET', url: `/fhir/Observation/${id}`, headers: AS_DOCTOR }),
    410,
    'deleted',
  );
  const nothingLeft = await app.inject({ method: 'DELETE', url: query, headers: AS_DOCTOR });
  assert.equal(nothingLeft.statusCode, 204);
  assert.equal(nothingLeft.headers['etag'], undefined);
  outcome(
    await app.inject({ method: 'DELETE', url: '/fhir/Consent?patient=x', headers: AS_DOCTOR }),
    405,
    'not-supported',
  );
});

test('_security finds records by their security labels, among those the caller may read', async (t) => {
  const { app, patientId } = await withPatient(t);
  const restricted = {
    ...observation(patientId, 80),
    meta: {
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    },
  };
  const labelled = await app.inject(fhirJson('POST', '/fhir/Observation', restricted));
  assert.equal(labelled.statusCode, 201, labelled.body);
  await app.inject(fhirJson('POST', '/fhir/Observation', observation(patientId, 81)));
  const search = async (query: string) =>
    (
      (
        await app.inject({ method: 'GET', url: `/fhir/Observation?${query}`, headers: AS_DOCTOR })
      ).json() as {
        entry?: { resource: { id: string } }[];
      }
    ).entry?.map((entry) => entry.resource.id) ?? [];
  const labelledId = (labelled.json() as { id: string }).id;
  assert.deepEqual(
    await search(
      `_security=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R')}`,
    ),
    [labelledId],
  );
  assert.deepEqual(await search('_security=R'), [labelledId]);
  assert.deepEqual(await search('_security=V'), []);
  assert.equal((await search(`subject=Patient/${patientId}`)).length, 2);
});

test('chained parameters and _has narrow a search through the resources they name', async (t) => {
  const { app, patientId: lovelace } = await withPatient(t);
  const other = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Hopper' }] }),
  );
  const hopper = (other.json() as { id: string }).id;
  const weight = await app.inject(fhirJson('POST', '/fhir/Observation', observation(lovelace, 70)));
  const height = {
    ...observation(hopper, 172),
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
  };
  const heightOfHopper = await app.inject(fhirJson('POST', '/fhir/Observation', height));
  const ids = async (url: string) => {
    const response = await app.inject({ method: 'GET', url, headers: AS_DOCTOR });
    assert.equal(response.statusCode, 200, response.body);
    return (
      (response.json() as { entry?: { resource: { id: string } }[] }).entry?.map(
        (entry) => entry.resource.id,
      ) ?? []
    );
  };
  const idOf = (response: { json: () => unknown }) => (response.json() as { id: string }).id;

  assert.deepEqual(await ids('/fhir/Observation?subject.name=lovelace'), [idOf(weight)]);
  assert.deepEqual(await ids('/fhir/Observation?subject:Patient.family=hop'), [
    idOf(heightOfHopper),
  ]);
  assert.deepEqual(await ids('/fhir/Observation?patient.name=nobody'), []);
  assert.deepEqual(await ids(`/fhir/Patient?_has:Observation:subject:code=29463-7`), [lovelace]);
  assert.deepEqual(await ids(`/fhir/Patient?_has:Observation:patient:code=8302-2`), [hopper]);
  assert.deepEqual(
    (await ids('/fhir/Patient?_has:Observation:subject:status=preliminary')).sort(),
    [lovelace, hopper].sort(),
  );

  const refused = (url: string, status: number, code: string) =>
    app
      .inject({ method: 'GET', url, headers: AS_DOCTOR })
      .then((response) => outcome(response, status, code));
  await refused('/fhir/Observation?code.name=x', 400, 'not-supported');
  await refused('/fhir/Observation?subject.organization.name=x', 400, 'not-supported');
  await refused('/fhir/Observation?subject.unknown=x', 400, 'not-supported');
  await refused('/fhir/Patient?_has:Observation:subject', 400, 'value');
  await refused('/fhir/Patient?_has:Observation:code:status=final', 400, 'not-supported');
  await refused('/fhir/Patient?_has:Observation:subject:nonexistent=1', 400, 'not-supported');
});

test('PATCH with a FHIRPath Patch: replace, add, insert, move and delete, on simple paths and FHIRPath ones', async (t) => {
  const { app, patientId } = await withPatient(t);
  const created = await app.inject(
    fhirJson('POST', '/fhir/Observation', {
      ...observation(patientId, 70),
      note: [{ text: 'first' }, { text: 'second' }],
    }),
  );
  const url = `/fhir/Observation/${(created.json() as { id: string }).id}`;
  const operation = (parts: JsonObject[]) => ({ name: 'operation', part: parts });
  const part = (name: string, value: JsonObject) => ({ name, ...value });
  const fhirPathPatch = (operations: JsonObject[]) =>
    app.inject(fhirJson('PATCH', url, { resourceType: 'Parameters', parameter: operations }));

  const patched = await fhirPathPatch([
    operation([
      part('type', { valueCode: 'replace' }),
      part('path', { valueString: 'Observation.status' }),
      part('value', { valueCode: 'final' }),
    ]),
    operation([
      part('type', { valueCode: 'add' }),
      part('path', { valueString: 'Observation' }),
      part('name', { valueString: 'note' }),
      part('value', { valueAnnotation: { text: 'third' } }),
    ]),
    operation([
      part('type', { valueCode: 'insert' }),
      part('path', { valueString: 'Observation.note' }),
      part('index', { valueInteger: 0 }),
      part('value', { valueAnnotation: { text: 'zeroth' } }),
    ]),
    operation([
      part('type', { valueCode: 'move' }),
      part('path', { valueString: 'Observation.note' }),
      part('source', { valueInteger: 3 }),
      part('destination', { valueInteger: 1 }),
    ]),
    operation([
      part('type', { valueCode: 'delete' }),
      part('path', { valueString: 'Observation.note[2]' }),
    ]),
    operation([
      part('type', { valueCode: 'delete' }),
      part('path', { valueString: 'Observation.issued' }),
    ]),
  ]);
  assert.equal(patched.statusCode, 200, patched.body);
  const read = (await app.inject({ method: 'GET', url, headers: AS_DOCTOR })).json() as {
    status: string;
    note: { text: string }[];
  };
  assert.equal(read.status, 'final');
  assert.deepEqual(
    read.note.map((note) => note.text),
    ['zeroth', 'third', 'second'],
  );

  // Paths with functions are evaluated as FHIRPath, each selecting exactly one element.
  const byFunction = await fhirPathPatch([
    operation([
      part('type', { valueCode: 'replace' }),
      part('path', { valueString: "Observation.note.where(text = 'third').text" }),
      part('value', { valueMarkdown: 'third, amended' }),
    ]),
    operation([
      part('type', { valueCode: 'delete' }),
      part('path', { valueString: "Observation.note.where(text = 'zeroth')" }),
    ]),
    operation([
      part('type', { valueCode: 'add' }),
      part('path', { valueString: 'Observation.note.last()' }),
      part('name', { valueString: 'authorString' }),
      part('value', { valueString: 'Dr Ada' }),
    ]),
    operation([
      part('type', { valueCode: 'delete' }),
      part('path', { valueString: "Observation.note.where(text = 'absent')" }),
    ]),
  ]);
  assert.equal(byFunction.statusCode, 200, byFunction.body);
  assert.deepEqual((byFunction.json() as { note: JsonObject[] }).note, [
    { text: 'third, amended' },
    { text: 'second', authorString: 'Dr Ada' },
  ]);
  const ambiguous = operation([
    part('type', { valueCode: 'delete' }),
    part('path', { valueString: 'Observation.note.where(text.exists())' }),
  ]);
  outcome(await fhirPathPatch([ambiguous]), 422, 'processing');
  // Functions that can cost more than a pass over the resource are refused before evaluation.
  for (const path of [
    "Observation.note.where(text.matches('^(a+)+$'))",
    'Observation.descendants().first()',
    "Observation.note.where(`text` = 'x')",
  ])
    outcome(
      await fhirPathPatch([
        operation([part('type', { valueCode: 'delete' }), part('path', { valueString: path })]),
      ]),
      422,
      'not-supported',
    );
  const tooMany = Array.from({ length: 1001 }, () =>
    operation([
      part('type', { valueCode: 'delete' }),
      part('path', { valueString: 'Observation.issued' }),
    ]),
  );
  outcome(await fhirPathPatch(tooMany), 400, 'too-costly');
  const notFhirPath = operation([
    part('type', { valueCode: 'delete' }),
    part('path', { valueString: 'Observation.note.where(' }),
  ]);
  outcome(await fhirPathPatch([notFhirPath]), 400, 'invalid');
  const otherType = operation([
    part('type', { valueCode: 'delete' }),
    part('path', { valueString: 'Patient.name' }),
  ]);
  outcome(await fhirPathPatch([otherType]), 400, 'invalid');
  outcome(
    await fhirPathPatch([
      operation([
        part('type', { valueCode: 'upsert' }),
        part('path', { valueString: 'Observation.status' }),
      ]),
    ]),
    400,
    'invalid',
  );
});

test("a batch's conditional creates, a transaction's and a plain one of the same search, all at once, create one resource", async (t) => {
  const { app, patientId } = await withPatient(t);
  const search = `code=${encodeURIComponent(LOINC_WEIGHT)}`;
  const entry = (value: number) => ({
    resource: observation(patientId, value),
    request: { method: 'POST', url: 'Observation', ifNoneExist: search },
  });
  const bundle = (type: string, values: number[]) =>
    fhirJson('POST', '/fhir', { resourceType: 'Bundle', type, entry: values.map(entry) });
  const answers = await Promise.all([
    app.inject(bundle('batch', [1, 2, 3])),
    app.inject(bundle('transaction', [4])),
    app.inject(
      fhirJson('POST', '/fhir/Observation', observation(patientId, 5), { 'if-none-exist': search }),
    ),
  ]);
  for (const answer of answers) assert.ok(answer.statusCode < 300, answer.body.slice(0, 300));
  const found = await app.inject({ url: `/fhir/Observation?${search}`, headers: AS_DOCTOR });
  assert.equal(
    ((found.json() as { entry?: unknown[] }).entry ?? []).length,
    1,
    'one resource for the search, whoever created it',
  );
});

test('concurrent conditional creates of one search create one resource; the others answer with it', async (t) => {
  const { app, patientId } = await withPatient(t);
  // The same search, its parameters in another order: one key.
  const searches = [
    `code=${encodeURIComponent(LOINC_WEIGHT)}&status=preliminary`,
    `status=preliminary&code=${encodeURIComponent(LOINC_WEIGHT)}`,
    `code=${encodeURIComponent(LOINC_WEIGHT)}&status=preliminary`,
  ];
  const answers = await Promise.all(
    searches.map((search, i) =>
      app.inject(
        fhirJson('POST', '/fhir/Observation', observation(patientId, 70 + i), {
          'if-none-exist': search,
        }),
      ),
    ),
  );
  assert.deepEqual(
    answers.map((answer) => answer.statusCode).sort(),
    [200, 200, 201],
    answers.map((answer) => answer.body.slice(0, 200)).join('\n'),
  );
  assert.equal(new Set(answers.map((answer) => (answer.json() as { id: string }).id)).size, 1);
  const found = await app.inject({
    url: `/fhir/Observation?${searches[0]!}`,
    headers: AS_DOCTOR,
  });
  assert.equal(((found.json() as { entry?: unknown[] }).entry ?? []).length, 1);
});
