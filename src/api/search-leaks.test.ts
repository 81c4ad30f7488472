/**
 * The read paths as an attacker sees them: a practitioner (or a patient) who may read one
 * patient, alice, probes for another, bob, and for alice's records she withholds (PSY).
 * Every probe must answer the same whether those unreadable records exist or not. The network
 * is opt-out, as a new one is: the practice reads its patients without a grant, so what it may
 * not read is what the patients' restrictions withhold.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, type AuditEntry } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { ChartChainNode } from '../node/index.js';
import { call, pseudonymOf, serveFhir, type Answer } from './testonly/fhir-fixture.js';

const LOINC = 'http://loinc.org';
const HEART_RATE = `code=${LOINC}|8867-4`;
const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

const patient = (id: string): JsonObject => ({
  resourceType: 'Patient',
  id,
  name: [{ family: 'Smith' }],
  identifier: [{ system: 'http://example.org/mrn', value: id }],
});
const heartRate = (
  id: string,
  patientId: string,
  date: string,
  extra: JsonObject = {},
): JsonObject => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC, code: '8867-4' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: date,
  valueQuantity: { value: 70, unit: '/min' },
  identifier: [{ system: 'http://example.org/obs', value: id }],
  ...extra,
});

interface World {
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
}

/**
 * Alice, who withholds PSY-labelled records from the practice, her home organisation, with two
 * heart rates. With `hidden`, also what the practice may not read: alice's PSY heart rate, and
 * bob (who withholds everything) with two heart rates, dated between alice's so that paging
 * would show them.
 */
async function world(t: TestContext, hidden: boolean): Promise<World> {
  const { node, app } = await serveFhir(t);
  const put = async (resource: JsonObject) => {
    const answer = await call(
      app,
      'PUT',
      `/fhir/${String(resource['resourceType'])}/${String(resource['id'])}`,
      { body: resource },
    );
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  };
  await put(patient('alice'));
  assert.equal(
    await node.consent.restrict(pseudonymOf(node, 'patient', 'alice'), 'restrict-alice-psy', {
      resourceTypes: [],
      labels: ['PSY'],
      practitionerIds: [],
    }),
    'ok',
  );
  await put(heartRate('obs-a1', 'alice', '2026-01-01'));
  await put(heartRate('obs-a2', 'alice', '2026-03-01'));
  if (hidden) {
    await put(heartRate('obs-a3', 'alice', '2026-02-15', { meta: { security: [PSY] } }));
    await put(patient('bob'));
    assert.equal(
      await node.consent.restrict(pseudonymOf(node, 'patient', 'bob'), 'restrict-bob', {
        resourceTypes: [],
        labels: [],
        practitionerIds: [],
      }),
      'ok',
    );
    await put(heartRate('obs-b1', 'bob', '2026-02-01'));
    await put(heartRate('obs-b2', 'bob', '2026-04-01'));
  }
  return { node, app };
}

/** What a caller can tell from an answer: status, entries (mode, type, id), links, total, and any error text. */
function shape(answer: Answer): JsonObject {
  const entries = ((answer.body['entry'] as JsonObject[] | undefined) ?? []).map((entry) => {
    const resource = entry['resource'] as JsonObject;
    return [
      String((entry['search'] as JsonObject | undefined)?.['mode']),
      String(resource['resourceType']),
      String(resource['id']),
    ];
  });
  const links = ((answer.body['link'] as JsonObject[] | undefined) ?? []).map(
    (link) => `${String(link['relation'])} ${String(link['url']).replace(/^https?:\/\/[^/]+/, '')}`,
  );
  return {
    status: answer.status,
    entries,
    links,
    total: answer.body['total'] ?? null,
    issue: answer.body['issue'] ?? null,
  };
}

async function sameAnswers(
  worlds: readonly [World, World],
  requests: readonly (readonly [string, string?])[],
): Promise<JsonObject[]> {
  const answers: JsonObject[] = [];
  for (const [url, token] of requests) {
    const [withHidden, without] = await Promise.all(
      worlds.map(async ({ app }) =>
        shape(await call(app, 'GET', url, token === undefined ? {} : { token })),
      ),
    );
    assert.deepEqual(
      withHidden,
      without,
      `${url} as ${token ?? 'dr-ada'} answers the same whether unreadable records exist`,
    );
    answers.push(withHidden!);
  }
  return answers;
}

/** The length of the trail of the patient whose FHIR id is `fhirPatientId`. */
function trailLength(node: ChartChainNode, fhirPatientId: string): number {
  return auditCount(node.store.state, pseudonymOf(node, 'patient', fhirPatientId));
}

/** The FHIR id of ledger record `recordId`, as the trail's entries name records by their ledger ids. */
function fhirIdOf(node: ChartChainNode, recordId: string): string | undefined {
  return node.pseudonyms.fhirIdOf(recordId)?.id;
}

/** Waits until the trail of FHIR patient `fhirPatientId` has at least `atLeast` entries more than `count`, then returns the new ones. */
async function newEntries(
  node: ChartChainNode,
  fhirPatientId: string,
  count: number,
  atLeast = 1,
): Promise<AuditEntry[]> {
  const patientId = pseudonymOf(node, 'patient', fhirPatientId);
  for (
    const deadline = Date.now() + 10_000;
    auditCount(node.store.state, patientId) < count + atLeast;
    await new Promise((resolve) => setTimeout(resolve, 10))
  ) {
    assert.ok(Date.now() < deadline, `an entry reaches ${patientId}'s trail`);
  }
  const total = auditCount(node.store.state, patientId);
  return Array.from(
    { length: total - count },
    (_, i) =>
      node.store.state.get(
        AUDIT_ENTRY_TABLE,
        auditKey(patientId, count + i + 1),
      ) as unknown as AuditEntry,
  );
}

test('search, paging, _count=0, _offset, next links, _include, _revinclude and $everything answer the same whether unreadable records exist', async (t) => {
  const worlds = [await world(t, true), await world(t, false)] as const;
  const answers = await sameAnswers(worlds, [
    [`/fhir/Observation?${HEART_RATE}&_count=0`],
    [`/fhir/Observation?${HEART_RATE}&_count=1&_sort=date`],
    [`/fhir/Observation?${HEART_RATE}&_count=1&_offset=1&_sort=date`],
    [`/fhir/Observation?${HEART_RATE}&_count=1&_offset=2&_sort=date`],
    [`/fhir/Observation?${HEART_RATE}&_count=0&_offset=2`],
    [`/fhir/Observation?${HEART_RATE}&_sort=-date&_include=Observation:subject`],
    ['/fhir/Patient?family=smith'],
    ['/fhir/Patient?family=smith&_count=0'],
    ['/fhir/Patient?family=smith&_revinclude=Observation:subject'],
    ['/fhir/Patient?identifier=http://example.org/mrn|bob&_count=0'],
    ['/fhir/Observation?patient=bob&_count=0'],
    ['/fhir/Observation?subject=Patient/bob'],
    ['/fhir/Patient/bob/$everything?_count=0'],
    ['/fhir/Patient/bob/$everything'],
    ['/fhir/Patient/alice/$everything?_count=2'],
    // Alice reads her own PSY record, so her probes stay before its date; bob's first heart rate is within.
    [`/fhir/Observation?${HEART_RATE}&date=lt2026-02-10&_count=0`, 'patient:alice'],
    [`/fhir/Observation?${HEART_RATE}&date=lt2026-02-10&_count=1&_sort=date`, 'patient:alice'],
    [
      `/fhir/Observation?${HEART_RATE}&date=lt2026-02-10&_count=1&_offset=1&_sort=date`,
      'patient:alice',
    ],
    ['/fhir/Patient?family=smith', 'patient:alice'],
  ]);
  assert.deepEqual(
    [answers[0]!['entries'], answers[0]!['links'], answers[7]!['links'], answers[15]!['links']],
    [[], [], [], []],
    '_count=0 asks for no entries and has no next page: a link to itself would loop a client',
  );
  // The answers are not trivially empty: they page over what the caller may read.
  assert.deepEqual(answers[1], {
    status: 200,
    entries: [['match', 'Observation', 'obs-a1']],
    links: [
      `next /fhir/Observation?${HEART_RATE.replace('|', '%7C')}&_count=1&_sort=date&_offset=1`.replace(
        'code=http://loinc.org',
        'code=http%3A%2F%2Floinc.org',
      ),
    ],
    total: null,
    issue: null,
  });
  assert.deepEqual(answers[2]!['entries'], [['match', 'Observation', 'obs-a2']]);
  assert.deepEqual(
    [answers[2]!['links'], answers[3]!['entries'], answers[4]!['links']],
    [[], [], []],
  );
  assert.deepEqual(answers[5]!['entries'], [
    ['match', 'Observation', 'obs-a2'],
    ['match', 'Observation', 'obs-a1'],
    ['include', 'Patient', 'alice'],
  ]);
  assert.deepEqual(answers[8]!['entries'], [
    ['match', 'Patient', 'alice'],
    ['include', 'Observation', 'obs-a1'],
    ['include', 'Observation', 'obs-a2'],
  ]);
  assert.equal((answers[14]!['entries'] as unknown[]).length, 2);
});

test("one search is one entry in the trail of each patient it released records of; a stranger's trail is untouched; a search scoped to a patient the caller may not read logs one denial", async (t) => {
  const { node, app } = await world(t, true);
  const before = { alice: trailLength(node, 'alice'), bob: trailLength(node, 'bob') };
  for (let i = 0; i < 3; i++)
    assert.equal(
      (await call(app, 'GET', `/fhir/Observation?${HEART_RATE}&_sort=date`)).status,
      200,
    );
  const alice = await newEntries(node, 'alice', before.alice, 3);
  assert.equal(alice.length, 3, 'three searches, three entries');
  assert.deepEqual(
    alice.map((entry) => [
      entry.kind,
      entry.outcome,
      entry.released,
      entry.records?.map((record) => [fhirIdOf(node, record.recordId), record.outcome]),
    ]),
    Array(3).fill([
      'search',
      'permit',
      true,
      [
        ['obs-a1', 'permit'],
        ['obs-a2', 'permit'],
      ],
    ]),
  );
  assert.equal(
    trailLength(node, 'bob'),
    before.bob,
    "records filtered out of a broad search are not released and touch nobody's trail",
  );

  assert.equal((await call(app, 'GET', '/fhir/Observation?patient=bob')).status, 200);
  const [denial, ...rest] = await newEntries(node, 'bob', before.bob);
  assert.deepEqual(
    [denial?.kind, denial?.outcome, denial?.reason, denial?.released, rest.length],
    ['search', 'deny', 'denied:restricted-by-patient', false, 0],
  );
  assert.deepEqual(denial?.records?.map((record) => fhirIdOf(node, record.recordId)).sort(), [
    'obs-b1',
    'obs-b2',
  ]);
  assert.equal((await call(app, 'GET', '/fhir/Patient/bob/$everything')).status, 200);
  const [everything, ...more] = await newEntries(node, 'bob', before.bob + 1);
  assert.deepEqual(
    [everything?.kind, everything?.outcome, everything?.records?.length, more.length],
    ['search', 'deny', 3, 0],
  );

  // The AuditEvent view renders a search: one event, an entity per record.
  const events = await call(app, 'GET', '/fhir/AuditEvent?patient=alice&_count=1000', {
    token: 'auditor:auditor-1',
  });
  const last = (events.body['entry'] as JsonObject[])
    .map((entry) => entry['resource'] as JsonObject)
    .at(-1)!;
  assert.deepEqual(
    [last['action'], (last['subtype'] as JsonObject[])[0]!['code'], last['outcome']],
    ['E', 'search-type', '0'],
  );
  const what = (last['entity'] as JsonObject[])
    .map((entity) => (entity['what'] as JsonObject)['reference'])
    .filter((reference) => reference !== undefined);
  assert.deepEqual(what, [
    'Patient/alice',
    'Observation/obs-a1/_history/1',
    'Observation/obs-a2/_history/1',
  ]);
});

test("the token's scopes bound what _include, _revinclude and $everything return, as they bound direct reads", async (t) => {
  const { app } = await world(t, false);
  const ids = async (url: string, token: string) =>
    shape(await call(app, 'GET', url, { token }))['entries'];
  assert.deepEqual(
    await ids(
      '/fhir/Observation?patient=alice&_sort=date&_include=Observation:subject',
      'practitioner:dr-ada:Observation',
    ),
    [
      ['match', 'Observation', 'obs-a1'],
      ['match', 'Observation', 'obs-a2'],
    ],
  );
  assert.deepEqual(
    await ids(
      '/fhir/Patient?family=smith&_revinclude=Observation:subject',
      'practitioner:dr-ada:Patient',
    ),
    [['match', 'Patient', 'alice']],
  );
  assert.deepEqual(await ids('/fhir/Patient/alice/$everything', 'practitioner:dr-ada:Patient'), [
    ['match', 'Patient', 'alice'],
  ]);
  assert.equal(
    (await call(app, 'GET', '/fhir/Observation/obs-a1', { token: 'practitioner:dr-ada:Patient' }))
      .status,
    403,
    'a direct read needs the scope too',
  );
  assert.deepEqual(
    await ids('/fhir/Patient/alice/$everything', 'practitioner:dr-ada:Patient,Observation'),
    [
      ['match', 'Patient', 'alice'],
      ['match', 'Observation', 'obs-a1'],
      ['match', 'Observation', 'obs-a2'],
    ],
  );
});

test('conditional references and ifNoneExist in Bundles resolve over what the caller may read only', async (t) => {
  const worlds = [await world(t, true), await world(t, false)] as const;
  const transaction = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        request: { method: 'POST', url: 'Observation' },
        resource: {
          ...heartRate('x', 'alice', '2026-05-01'),
          id: undefined,
          identifier: undefined,
          subject: { reference: 'Patient?family=smith' },
        },
      },
    ],
  };
  const batch = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      {
        request: {
          method: 'POST',
          url: 'Observation',
          ifNoneExist: `${HEART_RATE}&date=2026-02-01`,
        },
        resource: { ...heartRate('y', 'alice', '2026-05-02'), id: undefined },
      },
      {
        request: { method: 'POST', url: 'Observation', ifNoneExist: `patient=bob&${HEART_RATE}` },
        resource: { ...heartRate('z', 'alice', '2026-05-03'), id: undefined },
      },
    ],
  };
  for (const bundle of [transaction, batch]) {
    const [withHidden, without] = await Promise.all(
      worlds.map(async ({ app }) =>
        call(app, 'POST', '/fhir', { body: JSON.parse(JSON.stringify(bundle)) as unknown }),
      ),
    );
    const statuses = (answer: Answer) => [
      answer.status,
      ((answer.body['entry'] as JsonObject[] | undefined) ?? []).map(
        (entry) => (entry['response'] as JsonObject)['status'],
      ),
    ];
    assert.deepEqual(
      statuses(withHidden!),
      statuses(without!),
      `a ${bundle.type} answers the same whether unreadable records exist`,
    );
    assert.deepEqual(
      statuses(withHidden!),
      [200, bundle.entry.map(() => '201 Created')],
      JSON.stringify(withHidden!.body),
    );
  }
  const created = shape(
    await call(
      worlds[0].app,
      'GET',
      `/fhir/Observation?patient=alice&date=ge2026-05-01&_sort=date`,
    ),
  );
  assert.equal(
    (created['entries'] as unknown[]).length,
    3,
    'the conditional reference resolved to alice, the only Smith the practice may read',
  );
});

test('a caller who may not read a record gets the same 404 whether it exists, was deleted or never existed; a reader gets 410', async (t) => {
  const worlds = [await world(t, true), await world(t, false)] as const;
  const [hidden] = worlds;
  const bobBefore = trailLength(hidden.node, 'bob');
  await sameAnswers(worlds, [
    ['/fhir/Observation/obs-b1'],
    ['/fhir/Observation/obs-b1/_history/1'],
    ['/fhir/Observation/obs-b1/_history/7'],
    ['/fhir/Observation/obs-b1/_history'],
    ['/fhir/Observation/obs-b1/_history/1/$verify'],
    ['/fhir/Observation/obs-a3'],
    ['/fhir/Patient/bob'],
    ['/fhir/Observation/obs-a1', 'patient:bob'],
    [`/fhir/Provenance/${hidden.node.pseudonyms.recordIdOf('Observation', 'obs-b1')!}.v1`],
    ['/fhir/Provenance?target=Observation/obs-b1'],
    ['/fhir/Provenance?target=Observation/obs-a3'],
  ]);
  const denials = await newEntries(hidden.node, 'bob', bobBefore);
  assert.ok(
    denials.length >= 1 &&
      denials.every((entry) => entry.kind === 'access' && entry.outcome === 'deny'),
    'a read of a specific existing record still logs the denial',
  );

  for (const { app } of worlds)
    assert.equal((await call(app, 'DELETE', '/fhir/Observation/obs-a1')).status, 204);
  assert.equal((await call(hidden.app, 'DELETE', '/fhir/Observation/obs-b1')).status, 204);
  const deleted = await sameAnswers(worlds, [
    ['/fhir/Observation/obs-b1'],
    ['/fhir/Observation/obs-a1'],
    ['/fhir/Observation/obs-a1', 'patient:bob'],
  ]);
  assert.deepEqual(
    [deleted[0]!['status'], deleted[1]!['status'], deleted[2]!['status']],
    [404, 410, 404],
  );
  assert.deepEqual(
    (deleted[0]!['issue'] as JsonObject[])[0]!['diagnostics'],
    'Observation/obs-b1 is not known',
  );
});

test('a record that cannot be served is skipped and reported in its own outcome entry; the rest of the search is served and an alarm raised', async (t) => {
  const { node, app } = await world(t, false);
  const recordId = node.pseudonyms.recordIdOf('Observation', 'obs-a2')!;
  const hash = node.records.version(recordId, 1)!.ciphertextHash!;
  const place = node.records.blobs.place(hash)!;
  assert.equal(place.path.startsWith(join(node.dataDir, 'blobs')), true);
  const segment = readFileSync(place.path);
  segment.fill(0x41, place.offset, place.offset + place.length); // not the ciphertext
  writeFileSync(place.path, segment);
  const answer = await call(app, 'GET', '/fhir/Observation?patient=alice&_sort=date');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const entries = answer.body['entry'] as JsonObject[];
  assert.deepEqual(shape(answer)['entries'], [
    ['match', 'Observation', 'obs-a1'],
    ['outcome', 'OperationOutcome', 'undefined'],
  ]);
  const issue = ((entries[1]!['resource'] as JsonObject)['issue'] as JsonObject[])[0]!;
  assert.deepEqual([issue['severity'], issue['code']], ['warning', 'exception']);
  assert.match(String(issue['diagnostics']), /Observation\/obs-a2 .*blob-hash/);
  assert.ok(!String(issue['diagnostics']).includes('70'), 'no health data in the outcome');
  assert.ok(
    node.records.alarms.some(
      (alarm) => alarm.kind === 'integrity' && alarm.reason.includes(recordId),
    ),
    'the alarm names the record by its ledger id',
  );
  const everything = await call(app, 'GET', '/fhir/Patient/alice/$everything');
  assert.deepEqual(
    (shape(everything)['entries'] as string[][]).map(([mode]) => mode),
    ['match', 'match', 'outcome'],
  );
});

test('FHIR requests are rate-limited per user: past the budget a 429 OperationOutcome with Retry-After, other users unaffected', async (t) => {
  const { app } = await serveFhir(t, { rateLimit: { capacity: 3, perSecond: 0.01 } });
  for (let i = 0; i < 3; i++)
    assert.equal((await call(app, 'GET', '/fhir/Patient/nobody')).status, 404);
  const throttled = await call(app, 'GET', '/fhir/Patient/nobody');
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers['retry-after'], '100');
  assert.deepEqual(
    (throttled.body['issue'] as JsonObject[]).map((issue) => [issue['severity'], issue['code']]),
    [['error', 'throttled']],
  );
  assert.equal(
    (await call(app, 'GET', '/fhir/Patient/nobody', { token: 'practitioner:dr-grey' })).status,
    404,
    'another user has their own budget',
  );
  assert.equal(
    (await call(app, 'GET', '/fhir/Patient/nobody', { token: 'bogus' })).status,
    401,
    'an unauthenticated request is refused before any budget',
  );
});
