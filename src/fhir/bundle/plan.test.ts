import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { planBundle } from './plan.js';
import {
  assertFhirError,
  assertIsFhirError,
  bundleOf,
  counterIds,
  post,
} from '../testonly/bundle-helpers.js';
import { BUNDLE_ENTRIES_MAX } from '../../ledger/index.js';

const PATIENT = 'urn:uuid:11111111-1111-4111-8111-111111111111';
const ENCOUNTER = 'urn:uuid:22222222-2222-4222-8222-222222222222';

test("a transaction runs DELETE, POST, PUT, GET, keeping each entry's original index", () => {
  const plan = planBundle(
    bundleOf('transaction', [
      { request: { method: 'GET', url: 'Patient/a' } },
      {
        fullUrl: 'urn:uuid:p2',
        resource: { resourceType: 'Patient', id: 'b' },
        request: { method: 'PUT', url: 'Patient/b', ifMatch: 'W/"2"' },
      },
      post(PATIENT, { resourceType: 'Patient' }),
      { request: { method: 'DELETE', url: 'Patient/c' } },
      { request: { method: 'GET', url: 'Observation?code=1234' } },
      post(ENCOUNTER, { resourceType: 'Encounter' }),
    ]),
    counterIds(),
  );
  assert.deepEqual(
    plan.steps.map((step) => `${step.method} ${step.index}`),
    ['DELETE 3', 'POST 2', 'POST 5', 'PUT 1', 'GET 0', 'GET 4'],
  );
  assert.deepEqual(
    plan.steps.map((step) => step.id),
    ['c', 'id-1', 'id-2', 'b', 'a', undefined],
  );
  assert.equal(plan.steps.find((step) => step.index === 1)!.ifMatch, 'W/"2"');
  assert.deepEqual(
    [...plan.idMap],
    [
      ['urn:uuid:p2', 'Patient/b'],
      [PATIENT, 'Patient/id-1'],
      [ENCOUNTER, 'Encounter/id-2'],
    ],
  );
  assert.deepEqual(plan.entryErrors, []);
});

test("conditional update and delete are refused, not run without an id: 400 not-supported in a transaction, the entry's error in a batch", () => {
  for (const conditional of [
    { request: { method: 'DELETE', url: 'Observation?subject=Patient/c' } },
    {
      resource: { resourceType: 'Observation' },
      request: { method: 'PUT', url: 'Observation?code=x' },
    },
  ]) {
    assertFhirError(
      () =>
        planBundle(
          bundleOf('transaction', [post(PATIENT, { resourceType: 'Patient' }), conditional]),
          counterIds(),
        ),
      400,
      'not-supported',
      'Bundle.entry[1].request.url',
    );
    const plan = planBundle(bundleOf('batch', [conditional]), counterIds());
    assert.deepEqual(plan.steps, []);
    assertIsFhirError(
      plan.entryErrors[0]!.error,
      400,
      'not-supported',
      'Bundle.entry[0].request.url',
    );
  }
});

test('a transaction rewrites references to entries anywhere in a resource, and replaces the POSTed id', () => {
  const patient: JsonObject = { resourceType: 'Patient', id: 'client-chosen' };
  const observation: JsonObject = {
    resourceType: 'Observation',
    id: 'x',
    subject: { reference: PATIENT, display: 'p' },
    encounter: { reference: 'http://example.org/fhir/Encounter/9' },
    performer: [{ reference: '#pr' }, { reference: 'Practitioner/7' }],
    contained: [
      {
        resourceType: 'Practitioner',
        id: 'pr',
        extension: [{ url: 'http://e', valueReference: { reference: PATIENT } }],
      },
    ],
    extension: [
      {
        url: 'http://f',
        extension: [
          { url: 'g', valueReference: { reference: 'http://example.org/fhir/Encounter/9' } },
        ],
      },
    ],
    note: [{ text: PATIENT }],
  };
  const input = bundleOf('transaction', [
    post(PATIENT, patient),
    post('http://example.org/fhir/Encounter/9', { resourceType: 'Encounter' }),
    post('urn:uuid:o', observation),
  ]);
  const before = JSON.stringify(input);
  const plan = planBundle(input, counterIds());
  const out = plan.steps[2]!.resource!;
  assert.equal(plan.steps[0]!.resource!['id'], 'id-1');
  assert.equal(out['id'], 'id-3');
  assert.deepEqual(out['subject'], { reference: 'Patient/id-1', display: 'p' });
  assert.deepEqual(out['encounter'], { reference: 'Encounter/id-2' });
  assert.deepEqual(out['performer'], [{ reference: '#pr' }, { reference: 'Practitioner/7' }]);
  assert.equal(JSON.stringify(out['contained']).includes('"reference":"Patient/id-1"'), true);
  assert.equal(JSON.stringify(out['extension']).includes('"reference":"Encounter/id-2"'), true);
  assert.deepEqual(out['note'], [{ text: PATIENT }], 'only Reference.reference is rewritten');
  assert.equal(JSON.stringify(input), before, 'the request Bundle is left as it was');
});

test('conditional references are collected with entry and path, not resolved; ifNoneExist is carried', () => {
  const plan = planBundle(
    bundleOf('transaction', [
      post('urn:uuid:org', { resourceType: 'Organization' }, { ifNoneExist: 'identifier=sys|1' }),
      post('urn:uuid:e', {
        resourceType: 'Encounter',
        serviceProvider: { reference: 'Organization?identifier=sys|1' },
        participant: [
          {
            individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|99' },
          },
        ],
      }),
    ]),
    counterIds(),
  );
  assert.equal(plan.steps[0]!.ifNoneExist, 'identifier=sys|1');
  assert.deepEqual(plan.conditionalReferences, [
    {
      index: 1,
      path: 'Bundle.entry[1].resource.serviceProvider.reference',
      reference: 'Organization?identifier=sys|1',
      type: 'Organization',
    },
    {
      index: 1,
      path: 'Bundle.entry[1].resource.participant[0].individual.reference',
      reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|99',
      type: 'Practitioner',
    },
  ]);
  assert.equal(
    plan.steps[1]!.resource!['serviceProvider'] !== undefined &&
      JSON.stringify(plan.steps[1]!.resource).includes('Organization?identifier=sys|1'),
    true,
  );
});

test('Bundle-level errors: not a Bundle, wrong type, entry not an array, too many entries, repeated fullUrl', () => {
  assertFhirError(() => planBundle('x', counterIds()), 400, 'structure', 'Bundle');
  assertFhirError(
    () => planBundle({ resourceType: 'Patient' }, counterIds()),
    400,
    'value',
    'Bundle.resourceType',
  );
  assertFhirError(
    () => planBundle({ resourceType: 'Bundle' }, counterIds()),
    400,
    'required',
    'Bundle.type',
  );
  assertFhirError(
    () => planBundle(bundleOf('collection', []), counterIds()),
    400,
    'not-supported',
    'Bundle.type',
  );
  assertFhirError(
    () => planBundle(bundleOf('transactions', []), counterIds()),
    400,
    'value',
    'Bundle.type',
  );
  assertFhirError(
    () => planBundle({ resourceType: 'Bundle', type: 'batch', entry: {} }, counterIds()),
    400,
    'structure',
    'Bundle.entry',
  );
  const many = Array.from({ length: BUNDLE_ENTRIES_MAX + 1 }, () => ({
    request: { method: 'GET', url: 'Patient/a' },
  }));
  assertFhirError(
    () => planBundle(bundleOf('batch', many), counterIds()),
    413,
    'too-costly',
    'Bundle.entry',
  );
  assert.equal(
    planBundle(bundleOf('batch', many.slice(1)), counterIds()).steps.length,
    BUNDLE_ENTRIES_MAX,
  );
  const twice = [
    post(PATIENT, { resourceType: 'Patient' }),
    post(PATIENT, { resourceType: 'Patient' }),
  ];
  assertFhirError(
    () => planBundle(bundleOf('transaction', twice), counterIds()),
    400,
    'invariant',
    'Bundle.entry[1].fullUrl',
  );
  assert.deepEqual(
    planBundle({ resourceType: 'Bundle', type: 'transaction' }, counterIds()).steps,
    [],
  );
});

/** Entry errors: [entry, status, code, expression]. */
const ENTRY_ERRORS: [unknown, number, string, string][] = [
  ['not an object', 400, 'structure', 'Bundle.entry[1]'],
  [{ resource: { resourceType: 'Patient' } }, 400, 'required', 'Bundle.entry[1].request'],
  [{ request: { url: 'Patient/a' } }, 400, 'required', 'Bundle.entry[1].request.method'],
  [
    { request: { method: 'FETCH', url: 'Patient/a' } },
    400,
    'value',
    'Bundle.entry[1].request.method',
  ],
  [
    { request: { method: 'PATCH', url: 'Patient/a' }, resource: { resourceType: 'Parameters' } },
    400,
    'not-supported',
    'Bundle.entry[1].request.method',
  ],
  [
    { request: { method: 'HEAD', url: 'Patient/a' } },
    400,
    'not-supported',
    'Bundle.entry[1].request.method',
  ],
  [{ request: { method: 'GET' } }, 400, 'required', 'Bundle.entry[1].request.url'],
  [
    { request: { method: 'GET', url: 'http://other.org/fhir/Patient/a' } },
    400,
    'not-supported',
    'Bundle.entry[1].request.url',
  ],
  [
    { request: { method: 'GET', url: 'Unicorn/a' } },
    400,
    'not-supported',
    'Bundle.entry[1].request.url',
  ],
  [
    { request: { method: 'POST', url: 'Patient/a' }, resource: { resourceType: 'Patient' } },
    400,
    'value',
    'Bundle.entry[1].request.url',
  ],
  [
    { request: { method: 'PUT', url: 'Patient' }, resource: { resourceType: 'Patient' } },
    400,
    'value',
    'Bundle.entry[1].request.url',
  ],
  [
    { request: { method: 'DELETE', url: 'Patient/a/_history/1' } },
    400,
    'value',
    'Bundle.entry[1].request.url',
  ],
  [
    { request: { method: 'DELETE', url: 'Patient/a b' } },
    400,
    'value',
    'Bundle.entry[1].request.url',
  ],
  [{ request: { method: 'POST', url: 'Patient' } }, 400, 'required', 'Bundle.entry[1].resource'],
  [
    { request: { method: 'POST', url: 'Patient' }, resource: [] },
    400,
    'structure',
    'Bundle.entry[1].resource',
  ],
  [
    { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Observation' } },
    400,
    'value',
    'Bundle.entry[1].resource.resourceType',
  ],
  [
    {
      request: { method: 'PUT', url: 'Patient/a' },
      resource: { resourceType: 'Patient', id: 'b' },
    },
    400,
    'value',
    'Bundle.entry[1].resource.id',
  ],
  [
    { request: { method: 'PUT', url: 'Patient/a' }, resource: { resourceType: 'Patient' } },
    400,
    'value',
    'Bundle.entry[1].resource.id',
  ],
  [
    {
      request: { method: 'PUT', url: 'Patient/a', ifNoneExist: 'x=y' },
      resource: { resourceType: 'Patient', id: 'a' },
    },
    400,
    'value',
    'Bundle.entry[1].request.ifNoneExist',
  ],
  [
    {
      request: { method: 'POST', url: 'Patient', ifMatch: 'W/"1"' },
      resource: { resourceType: 'Patient' },
    },
    400,
    'value',
    'Bundle.entry[1].request.ifMatch',
  ],
  [
    { request: { method: 'GET', url: 'Patient/a', ifNoneExist: 7 } },
    400,
    'value',
    'Bundle.entry[1].request.ifNoneExist',
  ],
  [
    { fullUrl: 3, request: { method: 'GET', url: 'Patient/a' } },
    400,
    'value',
    'Bundle.entry[1].fullUrl',
  ],
  [
    post('urn:uuid:x', { resourceType: 'Observation', subject: { reference: 'urn:uuid:nobody' } }),
    400,
    'processing',
    'Bundle.entry[1].resource.subject.reference',
  ],
  [
    post('urn:uuid:x', {
      resourceType: 'Observation',
      contained: [{ resourceType: 'Patient', link: [{ other: { reference: 'urn:oid:1.2.3' } }] }],
    }),
    400,
    'processing',
    'Bundle.entry[1].resource.contained[0].link[0].other.reference',
  ],
  [
    { request: { method: 'DELETE', url: 'Patient/first' } },
    400,
    'processing',
    'Bundle.entry[1].request.url',
  ],
  [
    {
      request: { method: 'PUT', url: 'Patient/first' },
      resource: { resourceType: 'Patient', id: 'first' },
    },
    400,
    'processing',
    'Bundle.entry[1].request.url',
  ],
];

test('every invalid entry fails a transaction whole, with its status, code and expression', () => {
  for (const [entry, status, code, expression] of ENTRY_ERRORS) {
    const bundle = bundleOf('transaction', [
      { request: { method: 'DELETE', url: 'Patient/first' } },
      entry,
    ]);
    assertFhirError(() => planBundle(bundle, counterIds()), status, code as never, expression);
  }
});

test("in a batch, each invalid entry becomes that entry's error and the others still run", () => {
  for (const [entry, status, code, expression] of ENTRY_ERRORS) {
    const plan = planBundle(
      bundleOf('batch', [
        { request: { method: 'DELETE', url: 'Patient/first' } },
        entry,
        { request: { method: 'GET', url: 'Patient/z' } },
      ]),
      counterIds(),
    );
    assert.deepEqual(
      plan.steps.map((step) => step.index),
      [0, 2],
      expression,
    );
    assert.equal(plan.entryErrors.length, 1);
    assert.equal(plan.entryErrors[0]!.index, 1);
    assertIsFhirError(plan.entryErrors[0]!.error, status, code as never, expression);
  }
});

test('a batch rewrites no references between entries and assigns no ids', () => {
  const plan = planBundle(
    bundleOf('batch', [
      post(PATIENT, { resourceType: 'Patient', id: 'p' }),
      post(ENCOUNTER, { resourceType: 'Encounter', subject: { reference: PATIENT } }),
    ]),
    () => assert.fail('a batch assigns no ids'),
  );
  assert.equal(plan.idMap.size, 0);
  assert.equal(plan.steps[0]!.id, undefined);
  assert.equal(plan.steps[0]!.resource!['id'], 'p');
  assert.deepEqual(
    plan.steps.map((step) => step.index),
    [0],
  );
  assertIsFhirError(
    plan.entryErrors[0]!.error,
    400,
    'processing',
    'Bundle.entry[1].resource.subject.reference',
  );
});

test("a transaction POST's assigned id must be fresh", () => {
  const twice = bundleOf('transaction', [
    post('urn:uuid:a', { resourceType: 'Patient' }),
    post('urn:uuid:b', { resourceType: 'Patient' }),
  ]);
  assert.throws(() => planBundle(twice, () => 'same'), /fresh R4 id/);
  assert.throws(() => planBundle(twice, () => 'not an id'), /fresh R4 id/);
});

test('resources nested deeper than the ledger accepts are too costly', () => {
  let deep: JsonObject = { reference: 'Patient/a' };
  for (let i = 0; i < 40; i++) deep = { extension: [deep] };
  const bundle = bundleOf('transaction', [post('urn:uuid:a', { resourceType: 'Basic', ...deep })]);
  const error = assertFhirError(
    () => planBundle(bundle, counterIds()),
    400,
    'too-costly',
    `Bundle.entry[0].resource${'.extension[0]'.repeat(16)}.extension`,
  );
  assert.match(error.message, /nesting/);
});

test('a transaction rewrites uri and url elements and narrative links naming an entry, but not strings', () => {
  const document = {
    resourceType: 'DocumentReference',
    status: 'current',
    subject: { reference: PATIENT },
    identifier: [{ system: 'urn:ietf:rfc:3986', value: PATIENT }],
    content: [{ attachment: { url: PATIENT, contentType: 'text/plain' } }],
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml">About <a href="${PATIENT}">the patient</a> and <a href="https://example.org/">elsewhere</a></div>`,
    },
  };
  const plan = planBundle(
    bundleOf('transaction', [
      post(PATIENT, { resourceType: 'Patient' }),
      post(ENCOUNTER, document),
    ]),
    counterIds(),
  );
  const patientId = plan.steps.find((step) => step.type === 'Patient')!.id!;
  const rewritten = plan.steps.find((step) => step.type === 'DocumentReference')!
    .resource as typeof document;
  assert.equal(rewritten.subject.reference, `Patient/${patientId}`);
  assert.equal(rewritten.content[0]!.attachment.url, `Patient/${patientId}`, 'a url element');
  assert.equal(rewritten.identifier[0]!.value, PATIENT, 'Identifier.value is a string, not a uri');
  assert.match(rewritten.text.div, new RegExp(`href="Patient/${patientId}"`));
  assert.match(rewritten.text.div, /href="https:\/\/example.org\/"/);
});
