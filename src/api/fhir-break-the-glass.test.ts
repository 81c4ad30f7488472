import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BTG_TABLE, patientConsent, type BreakTheGlassRow } from '../contracts/index.js';
import { generateSigningKey, toHex } from '../crypto/index.js';
import { blockPage } from '../node/index.js';
import { send, serveCharts, type Answer } from './testonly/served-node-fixture.js';

type Json = Record<string, unknown>;
type Part = { name: string } & Json;

const parameters = (...parts: Part[]) => ({ resourceType: 'Parameters', parameter: parts });
const emergency = (
  overrides: Partial<Record<'purpose' | 'reason' | 'minutes', Part | null>> = {},
) => {
  const parts = {
    purpose: { name: 'purpose', valueCode: 'ETREAT' },
    reason: { name: 'reason', valueString: 'unconscious on arrival' },
    minutes: { name: 'minutes', valueInteger: 30 },
    ...overrides,
  };
  return parameters(...Object.values(parts).filter((part): part is Part => part !== null));
};

/** The parameters of a Parameters answer by name, as [value[x] key, value]. */
function partsOf(answer: Answer): Record<string, [string, unknown]> {
  assert.equal(answer.body['resourceType'], 'Parameters', JSON.stringify(answer.body));
  const parts = answer.body['parameter'] as Part[];
  return Object.fromEntries(parts.map(({ name, ...value }) => [name, Object.entries(value)[0]!]));
}

/** Checks an OperationOutcome with `status`; returns its first issue. */
function outcome(
  answer: Answer,
  status: number,
): { code: string; diagnostics: string; expression?: string[] } {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(String(answer.headers['content-type']), /^application\/fhir\+json/);
  assert.equal(answer.body['resourceType'], 'OperationOutcome');
  return (
    answer.body['issue'] as { code: string; diagnostics: string; expression?: string[] }[]
  )[0]!;
}

test('$break-the-glass-choice: the patient reads and sets their own opt-in; nobody else does', async (t) => {
  const { app, node, headers, patientId, as } = await serveCharts(t);
  const url = '/fhir/Patient/patient-0001/$break-the-glass-choice';
  assert.deepEqual(partsOf(await send(app, 'GET', url, as.patient)), {
    optIn: ['valueBoolean', false],
  });

  const set = await send(
    app,
    'POST',
    url,
    as.patient,
    parameters({ name: 'optIn', valueBoolean: true }),
  );
  assert.deepEqual([set.status, partsOf(set)], [200, { optIn: ['valueBoolean', true] }]);
  assert.equal(
    patientConsent(node.store.state, patientId).breakTheGlass,
    'opt-in',
    'the choice is on the ledger',
  );
  assert.deepEqual(partsOf(await send(app, 'GET', url, as.patient)), {
    optIn: ['valueBoolean', true],
  });
  assert.deepEqual(
    partsOf(
      await send(app, 'POST', url, as.patient, parameters({ name: 'optIn', valueBoolean: false })),
    ),
    { optIn: ['valueBoolean', false] },
  );
  assert.equal(patientConsent(node.store.state, patientId).breakTheGlass, 'opt-out');

  const optIn = parameters({ name: 'optIn', valueBoolean: true });
  for (const who of ['doctor', 'auditor', 'system', 'other'] as const) {
    assert.equal(outcome(await send(app, 'GET', url, as[who]), 403).code, 'forbidden', who);
    assert.equal(outcome(await send(app, 'POST', url, as[who], optIn), 403).code, 'forbidden', who);
  }
  outcome(await send(app, 'GET', url, as.none), 401);
  outcome(await send(app, 'POST', url, as.none, optIn), 401);
  outcome(
    await send(app, 'GET', '/fhir/Patient/no-such-patient/$break-the-glass-choice', as.patient),
    403,
  );
  outcome(
    await send(
      app,
      'POST',
      url,
      await headers('patient', patientId, { scope: 'patient/*.rs' }),
      optIn,
    ),
    403,
  ); // no Consent write scope
  assert.equal(
    patientConsent(node.store.state, patientId).breakTheGlass,
    'opt-out',
    'no refused request changed it',
  );

  const malformed: [unknown, RegExp][] = [
    [parameters(), /optIn/],
    [parameters({ name: 'optIn', valueString: 'true' }), /optIn/],
    [
      parameters({ name: 'optIn', valueBoolean: true }, { name: 'optIn', valueBoolean: false }),
      /optIn/,
    ],
    [{ resourceType: 'Patient' }, /Parameters/],
  ];
  for (const [body, names] of malformed)
    assert.match(
      JSON.stringify(outcome(await send(app, 'POST', url, as.patient, body), 400)),
      names,
    );
});

test('$break-the-glass-choice: a patient who holds their own keys reads their choice but sets it by a signed transaction', async (t) => {
  const { app, node, headers } = await serveCharts(t);
  const patientId = 'cd'.repeat(16);
  const body = {
    patientId,
    signingKey: toHex(generateSigningKey().publicKey),
    encryptionKey: '11'.repeat(32),
    custody: 'self',
  };
  assert.equal(
    (await node.submitAndWait(node.signAsOrg('membership.register-patient', body))).status,
    'ok',
  );
  node.pseudonyms.learn('Patient', 'self-held', patientId);
  const asSelf = await headers('patient', patientId);
  const url = '/fhir/Patient/self-held/$break-the-glass-choice';
  assert.deepEqual(partsOf(await send(app, 'GET', url, asSelf)), {
    optIn: ['valueBoolean', false],
  });
  assert.match(
    outcome(
      await send(app, 'POST', url, asSelf, parameters({ name: 'optIn', valueBoolean: true })),
      403,
    ).diagnostics,
    /POST \/ledger\/tx/,
  );
});

test('$break-the-glass: granted only for an opted-in patient, refused in plain words otherwise, for practitioners only', async (t) => {
  const { app, node, patientId, as } = await serveCharts(t);
  const url = '/fhir/Patient/patient-0001/$break-the-glass';
  const refused = outcome(await send(app, 'POST', url, as.doctor, emergency()), 403);
  assert.equal(refused.code, 'forbidden');
  assert.match(refused.diagnostics, /the patient has not opted in to break-the-glass/);
  const denied = node.store
    .stateKeys(BTG_TABLE)
    .map((id) => node.store.state.get(BTG_TABLE, id) as unknown as BreakTheGlassRow);
  assert.deepEqual(
    denied.map((row) => [row.patientId, row.outcome, row.denial]),
    [[patientId, 'deny', 'denied:patient-opted-out']],
    'the refusal is on the ledger',
  );

  assert.equal(
    (
      await send(
        app,
        'POST',
        '/fhir/Patient/patient-0001/$break-the-glass-choice',
        as.patient,
        parameters({ name: 'optIn', valueBoolean: true }),
      )
    ).status,
    200,
  );
  const granted = await send(app, 'POST', url, as.doctor, emergency());
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  const parts = partsOf(granted);
  assert.deepEqual(Object.keys(parts), ['btgId', 'outcome', 'start', 'end']);
  assert.deepEqual(parts['outcome'], ['valueCode', 'permit']);
  const [kind, btgId] = parts['btgId']!;
  assert.equal(kind, 'valueString');
  const row = node.store.state.get(BTG_TABLE, String(btgId)) as unknown as BreakTheGlassRow;
  assert.deepEqual(
    [row.outcome, row.practitionerId, row.patientId, row.purpose],
    ['permit', 'dr-ada', patientId, 'ETREAT'],
  );
  assert.deepEqual(parts['start'], ['valueInstant', new Date(row.start).toISOString()]);
  assert.deepEqual(parts['end'], ['valueInstant', new Date(row.start + 30 * 60_000).toISOString()]);
  assert.ok(
    !Buffer.from(blockPage(node.store, 0, 10_000))
      .toString('utf8')
      .includes('unconscious'),
    'the reason never goes on the chain',
  );

  const btg = { name: 'purpose', valueCode: 'BTG' };
  assert.equal(
    (await send(app, 'POST', url, as.doctor, emergency({ purpose: btg, minutes: null }))).status,
    200,
    'BTG, and the default window',
  );

  const malformed: [unknown, RegExp][] = [
    [emergency({ purpose: null }), /purpose/],
    [emergency({ purpose: { name: 'purpose', valueCode: 'TREAT' } }), /purpose/],
    [emergency({ purpose: { name: 'purpose', valueString: 'ETREAT' } }), /purpose/],
    [emergency({ reason: null }), /reason/],
    [emergency({ reason: { name: 'reason', valueString: '' } }), /reason/],
    [emergency({ reason: { name: 'reason', valueString: 'two\nlines' } }), /reason/],
    [emergency({ reason: { name: 'reason', valueString: 'x'.repeat(1001) } }), /reason/],
    [emergency({ minutes: { name: 'minutes', valueInteger: 0 } }), /minutes/],
    [emergency({ minutes: { name: 'minutes', valueInteger: 481 } }), /minutes/],
    [emergency({ minutes: { name: 'minutes', valueString: '30' } }), /minutes/],
    [{ resourceType: 'Parameters', parameter: {} }, /parameter/],
    [{ resourceType: 'Bundle' }, /Parameters/],
  ];
  for (const [body, names] of malformed)
    assert.match(
      JSON.stringify(outcome(await send(app, 'POST', url, as.doctor, body), 400)),
      names,
      JSON.stringify(body),
    );

  assert.match(
    outcome(
      await send(
        app,
        'POST',
        '/fhir/Patient/no-such-patient/$break-the-glass',
        as.doctor,
        emergency(),
      ),
      404,
    ).diagnostics,
    /Patient\/no-such-patient is not known/,
  );
  for (const who of ['patient', 'auditor', 'system'] as const)
    assert.equal(
      outcome(await send(app, 'POST', url, as[who], emergency()), 403).code,
      'forbidden',
      who,
    );
  outcome(await send(app, 'POST', url, as.none, emergency()), 401);
  assert.equal(
    node.store.stateKeys(BTG_TABLE).length,
    3,
    'nothing refused at the edge reached the ledger',
  );
});

test('the CapabilityStatement lists the break-the-glass operations on Patient beside $export and $everything', async (t) => {
  const { app } = await serveCharts(t);
  const metadata = await send<{
    rest: { resource: { type: string; operation?: { name: string }[] }[] }[];
  }>(app, 'GET', '/fhir/metadata', {});
  const patient = metadata.body.rest[0]!.resource.find((resource) => resource.type === 'Patient');
  assert.deepEqual(
    patient?.operation?.map((operation) => operation.name),
    ['export', 'everything', 'break-the-glass', 'break-the-glass-choice'],
  );
});
