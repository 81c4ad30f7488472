import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  consentToGrantTerms,
  grantToConsent,
  type ConsentIssue,
  type GrantTermsResult,
} from './index.js';
import { INSTANT_MAX_MS, parseDateTime } from './date-time.js';
import { type GrantRow, type GrantTerms } from '../contracts/index.js';
import { GRANT_LIST_COUNT_MAX } from '../ledger/index.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/hl7-examples', import.meta.url));
const MAY_1_2024 = Date.UTC(2024, 4, 1, 8);

const GRANT: GrantRow = {
  grantId: 'g-0001',
  patientId: 'patient-0001',
  status: 'active',
  version: 1,
  grantedAt: MAY_1_2024,
  updatedAt: MAY_1_2024,
  revokedAt: null,
  grantee: { kind: 'practitioner', id: 'dr-ada' },
  actions: ['read', 'write'],
  resourceTypes: ['Observation', 'Condition'],
  recordIds: ['3f9a0c', 'rec.2'],
  excludeLabels: ['42CFRPart2', 'R'],
  purposes: ['TREAT', 'HPAYMT'],
  period: { start: MAY_1_2024, end: Date.UTC(2025, 4, 1) },
};

/** The terms of `grant`, as plain JSON (fast-check builds records without Object.prototype). */
function termsOf(grant: GrantRow): GrantTerms {
  const { grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period } = grant;
  return JSON.parse(
    JSON.stringify({ grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period }),
  );
}

/** A JSON copy of the Consent for GRANT, edited by `edit`: the way a client would send it. */
function consentWith(edit: (consent: any) => void = () => {}): unknown {
  const consent = JSON.parse(JSON.stringify(grantToConsent(GRANT)));
  edit(consent);
  return consent;
}

function issuesOf(result: GrantTermsResult): [ConsentIssue['code'], string][] {
  assert.equal(result.ok, false, 'expected the Consent to be refused');
  return result.ok ? [] : result.issues.map((issue) => [issue.code, issue.expression]);
}

const coding = (system: string, code: string) => ({ system, code });
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';

test('a grant becomes the documented Consent', () => {
  assert.deepEqual(grantToConsent(GRANT), {
    resourceType: 'Consent',
    id: 'g-0001',
    status: 'active',
    scope: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentscope',
          code: 'patient-privacy',
          display: 'Privacy Consent',
        },
      ],
    },
    category: [
      { coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] },
    ],
    patient: { reference: 'Patient/patient-0001' },
    dateTime: '2024-05-01T08:00:00.000Z',
    policyRule: { coding: [{ system: ACT_CODE, code: 'OPTIN', display: 'opt-in' }] },
    provision: {
      type: 'permit',
      period: { start: '2024-05-01T08:00:00.000Z', end: '2025-05-01T00:00:00.000Z' },
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
                display: 'information recipient',
              },
            ],
          },
          reference: { reference: 'Practitioner/dr-ada' },
        },
      ],
      action: [
        { coding: [{ system: ACTION, code: 'access', display: 'Access' }] },
        { coding: [{ system: ACTION, code: 'correct', display: 'Access and Correct' }] },
      ],
      purpose: [
        coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', 'TREAT'),
        coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', 'HPAYMT'),
      ],
      class: [
        coding('http://hl7.org/fhir/resource-types', 'Observation'),
        coding('http://hl7.org/fhir/resource-types', 'Condition'),
      ],
      data: [
        {
          meaning: 'instance',
          reference: { identifier: { system: 'urn:chartchain:record-id', value: '3f9a0c' } },
        },
        {
          meaning: 'instance',
          reference: { identifier: { system: 'urn:chartchain:record-id', value: 'rec.2' } },
        },
      ],
      provision: [
        {
          type: 'deny',
          securityLabel: [
            coding(ACT_CODE, '42CFRPart2'),
            coding('http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'R'),
          ],
        },
      ],
    },
  });
});

test('an open-ended grant for an organisation, with no restrictions, leaves the optional parts out', () => {
  const grant: GrantRow = {
    ...GRANT,
    grantee: { kind: 'organisation', id: 'practice-a' },
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    period: { start: MAY_1_2024, end: null },
  };
  const { provision } = grantToConsent(grant);
  assert.deepEqual(provision.period, { start: '2024-05-01T08:00:00.000Z' });
  assert.equal(provision.actor?.[0]?.reference.reference, 'Organization/practice-a');
  assert.deepEqual(Object.keys(provision), ['type', 'period', 'actor', 'action', 'purpose']);
  assert.deepEqual(consentToGrantTerms(grantToConsent(grant)), {
    ok: true,
    terms: termsOf(grant),
    patientId: 'patient-0001',
    grantId: 'g-0001',
  });
});

test('a revoked grant is an inactive Consent, which gives no terms', () => {
  const consent = grantToConsent({ ...GRANT, status: 'revoked', revokedAt: MAY_1_2024 + 1 });
  assert.equal(consent.status, 'inactive');
  assert.deepEqual(issuesOf(consentToGrantTerms(consent)), [['not-supported', 'Consent.status']]);
});

test('fullUrlBase makes references absolute, and they read back', () => {
  const consent = grantToConsent(GRANT, { fullUrlBase: 'https://node-a.example/fhir/' });
  assert.equal(consent.patient.reference, 'https://node-a.example/fhir/Patient/patient-0001');
  assert.equal(
    consent.provision.actor?.[0]?.reference.reference,
    'https://node-a.example/fhir/Practitioner/dr-ada',
  );
  assert.deepEqual(consentToGrantTerms(consent), {
    ok: true,
    terms: termsOf(GRANT),
    patientId: 'patient-0001',
    grantId: 'g-0001',
  });
  for (const fullUrlBase of [
    'node-a.example/fhir',
    'ftp://node-a.example',
    'https://node-a.example/fhir?x=1',
    '',
  ]) {
    assert.throws(
      () => grantToConsent(GRANT, { fullUrlBase }),
      (error: Error) => error instanceof TypeError && /options\.fullUrlBase/.test(error.message),
      fullUrlBase,
    );
  }
});

const ID = /^[a-z0-9][a-z0-9-]{1,63}$/;
const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const grantArbitrary: fc.Arbitrary<GrantRow> = fc.record({
  grantId: fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/),
  patientId: fc.stringMatching(ID),
  status: fc.constant('active' as const),
  version: fc.integer({ min: 1, max: 1000 }),
  grantedAt: fc.integer({ min: 0, max: INSTANT_MAX_MS }),
  updatedAt: fc.integer({ min: 0, max: INSTANT_MAX_MS }),
  revokedAt: fc.constant(null),
  grantee: fc.record({
    kind: fc.constantFrom('practitioner' as const, 'organisation' as const),
    id: fc.stringMatching(ID),
  }),
  actions: fc.shuffledSubarray(['read' as const, 'write' as const], { minLength: 1 }),
  resourceTypes: fc.uniqueArray(fc.stringMatching(/^[A-Z][A-Za-z]{1,63}$/), { maxLength: 4 }),
  recordIds: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/), {
    maxLength: 4,
  }),
  excludeLabels: fc.uniqueArray(
    fc.oneof(
      fc.constantFrom('42CFRPart2', 'PSY', 'HIV', 'ETH', 'SEX', 'N', 'R', 'V'),
      fc.stringMatching(CODE),
    ),
    { maxLength: 4 },
  ),
  purposes: fc.uniqueArray(
    fc.oneof(fc.constantFrom('TREAT', 'ETREAT', 'HPAYMT', 'HRESCH'), fc.stringMatching(CODE)),
    { minLength: 1, maxLength: 4 },
  ),
  period: fc.integer({ min: 0, max: INSTANT_MAX_MS - 1 }).chain((start) =>
    fc.record({
      start: fc.constant(start),
      end: fc.option(fc.integer({ min: start + 1, max: INSTANT_MAX_MS })),
    }),
  ),
});

test('property: every valid grant round-trips through Consent JSON to the same terms', () => {
  fc.assert(
    fc.property(
      grantArbitrary,
      fc.constantFrom(undefined, 'https://node-a.example/fhir'),
      (grant, fullUrlBase) => {
        const json = JSON.stringify(
          grantToConsent(grant, fullUrlBase === undefined ? {} : { fullUrlBase }),
        );
        assert.ok(!json.includes('[]'), 'FHIR JSON has no empty arrays');
        assert.deepEqual(consentToGrantTerms(JSON.parse(json)), {
          ok: true,
          terms: termsOf(grant),
          patientId: grant.patientId,
          grantId: grant.grantId,
        });
      },
    ),
    { numRuns: 300 },
  );
});

test('property: a revoked grant is refused for its status alone', () => {
  fc.assert(
    fc.property(grantArbitrary, (grant) => {
      assert.deepEqual(
        issuesOf(consentToGrantTerms(grantToConsent({ ...grant, status: 'revoked' }))),
        [['not-supported', 'Consent.status']],
      );
    }),
    { numRuns: 100 },
  );
});

test('grantToConsent throws for a grant the consent contract would refuse', () => {
  const cases: [string, Partial<GrantRow>, RegExp][] = [
    ['no purposes', { purposes: [] }, /Consent\.provision\.purpose/],
    ['no actions', { actions: [] }, /Consent\.provision\.action/],
    ['an unknown action', { actions: ['read', 'delete' as 'read'] }, /grant\.actions/],
    [
      'an unknown grantee kind',
      { grantee: { kind: 'team' as 'practitioner', id: 'team-a' } },
      /grant\.grantee\.kind/,
    ],
    [
      'a grantee id with capitals',
      { grantee: { kind: 'practitioner', id: 'Dr-Ada' } },
      /Consent\.provision\.actor\[0\]\.reference/,
    ],
    ['a repeated purpose', { purposes: ['TREAT', 'TREAT'] }, /Consent\.provision\.purpose\[1\]/],
    [
      'an empty period',
      { period: { start: MAY_1_2024, end: MAY_1_2024 } },
      /Consent\.provision\.period\.end/,
    ],
    ['a fractional time', { period: { start: 1.5, end: null } }, /grant\.period\.start/],
    ['a time before 1970', { grantedAt: -1 }, /grant\.grantedAt/],
    ['an unknown status', { status: 'paused' as 'active' }, /grant\.status/],
  ];
  for (const [name, change, message] of cases) {
    assert.throws(
      () => grantToConsent({ ...GRANT, ...change }),
      (error: Error) =>
        (error instanceof TypeError || error instanceof RangeError) && message.test(error.message),
      name,
    );
  }
});

test('each refusal names the element at fault, with the right code', () => {
  const R = 'required',
    N = 'not-supported',
    V = 'value',
    I = 'invalid';
  const cases: [string, (consent: any) => void, [string, string][]][] = [
    ['no status', (c) => delete c.status, [[R, 'Consent.status']]],
    ['a draft', (c) => (c.status = 'draft'), [[N, 'Consent.status']]],
    ['an unknown status', (c) => (c.status = 'paused'), [[V, 'Consent.status']]],
    ['an id that is not a FHIR id', (c) => (c.id = 'g 1'), [[V, 'Consent.id']]],
    ['a research scope', (c) => (c.scope.coding[0].code = 'research'), [[N, 'Consent.scope']]],
    ['no category', (c) => delete c.category, [[R, 'Consent.category']]],
    ['no patient', (c) => delete c.patient, [[R, 'Consent.patient']]],
    ['a Group as patient', (c) => (c.patient.reference = 'Group/ward-4'), [[V, 'Consent.patient']]],
    [
      'a dateTime without timezone',
      (c) => (c.dateTime = '2024-05-01T10:00:00'),
      [[V, 'Consent.dateTime']],
    ],
    [
      'a grantor other than the patient',
      (c) => (c.performer = [{ reference: 'RelatedPerson/rp-1' }]),
      [[N, 'Consent.performer[0]']],
    ],
    [
      'an opt-out policy rule',
      (c) => (c.policyRule.coding[0].code = 'OPTOUT'),
      [[N, 'Consent.policyRule']],
    ],
    ['no policy rule', (c) => delete c.policyRule, [[R, 'Consent.policyRule']]],
    [
      'a policy',
      (c) => (c.policy = [{ uri: 'https://example.org/policy' }]),
      [[N, 'Consent.policy']],
    ],
    [
      'implicit rules',
      (c) => (c.implicitRules = 'https://example.org/rules'),
      [[N, 'Consent.implicitRules']],
    ],
    [
      'a modifier extension',
      (c) => (c.modifierExtension = [{ url: 'https://example.org/x', valueBoolean: true }]),
      [[N, 'Consent.modifierExtension']],
    ],
    ['a misspelt element', (c) => (c.provisions = c.provision), [[I, 'Consent.provisions']]],
    [
      'an element named like an Object property',
      (c) => (c.constructor = 1),
      [[I, 'Consent.constructor']],
    ],
    ['no provision', (c) => delete c.provision, [[R, 'Consent.provision']]],
    ['a root deny', (c) => (c.provision.type = 'deny'), [[N, 'Consent.provision.type']]],
    ['an untyped root', (c) => delete c.provision.type, [[R, 'Consent.provision.type']]],
    ['no period', (c) => delete c.provision.period, [[R, 'Consent.provision.period']]],
    [
      'no period start',
      (c) => delete c.provision.period.start,
      [[R, 'Consent.provision.period.start']],
    ],
    [
      'February 30th',
      (c) => (c.provision.period.start = '2024-02-30'),
      [[V, 'Consent.provision.period.start']],
    ],
    [
      'a leap second',
      (c) => (c.provision.period.start = '2016-12-31T23:59:60Z'),
      [[V, 'Consent.provision.period.start']],
    ],
    [
      'a start before 1970',
      (c) => (c.provision.period.start = '1969-12-31'),
      [[V, 'Consent.provision.period.start']],
    ],
    [
      'an end before the start',
      (c) => (c.provision.period.end = '2024-04-30'),
      [[V, 'Consent.provision.period.end']],
    ],
    [
      'a second actor',
      (c) => c.provision.actor.push(c.provision.actor[0]),
      [[N, 'Consent.provision.actor[1]']],
    ],
    [
      'a custodian actor',
      (c) => (c.provision.actor[0].role.coding[0].code = 'CST'),
      [[N, 'Consent.provision.actor[0].role']],
    ],
    [
      'an actor without role',
      (c) => delete c.provision.actor[0].role,
      [[R, 'Consent.provision.actor[0].role']],
    ],
    [
      'a patient as grantee',
      (c) => (c.provision.actor[0].reference.reference = 'Patient/pat-2'),
      [[N, 'Consent.provision.actor[0].reference']],
    ],
    [
      'a grantee id ChartChain cannot hold',
      (c) => (c.provision.actor[0].reference.reference = 'Practitioner/Dr.Ada'),
      [[V, 'Consent.provision.actor[0].reference']],
    ],
    [
      'a grantee by identifier only',
      (c) => (c.provision.actor[0].reference = { identifier: { system: 'urn:npi', value: '1' } }),
      [[V, 'Consent.provision.actor[0].reference']],
    ],
    [
      'an actor modifier extension',
      (c) => (c.provision.actor[0].modifierExtension = []),
      [[N, 'Consent.provision.actor[0].modifierExtension']],
    ],
    ['no action', (c) => delete c.provision.action, [[R, 'Consent.provision.action']]],
    [
      'a disclose action',
      (c) => (c.provision.action[1].coding[0].code = 'disclose'),
      [[N, 'Consent.provision.action[1]']],
    ],
    [
      'a code consentaction lacks',
      (c) => (c.provision.action[0].coding[0].code = 'delete'),
      [[V, 'Consent.provision.action[0]']],
    ],
    [
      'an action in another system',
      (c) => (c.provision.action[0].coding[0].system = 'http://example.org/actions'),
      [[N, 'Consent.provision.action[0]']],
    ],
    [
      'a repeated action',
      (c) => (c.provision.action[1] = c.provision.action[0]),
      [[V, 'Consent.provision.action[1]']],
    ],
    ['no purpose', (c) => delete c.provision.purpose, [[R, 'Consent.provision.purpose']]],
    [
      'a purpose in SNOMED CT',
      (c) => (c.provision.purpose[1].system = 'http://snomed.info/sct'),
      [[N, 'Consent.provision.purpose[1]']],
    ],
    [
      'a MIME type class',
      (c) => (c.provision.class[0] = coding('urn:ietf:bcp:13', 'application/hl7-cda+xml')),
      [[N, 'Consent.provision.class[0]']],
    ],
    [
      'a class that is no resource type',
      (c) => (c.provision.class[1].code = 'observation'),
      [[V, 'Consent.provision.class[1]']],
    ],
    [
      'related data',
      (c) => (c.provision.data[0].meaning = 'related'),
      [[N, 'Consent.provision.data[0].meaning']],
    ],
    [
      'data by a foreign identifier',
      (c) => (c.provision.data[1].reference.identifier.system = 'urn:oid:1.2.3'),
      [[N, 'Consent.provision.data[1].reference']],
    ],
    [
      'data by literal and identifier at once',
      (c) => (c.provision.data[0].reference.reference = 'Observation/3f9a0c'),
      [[N, 'Consent.provision.data[0].reference']],
    ],
    [
      'a versioned data reference',
      (c) => (c.provision.data[0].reference = { reference: 'Observation/3f9a0c/_history/2' }),
      [[V, 'Consent.provision.data[0].reference']],
    ],
    [
      'a data period',
      (c) => (c.provision.dataPeriod = { start: '2020-01-01' }),
      [[N, 'Consent.provision.dataPeriod']],
    ],
    [
      'a clinical code',
      (c) => (c.provision.code = [{ coding: [coding('http://loinc.org', '34133-9')] }]),
      [[N, 'Consent.provision.code']],
    ],
    [
      'a root security label',
      (c) => (c.provision.securityLabel = [coding(ACT_CODE, 'PSY')]),
      [[N, 'Consent.provision.securityLabel']],
    ],
    [
      'a second nested provision',
      (c) => c.provision.provision.push(c.provision.provision[0]),
      [[N, 'Consent.provision.provision[1]']],
    ],
    [
      'a nested permit',
      (c) => (c.provision.provision[0].type = 'permit'),
      [[N, 'Consent.provision.provision[0].type']],
    ],
    [
      'a nested deny narrowed by purpose',
      (c) => (c.provision.provision[0].purpose = c.provision.purpose),
      [[N, 'Consent.provision.provision[0].purpose']],
    ],
    [
      'a nested deny without labels',
      (c) => delete c.provision.provision[0].securityLabel,
      [[R, 'Consent.provision.provision[0].securityLabel']],
    ],
    [
      'a confidentiality code filed under ActCode',
      (c) => (c.provision.provision[0].securityLabel[1].system = ACT_CODE),
      [[N, 'Consent.provision.provision[0].securityLabel[1]']],
    ],
    [
      'too many purposes',
      (c) =>
        (c.provision.purpose = Array.from({ length: GRANT_LIST_COUNT_MAX + 1 }, (_, i) =>
          coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', `P${i}`),
        )),
      [[V, 'Consent.provision.purpose']],
    ],
    [
      'a repeated label',
      (c) =>
        (c.provision.provision[0].securityLabel[1] = c.provision.provision[0].securityLabel[0]),
      [[V, 'Consent.provision.provision[0].securityLabel[1]']],
    ],
    [
      'three faults at once',
      (c) => {
        delete c.patient;
        c.provision.type = 'deny';
        c.provision.action[0].coding[0].code = 'use';
      },
      [
        [R, 'Consent.patient'],
        [N, 'Consent.provision.type'],
        [N, 'Consent.provision.action[0]'],
      ],
    ],
  ];
  for (const [name, edit, expected] of cases)
    assert.deepEqual(issuesOf(consentToGrantTerms(consentWith(edit))), expected, name);
  assert.deepEqual(issuesOf(consentToGrantTerms({ resourceType: 'Patient', id: 'p' })), [
    ['invalid', 'Consent'],
  ]);
  assert.deepEqual(issuesOf(consentToGrantTerms([])), [['invalid', 'Consent']]);
  assert.deepEqual(
    issuesOf(consentToGrantTerms(JSON.parse('{"resourceType":"Consent","__proto__":{}}'))).slice(
      0,
      1,
    ),
    [['invalid', 'Consent.__proto__']],
  );
});

test('what is read but not written: PRCP, the patient as performer, narrative', () => {
  const consent = consentWith((c) => {
    c.provision.data[0].reference = { reference: 'Observation/3f9a0c' };
    c.provision.data[1].reference = { reference: 'https://node-b.example/fhir/Condition/rec.2' };
    c.provision.actor[0].role.coding[0].code = 'PRCP';
    c.performer = [{ reference: 'Patient/patient-0001' }];
    c.text = {
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml">Consent</div>',
    };
    c.identifier = [
      { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:0c9f1b0e-3a51-4a8a-9a35-1a1a9f2a1f0b' },
    ];
    c._status = { extension: [{ url: 'https://example.org/note', valueString: 'n' }] };
    delete c.id;
  });
  // A literal reference keeps its type, for the FHIR layer to map its FHIR id to the record's ledger id.
  assert.deepEqual(consentToGrantTerms(consent), {
    ok: true,
    terms: { ...termsOf(GRANT), recordIds: ['Observation/3f9a0c', 'Condition/rec.2'] },
    patientId: 'patient-0001',
  });
});

test('dates: a FHIR date is a whole UTC day, a dateTime an instant in its timezone', () => {
  const cases: [string, 'start' | 'end', number | undefined][] = [
    ['2015-10-10', 'start', Date.UTC(2015, 9, 10)],
    ['2016-10-10', 'end', Date.UTC(2016, 9, 11)],
    ['2024-02-29', 'end', Date.UTC(2024, 2, 1)],
    ['2024-12-31', 'end', Date.UTC(2025, 0, 1)],
    ['2024-02', 'start', Date.UTC(2024, 1, 1)],
    ['2024-02', 'end', Date.UTC(2024, 2, 1)],
    ['2024', 'end', Date.UTC(2025, 0, 1)],
    ['2016-05-26T00:41:10-04:00', 'start', Date.UTC(2016, 4, 26, 4, 41, 10)],
    ['2016-05-26T00:41:10-04:00', 'end', Date.UTC(2016, 4, 26, 4, 41, 10)],
    ['2024-05-01T08:00:00.123456Z', 'start', Date.UTC(2024, 4, 1, 8, 0, 0, 123)],
    ['2024-05-01T08:00:00.5+14:00', 'start', Date.UTC(2024, 3, 30, 18, 0, 0, 500)],
    ['0050-01-01', 'start', Date.parse('0050-01-01T00:00:00Z')],
    ['2023-02-29', 'start', undefined],
    ['2024-13-01', 'start', undefined],
    ['2024-05-01T24:00:00Z', 'start', undefined],
    ['2016-12-31T23:59:60Z', 'start', undefined],
    ['2024-05-01T08:00:00', 'start', undefined],
    ['2024-05-01T08:00Z', 'start', undefined],
    ['2024-05-01T08:00:00+14:30', 'start', undefined],
    ['2024-5-1', 'start', undefined],
    ['0000-01-01', 'start', undefined],
    ['9999-12-31', 'end', undefined],
    [' 2024-05-01', 'start', undefined],
  ];
  for (const [text, boundary, expected] of cases)
    assert.equal(parseDateTime(text, boundary), expected, `${text} as ${boundary}`);
  const consent = consentWith(
    (c) => (c.provision.period = { start: '2015-10-10', end: '2016-10-10' }),
  );
  assert.deepEqual((consentToGrantTerms(consent) as { terms: GrantTerms }).terms.period, {
    start: Date.UTC(2015, 9, 10),
    end: Date.UTC(2016, 9, 11),
  });
});

test('diagnostics say why without quoting patient data', () => {
  const result = consentToGrantTerms(
    consentWith((c) => {
      c.patient.reference = 'Patient/Secret_Pat';
      c.performer = [{ reference: 'Patient/secret-other' }];
      c.dateTime = '1999-99-99';
      c.provision.period.start = '1888-01-01';
      c.provision.data[0].reference = { reference: 'Observation/secret record' };
    }),
  );
  assert.equal(result.ok, false);
  for (const issue of result.ok ? [] : result.issues) {
    assert.equal(issue.severity, 'error');
    assert.ok(issue.diagnostics.length > 10, issue.expression);
    assert.doesNotMatch(issue.diagnostics, /secret|Secret|1999|1888/i, issue.expression);
  }
});

/**
 * The HL7 R4 example Consents, and what becomes of each. None is a grant as written: most are
 * withhold (opt-out) directives, and none states a permit root with a period and a purpose.
 */
const HL7_EXAMPLES: Record<string, [string, string][]> = {
  // An overall deny with an ETREAT exception, under OPTOUT; the nested deny is by actor, not label.
  'Consent-consent-example-Emergency.json': [
    ['not-supported', 'Consent.policyRule'],
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['not-supported', 'Consent.provision.actor[0].role'],
    ['required', 'Consent.provision.action'],
    ['not-supported', 'Consent.provision.provision[0].actor'],
    ['required', 'Consent.provision.provision[0].securityLabel'],
  ],
  // Withhold sharing from the custodian organisation, under OPTOUT.
  'Consent-consent-example-Out.json': [
    ['not-supported', 'Consent.policyRule'],
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['not-supported', 'Consent.provision.actor[0].role'],
    ['required', 'Consent.provision.action'],
    ['required', 'Consent.provision.purpose'],
  ],
  // Read-only access for a representative: two actors, custodian plus recipient.
  'Consent-consent-example-grantor.json': [
    ['not-supported', 'Consent.policyRule'],
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['not-supported', 'Consent.provision.actor[0].role'],
    ['not-supported', 'Consent.provision.actor[1]'],
    ['required', 'Consent.provision.purpose'],
  ],
  // Withhold records authored by an organisation: the actor is a custodian, not a recipient.
  'Consent-consent-example-notAuthor.json': [
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['not-supported', 'Consent.provision.actor[0].role'],
    ['required', 'Consent.provision.action'],
    ['required', 'Consent.provision.purpose'],
  ],
  // Withhold everything from one nurse. Read with an untyped root as a permit, and given a
  // period and purpose, this would grant that nurse access and correction: why type is required.
  'Consent-consent-example-notThem.json': [
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['required', 'Consent.provision.purpose'],
  ],
  // Withhold one lab order and everything related to it from all providers.
  'Consent-consent-example-notThis.json': [
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['required', 'Consent.provision.actor'],
    ['required', 'Consent.provision.action'],
    ['required', 'Consent.provision.purpose'],
    ['not-supported', 'Consent.provision.data[0].meaning'],
  ],
  // Patients Know Best: a permit limited to label N, with ten untyped label provisions.
  'Consent-consent-example-pkb.json': [
    ['not-supported', 'Consent.policyRule'],
    ['not-supported', 'Consent.provision.securityLabel'],
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.period'],
    ['required', 'Consent.provision.purpose'],
    ['required', 'Consent.provision.provision[0].type'],
    ['not-supported', 'Consent.provision.provision[1]'],
  ],
  // Opt-in to one practitioner for a year, with a nested permit for CDA documents by author.
  'Consent-consent-example-signature.json': [
    ['required', 'Consent.provision.type'],
    ['required', 'Consent.provision.action'],
    ['required', 'Consent.provision.purpose'],
    ['not-supported', 'Consent.provision.provision[0].type'],
  ],
};

function readExample(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

test('each HL7 R4 example Consent is refused with these precise issues', () => {
  const names = readdirSync(FIXTURES)
    .filter((name) => /^Consent-.*\.json$/.test(name))
    .sort();
  assert.deepEqual(names, Object.keys(HL7_EXAMPLES).sort());
  for (const name of names)
    assert.deepEqual(issuesOf(consentToGrantTerms(readExample(name))), HL7_EXAMPLES[name], name);
});

test('the HL7 signature example maps once its provision is stated as a grant', () => {
  const consent = readExample('Consent-consent-example-signature.json') as any;
  consent.provision.type = 'permit';
  consent.provision.action = [{ coding: [coding(ACTION, 'access')] }];
  consent.provision.purpose = [
    coding('http://terminology.hl7.org/CodeSystem/v3-ActReason', 'TREAT'),
  ];
  delete consent.provision.provision;
  assert.deepEqual(consentToGrantTerms(consent), {
    ok: true,
    patientId: '72',
    grantId: 'consent-example-signature',
    terms: {
      grantee: { kind: 'practitioner', id: '13' },
      actions: ['read'],
      resourceTypes: [],
      recordIds: [],
      excludeLabels: [],
      purposes: ['TREAT'],
      // '2015-10-10' to '2016-10-10', both days included: [Oct 10 2015, Oct 11 2016).
      period: { start: Date.UTC(2015, 9, 10), end: Date.UTC(2016, 9, 11) },
    },
  });
});
