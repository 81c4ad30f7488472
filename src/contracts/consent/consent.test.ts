import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, type AuditEntry } from '../audit/index.js';
import type { StateReader } from '../state.js';
import { idOf, T0, world, type Actor, type TestChain } from '../records/test-fixture.js';
import { grantsOf, patientConsent } from './consent.js';
import {
  CONSENT_REFUSALS,
  coveringGrant,
  coversRecord,
  readGrantsCovering,
  type ConsentQuery,
  type ConsentRefusal,
} from './covering.js';
import { GRANT_COUNT_MAX, GRANT_LIST_COUNT_MAX } from '../../ledger/index.js';
import {
  GRANT_TABLE,
  PATIENT_CONSENT_TABLE,
  type GrantRow,
  type PatientConsentRow,
} from './tables.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const without = (body: JsonObject, field: string): JsonObject =>
  Object.fromEntries(
    Object.keys(body)
      .filter((key) => key !== field)
      .map((key) => [key, body[key]!]),
  );

const TERMS: JsonObject = {
  grantee: { kind: 'practitioner', id: 'dr-a' },
  actions: ['read'],
  resourceTypes: [],
  recordIds: [],
  excludeLabels: [],
  purposes: ['TREAT'],
  period: { start: T0, end: null },
};
const grantBody = (grantId: string, extra: JsonObject = {}): JsonObject => ({
  grantId,
  ...TERMS,
  ...extra,
});
const grant = (by: Actor, grantId: string, extra: JsonObject = {}): Transaction =>
  by.tx('consent.grant', grantBody(grantId, extra));
const update = (by: Actor, grantId: string, extra: JsonObject = {}): Transaction =>
  by.tx('consent.update', grantBody(grantId, extra));
const revoke = (by: Actor, grantId: string): Transaction => by.tx('consent.revoke', { grantId });
const setBreakTheGlass = (by: Actor, optIn: boolean): Transaction =>
  by.tx('consent.set-break-the-glass', { optIn });
const toPractitioner = (id: string): JsonObject => ({ grantee: { kind: 'practitioner', id } });
const toOrg = (id: string): JsonObject => ({ grantee: { kind: 'organisation', id } });

const grantRow = (chain: TestChain, grantId: string): GrantRow | undefined =>
  chain.get(GRANT_TABLE, grantId) as GrantRow | undefined;
const consentRow = (chain: TestChain, patientId: string): PatientConsentRow | undefined =>
  chain.get(PATIENT_CONSENT_TABLE, patientId) as PatientConsentRow | undefined;
const trail = (chain: TestChain, patientId: string): AuditEntry[] =>
  range(auditCount(chain, patientId)).map(
    (i) => chain.get(AUDIT_ENTRY_TABLE, auditKey(patientId, i + 1)) as unknown as AuditEntry,
  );

/** The audit entry a patient's own consent transaction leaves. */
const consentEntry = (
  seq: number,
  kind: AuditEntry['kind'],
  tx: Transaction,
  time: number,
  reason: string,
): AuditEntry => ({
  seq,
  kind,
  txId: idOf(tx),
  time,
  actor: { role: 'patient', subject: 'patient-2', org: 'org-a' },
  recordId: null,
  version: null,
  purpose: null,
  outcome: null,
  reason,
  basis: null,
  released: null,
});

/**
 * world(), with its patient-2 (who holds no grant there) as `patient` under test and patient-1
 * (who holds the fixture's grants) as the `other` patient.
 */
function setup() {
  const w = world();
  assert.deepEqual(
    [w.chain.get(PATIENT_CONSENT_TABLE, 'patient-2'), auditCount(w.chain, 'patient-2')],
    [undefined, 0],
    'patient-2 starts with no consent',
  );
  return { ...w, patient: w.otherPatient, other: w.patient };
}

/** Removes org-c from the consortium. */
function removeOrgC(chain: TestChain, orgA: Actor, orgB: Actor): void {
  const removal = orgA.tx('membership.propose', { action: 'remove', orgId: 'org-c' });
  assert.deepEqual(
    chain.run(removal, orgB.tx('membership.vote', { proposalId: idOf(removal), approve: true })),
    ['ok', 'ok'],
  );
}

describe('consent.grant', () => {
  test('the patient grants: the grant row, their consent row, an audit entry and an event', () => {
    const { chain, patient } = setup();
    const otherTrail = auditCount(chain, 'patient-1');
    assert.deepEqual(
      patientConsent(chain, 'patient-2'),
      { patientId: 'patient-2', breakTheGlass: 'opt-out', grants: [] },
      'the default before any consent transaction',
    );
    const time = chain.time;
    const tx = grant(patient, 'g-2', {
      resourceTypes: ['Observation'],
      excludeLabels: ['PSY'],
      period: { start: T0, end: T0 + 10_000_000 },
    });
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'consent.granted', subject: 'g-2' }]);
    assert.deepEqual(grantRow(chain, 'g-2'), {
      grantId: 'g-2',
      patientId: 'patient-2',
      grantee: { kind: 'practitioner', id: 'dr-a' },
      actions: ['read'],
      resourceTypes: ['Observation'],
      recordIds: [],
      excludeLabels: ['PSY'],
      purposes: ['TREAT'],
      period: { start: T0, end: T0 + 10_000_000 },
      status: 'active',
      version: 1,
      grantedAt: time,
      updatedAt: time,
      revokedAt: null,
    });
    assert.deepEqual(consentRow(chain, 'patient-2'), {
      patientId: 'patient-2',
      breakTheGlass: 'opt-out',
      grants: ['g-2'],
    });
    assert.deepEqual(trail(chain, 'patient-2'), [consentEntry(1, 'grant', tx, time, 'g-2')]);

    const second = chain.time;
    const orgGrant = grant(patient, 'g-1', {
      ...toOrg('org-b'),
      actions: ['write', 'read'],
      purposes: ['TREAT', 'HPAYMT', 'TREAT'],
      recordIds: ['obs-2', 'obs-1'],
    });
    assert.deepEqual(chain.run(orgGrant), ['ok']);
    const row = grantRow(chain, 'g-1');
    assert.deepEqual(
      [row?.grantee, row?.actions, row?.purposes, row?.recordIds],
      [
        { kind: 'organisation', id: 'org-b' },
        ['read', 'write'],
        ['HPAYMT', 'TREAT'],
        ['obs-1', 'obs-2'],
      ],
      'lists are kept sorted without repeats',
    );
    assert.deepEqual(
      consentRow(chain, 'patient-2')?.grants,
      ['g-1', 'g-2'],
      'grant ids are kept sorted',
    );
    assert.deepEqual(
      trail(chain, 'patient-2').map((entry) => [entry.seq, entry.kind, entry.reason, entry.time]),
      [
        [1, 'grant', 'g-2', time],
        [2, 'grant', 'g-1', second],
      ],
    );
    assert.deepEqual(
      grantsOf(chain, 'patient-2').map((found) => found.grantId),
      ['g-1', 'g-2'],
    );
    assert.equal(
      auditCount(chain, 'patient-1'),
      otherTrail,
      "another patient's trail is untouched",
    );
  });

  test('a custodial patient grants too, into their own trail; grants of two patients stay apart', () => {
    const { chain, patient, other } = setup();
    const otherGrants = patientConsent(chain, 'patient-1').grants;
    const otherTrail = auditCount(chain, 'patient-1');
    const time = chain.time;
    const tx = grant(other, 'g-other');
    assert.deepEqual(chain.run(tx, grant(patient, 'g-mine')), ['ok', 'ok']);
    assert.equal(grantRow(chain, 'g-other')?.patientId, 'patient-1');
    assert.deepEqual(consentRow(chain, 'patient-1')?.grants, [...otherGrants, 'g-other'].sort());
    assert.deepEqual(consentRow(chain, 'patient-2')?.grants, ['g-mine']);
    assert.deepEqual(trail(chain, 'patient-1').slice(otherTrail), [
      {
        ...consentEntry(otherTrail + 1, 'grant', tx, time, 'g-other'),
        actor: { role: 'patient', subject: 'patient-1', org: 'org-a' },
      },
    ]);
  });

  test('denials: not a patient, grant id taken (by anyone, also within one block), unknown or removed grantee; nothing is written', () => {
    const { chain, orgA, orgB, drA, patient, other } = setup();
    removeOrgC(chain, orgA, orgB);
    const otherConsent = consentRow(chain, 'patient-1');
    const otherTrail = auditCount(chain, 'patient-1');
    const statuses = chain.run(
      grant(drA, 'g-1'),
      grant(orgA, 'g-1'),
      grant(patient, 'g-1'),
      grant(patient, 'g-1', toPractitioner('dr-b')),
      grant(other, 'g-1'),
      grant(patient, 'g-2', toPractitioner('dr-x')),
      grant(patient, 'g-3', toOrg('org-x')),
      grant(patient, 'g-4', toOrg('org-c')),
      grant(patient, 'g-5', toPractitioner('org-a')),
      grant(patient, 'g-6', toOrg('dr-a')),
      grant(patient, 'g-7', toPractitioner('patient-1')),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-patient',
      'denied:not-a-patient',
      'ok',
      'denied:grant-exists',
      'denied:grant-exists',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
    ]);
    assert.equal(grantRow(chain, 'g-1')?.grantee.id, 'dr-a', 'the first grant stands');
    for (const id of ['g-2', 'g-3', 'g-4', 'g-5', 'g-6', 'g-7'])
      assert.equal(grantRow(chain, id), undefined);
    assert.deepEqual(consentRow(chain, 'patient-2')?.grants, ['g-1']);
    assert.deepEqual(consentRow(chain, 'patient-1'), otherConsent);
    assert.deepEqual(
      [auditCount(chain, 'patient-2'), auditCount(chain, 'patient-1')],
      [1, otherTrail],
    );
    assert.deepEqual(
      chain.run(grant(other, 'g-1')),
      ['denied:grant-exists'],
      'grant ids are global, also in later blocks',
    );
  });

  test('malformed bodies are invalid; every limit is inclusive', () => {
    const { chain, patient } = setup();
    const base = grantBody('g-1');
    const codes = (n: number, prefix = 'C'): string[] => range(n).map((i) => `${prefix}${i}`);
    const types = (n: number): string[] =>
      range(n).map((i) => `R${String.fromCharCode(97 + (i % 26)).repeat(1 + Math.floor(i / 26))}`);
    const bad: JsonObject[] = [
      { ...base, note: 'x' },
      ...['grantId', ...Object.keys(TERMS)].map((field) => without(base, field)),
      { ...base, grantId: 'G-1' },
      { ...base, grantId: 'g' },
      { ...base, grantId: 'g'.repeat(65) },
      { ...base, grantId: '-g1' },
      { ...base, grantId: 1 },
      { ...base, grantId: null },
      // grantee
      { ...base, grantee: 'dr-a' },
      { ...base, grantee: null },
      { ...base, grantee: [] },
      { ...base, grantee: { kind: 'practitioner' } },
      { ...base, grantee: { id: 'dr-a' } },
      { ...base, grantee: { kind: 'patient', id: 'patient-1' } },
      { ...base, grantee: { kind: 'Practitioner', id: 'dr-a' } },
      { ...base, grantee: { kind: 'practitioner', id: 'Dr-A' } },
      { ...base, grantee: { kind: 'practitioner', id: 'dr-a', org: 'org-a' } },
      { ...base, grantee: { kind: 'practitioner', name: 'dr-a' } },
      { ...base, grantee: { kind: 'practitioner', id: 7 } },
      // actions
      { ...base, actions: [] },
      { ...base, actions: 'read' },
      { ...base, actions: ['delete'] },
      { ...base, actions: ['Read'] },
      { ...base, actions: ['read', 'write', 'read'] },
      { ...base, actions: [null] },
      // lists
      { ...base, resourceTypes: 'Observation' },
      { ...base, resourceTypes: ['observation'] },
      { ...base, resourceTypes: ['O'] },
      { ...base, resourceTypes: ['Obs1'] },
      { ...base, resourceTypes: types(GRANT_LIST_COUNT_MAX + 1) },
      { ...base, recordIds: ['..'] },
      { ...base, recordIds: ['a/b'] },
      { ...base, recordIds: [''] },
      { ...base, recordIds: [7] },
      { ...base, recordIds: codes(GRANT_LIST_COUNT_MAX + 1, 'obs-') },
      { ...base, recordIds: null },
      { ...base, excludeLabels: [''] },
      { ...base, excludeLabels: ['-PSY'] },
      { ...base, excludeLabels: ['P SY'] },
      { ...base, excludeLabels: ['x'.repeat(65)] },
      { ...base, excludeLabels: codes(GRANT_LIST_COUNT_MAX + 1) },
      { ...base, purposes: [] },
      { ...base, purposes: 'TREAT' },
      { ...base, purposes: ['TRE/AT'] },
      { ...base, purposes: codes(GRANT_LIST_COUNT_MAX + 1) },
      { ...base, purposes: {} },
      // period
      { ...base, period: null },
      { ...base, period: [T0, null] },
      { ...base, period: { start: T0 } },
      { ...base, period: { end: null } },
      { ...base, period: { start: T0, end: null, zone: 'UTC' } },
      { ...base, period: { start: T0, end: T0 } },
      { ...base, period: { start: T0, end: T0 - 1 } },
      { ...base, period: { start: -1, end: null } },
      { ...base, period: { start: T0 + 0.5, end: null } },
      { ...base, period: { start: T0, end: T0 + 1.5 } },
      { ...base, period: { start: String(T0), end: null } },
      { ...base, period: { start: T0, end: 'never' } },
      { ...base, period: { start: 2 ** 53, end: null } },
      { ...base, period: { start: null, end: null } },
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => patient.tx('consent.grant', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    assert.deepEqual(
      [consentRow(chain, 'patient-2'), auditCount(chain, 'patient-2')],
      [undefined, 0],
    );
    const edge: JsonObject = {
      grantId: `g${'-9'.repeat(31)}z`.slice(0, 64),
      grantee: { kind: 'practitioner', id: 'dr-a' },
      actions: ['write', 'read'],
      resourceTypes: types(GRANT_LIST_COUNT_MAX),
      recordIds: codes(GRANT_LIST_COUNT_MAX, 'obs.'),
      excludeLabels: codes(GRANT_LIST_COUNT_MAX),
      purposes: codes(GRANT_LIST_COUNT_MAX, 'P'),
      period: { start: 0, end: Number.MAX_SAFE_INTEGER },
    };
    const shortest = grantBody('g2', { period: { start: T0, end: T0 + 1 }, purposes: ['9'] });
    assert.deepEqual(
      chain.run(patient.tx('consent.grant', edge), patient.tx('consent.grant', shortest)),
      ['ok', 'ok'],
    );
    assert.equal((edge['grantId'] as string).length, 64);
    const row = grantRow(chain, edge['grantId'] as string);
    assert.equal(row?.resourceTypes.length, GRANT_LIST_COUNT_MAX);
    assert.deepEqual(row?.recordIds, [...(edge['recordIds'] as string[])].sort());
    assert.deepEqual(row?.period, { start: 0, end: Number.MAX_SAFE_INTEGER });
    assert.deepEqual(
      grantRow(chain, 'g2')?.period,
      { start: T0, end: T0 + 1 },
      'a grant may be granted already over',
    );
  });

  test(`a patient holds at most ${GRANT_COUNT_MAX} grants, revoked ones included; other patients are unaffected`, () => {
    const { chain, patient, other } = setup();
    const ids = range(GRANT_COUNT_MAX).map((i) => `g-${String(i).padStart(2, '0')}`);
    assert.deepEqual(
      chain.run(
        ...ids.map((id) => grant(patient, id)),
        grant(patient, 'g-extra'),
        grant(other, 'g-other'),
      ),
      [...ids.map(() => 'ok'), 'denied:too-many-grants', 'ok'],
    );
    assert.equal(consentRow(chain, 'patient-2')?.grants.length, GRANT_COUNT_MAX);
    assert.equal(grantRow(chain, 'g-extra'), undefined);
    assert.deepEqual(
      chain.run(revoke(patient, 'g-00'), grant(patient, 'g-extra')),
      ['ok', 'denied:too-many-grants'],
      'revoking frees no place',
    );
    assert.equal(auditCount(chain, 'patient-2'), GRANT_COUNT_MAX + 1);
  });
});

describe('consent.update', () => {
  test('the patient replaces the terms from this block on; id, patient, status and grantedAt stay', () => {
    const { chain, patient } = setup();
    const granted = chain.time;
    assert.deepEqual(chain.run(grant(patient, 'g-1')), ['ok']);
    const before = grantRow(chain, 'g-1');
    const time = chain.time;
    const terms: JsonObject = {
      ...toOrg('org-b'),
      actions: ['write'],
      resourceTypes: ['Condition'],
      recordIds: ['cond-1'],
      excludeLabels: ['HIV'],
      purposes: ['HRESCH'],
      period: { start: T0 + 5, end: T0 + 50 },
    };
    const tx = update(patient, 'g-1', terms);
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'consent.updated', subject: 'g-1' }]);
    assert.deepEqual(grantRow(chain, 'g-1'), {
      ...before,
      ...terms,
      status: 'active',
      version: 2,
      grantedAt: granted,
      updatedAt: time,
      revokedAt: null,
    });
    assert.deepEqual(
      consentRow(chain, 'patient-2')?.grants,
      ['g-1'],
      'the consent row is unchanged',
    );
    assert.deepEqual(
      trail(chain, 'patient-2').at(-1),
      consentEntry(2, 'consent-update', tx, time, 'g-1'),
    );
  });

  test("denials: not a patient, another patient's or an unknown grant, a revoked grant, an unknown grantee; malformed bodies", () => {
    const { chain, orgA, drA, patient, other } = setup();
    const otherTrail = auditCount(chain, 'patient-1');
    assert.deepEqual(chain.run(grant(patient, 'g-1'), grant(patient, 'g-2'), grant(other, 'g-9')), [
      'ok',
      'ok',
      'ok',
    ]);
    assert.deepEqual(chain.run(revoke(patient, 'g-2')), ['ok']);
    const before = grantRow(chain, 'g-1');
    const base = grantBody('g-1', { purposes: ['HPAYMT'] });
    const statuses = chain.run(
      drA.tx('consent.update', base),
      orgA.tx('consent.update', base),
      other.tx('consent.update', base),
      update(patient, 'g-9'),
      update(patient, 'g-x'),
      update(patient, 'g-2'),
      update(patient, 'g-1', toPractitioner('dr-x')),
      update(patient, 'g-1', toOrg('org-x')),
      ...[
        without(base, 'grantId'),
        without(base, 'purposes'),
        { ...base, purposes: [] },
        { ...base, note: 1 },
        { ...base, grantId: 'G-1' },
        { grantId: 'g-1' },
      ].map((body) => patient.tx('consent.update', body)),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-patient',
      'denied:not-a-patient',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'denied:grant-revoked',
      'denied:no-such-grantee',
      'denied:no-such-grantee',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
    ]);
    assert.deepEqual(grantRow(chain, 'g-1'), before);
    assert.equal(grantRow(chain, 'g-9')?.purposes[0], 'TREAT');
    assert.equal(grantRow(chain, 'g-2')?.status, 'revoked');
    assert.deepEqual(
      [auditCount(chain, 'patient-2'), auditCount(chain, 'patient-1')],
      [3, otherTrail + 1],
    );
  });
});

describe('consent.revoke', () => {
  test('the patient revokes from this block on; the grant stays on record; a second revocation is denied', () => {
    const { chain, patient } = setup();
    const granted = chain.time;
    assert.deepEqual(chain.run(grant(patient, 'g-1'), grant(patient, 'g-2')), ['ok', 'ok']);
    const before = grantRow(chain, 'g-1');
    const time = chain.time;
    const tx = revoke(patient, 'g-1');
    const execution = chain.execute([tx, revoke(patient, 'g-1')]);
    assert.deepEqual(execution.statuses, ['ok', 'denied:grant-revoked'], 'also within one block');
    assert.deepEqual(execution.events, [{ type: 'consent.revoked', subject: 'g-1' }]);
    assert.deepEqual(grantRow(chain, 'g-1'), {
      ...before,
      status: 'revoked',
      version: before!.version + 1,
      grantedAt: granted,
      updatedAt: time,
      revokedAt: time,
    });
    assert.equal(grantRow(chain, 'g-2')?.status, 'active');
    assert.deepEqual(
      consentRow(chain, 'patient-2')?.grants,
      ['g-1', 'g-2'],
      'a revoked grant stays listed',
    );
    assert.deepEqual(trail(chain, 'patient-2').at(-1), consentEntry(3, 'revoke', tx, time, 'g-1'));
    assert.deepEqual(chain.run(revoke(patient, 'g-1')), ['denied:grant-revoked']);
    assert.equal(auditCount(chain, 'patient-2'), 3);
  });

  test("denials: not a patient, another patient's or an unknown grant; malformed bodies", () => {
    const { chain, orgA, drA, patient, other } = setup();
    assert.deepEqual(chain.run(grant(patient, 'g-1'), grant(other, 'g-9')), ['ok', 'ok']);
    const statuses = chain.run(
      revoke(drA, 'g-1'),
      revoke(orgA, 'g-1'),
      revoke(other, 'g-1'),
      revoke(patient, 'g-9'),
      revoke(patient, 'g-x'),
      ...(
        [
          {},
          { grantId: 'g-1', reason: 'x' },
          { grantId: 'G-1' },
          { grantId: ['g-1'] },
        ] as JsonObject[]
      ).map((body) => patient.tx('consent.revoke', body)),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-patient',
      'denied:not-a-patient',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
    ]);
    assert.deepEqual(
      [grantRow(chain, 'g-1')?.status, grantRow(chain, 'g-9')?.status],
      ['active', 'active'],
    );
    assert.deepEqual(chain.run(patient.tx('consent.delete', { grantId: 'g-1' })), [
      'invalid:unknown-type',
    ]);
  });
});

describe('consent.set-break-the-glass', () => {
  test('the patient opts in and out; grants are kept; each choice is in the trail', () => {
    const { chain, patient } = setup();
    const first = chain.time;
    const optIn = setBreakTheGlass(patient, true);
    const execution = chain.execute([optIn]);
    assert.deepEqual(
      [execution.statuses, execution.events],
      [['ok'], [{ type: 'consent.break-the-glass-set', subject: 'patient-2' }]],
    );
    assert.deepEqual(consentRow(chain, 'patient-2'), {
      patientId: 'patient-2',
      breakTheGlass: 'opt-in',
      grants: [],
    });
    assert.deepEqual(chain.run(grant(patient, 'g-1')), ['ok']);
    assert.deepEqual(
      patientConsent(chain, 'patient-2'),
      { patientId: 'patient-2', breakTheGlass: 'opt-in', grants: ['g-1'] },
      'a grant keeps the choice',
    );
    const second = chain.time;
    const optOut = setBreakTheGlass(patient, false);
    assert.deepEqual(chain.run(optOut), ['ok']);
    assert.deepEqual(consentRow(chain, 'patient-2'), {
      patientId: 'patient-2',
      breakTheGlass: 'opt-out',
      grants: ['g-1'],
    });
    const entries = trail(chain, 'patient-2');
    assert.deepEqual(
      [entries[0], entries[2]],
      [
        consentEntry(1, 'break-the-glass-setting', optIn, first, 'opt-in'),
        consentEntry(3, 'break-the-glass-setting', optOut, second, 'opt-out'),
      ],
    );
    assert.deepEqual(
      chain.run(setBreakTheGlass(patient, false)),
      ['ok'],
      'setting the same choice again is allowed and logged',
    );
    assert.equal(auditCount(chain, 'patient-2'), 4);
  });

  test('denials: not a patient; malformed bodies', () => {
    const { chain, orgA, drA, patient } = setup();
    const bad: JsonObject[] = [
      {},
      { optIn: 'true' },
      { optIn: 1 },
      { optIn: null },
      { optIn: true, patientId: 'patient-2' },
    ];
    const statuses = chain.run(
      setBreakTheGlass(drA, true),
      setBreakTheGlass(orgA, true),
      ...bad.map((body) => patient.tx('consent.set-break-the-glass', body)),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-patient',
      'denied:not-a-patient',
      ...bad.map(() => 'invalid:bad-body'),
    ]);
    assert.deepEqual(
      [consentRow(chain, 'patient-2'), auditCount(chain, 'patient-2')],
      [undefined, 0],
    );
  });
});

describe('coveringGrant', () => {
  const START = T0 + 100_000;
  const END = T0 + 200_000;
  const query = (extra: Partial<ConsentQuery> = {}): ConsentQuery => ({
    patientId: 'patient-2',
    practitionerId: 'dr-a',
    orgId: 'org-a',
    action: 'read',
    recordId: 'obs-1',
    resourceType: 'Observation',
    labels: ['N'],
    purpose: 'TREAT',
    time: START + 5000,
    ...extra,
  });
  const decide = (chain: StateReader, extra: Partial<ConsentQuery> = {}): string => {
    const decision = coveringGrant(chain, query(extra));
    return 'reason' in decision ? decision.reason : `covered by ${decision.grantId}`;
  };

  test('CONSENT_REFUSALS lists the reasons from least to most specific', () => {
    assert.deepEqual(CONSENT_REFUSALS, [
      'denied:no-consent',
      'denied:consent-revoked',
      'denied:consent-not-started',
      'denied:consent-expired',
      'denied:action-not-permitted',
      'denied:out-of-scope',
      'denied:label-excluded',
      'denied:purpose-not-permitted',
    ]);
  });

  test('each reason, from one grant; the period is [start, end)', () => {
    const { chain, patient, other } = setup();
    assert.equal(decide(chain), 'denied:no-consent');
    const scope = {
      resourceTypes: ['Observation', 'Condition'],
      recordIds: ['obs-1', 'cond-1'],
      excludeLabels: ['PSY', 'HIV'],
      purposes: ['TREAT', 'ETREAT'],
      period: { start: START, end: END },
    };
    assert.deepEqual(chain.run(grant(other, 'g-0', { ...scope, actions: ['read', 'write'] })), [
      'ok',
    ]);
    assert.equal(decide(chain), 'denied:no-consent', "another patient's grant covers nothing");
    assert.deepEqual(chain.run(grant(patient, 'g-1', scope)), ['ok']);
    assert.deepEqual(coveringGrant(chain, query()), { grantId: 'g-1' });
    assert.equal(decide(chain, { time: START }), 'covered by g-1', 'start is inclusive');
    assert.equal(
      decide(chain, {
        time: END - 1,
        recordId: 'cond-1',
        resourceType: 'Condition',
        labels: [],
        purpose: 'ETREAT',
      }),
      'covered by g-1',
    );
    assert.equal(decide(chain, { time: START - 1 }), 'denied:consent-not-started');
    assert.equal(decide(chain, { time: END }), 'denied:consent-expired', 'end is exclusive');
    assert.equal(decide(chain, { action: 'write' }), 'denied:action-not-permitted');
    assert.equal(decide(chain, { resourceType: 'MedicationRequest' }), 'denied:out-of-scope');
    assert.equal(decide(chain, { recordId: 'obs-2' }), 'denied:out-of-scope');
    assert.equal(decide(chain, { labels: ['N', 'HIV'] }), 'denied:label-excluded');
    assert.equal(decide(chain, { labels: ['psy'] }), 'covered by g-1', 'codes compare exactly');
    assert.equal(decide(chain, { purpose: 'HPAYMT' }), 'denied:purpose-not-permitted');
    assert.equal(
      decide(chain, { patientId: 'patient-1' }),
      'covered by g-0',
      "each patient's grants cover their own records",
    );
    assert.equal(decide(chain, { practitionerId: 'dr-a2' }), 'denied:no-consent');
    // A grant fails at its first failing check, in the order of CONSENT_REFUSALS.
    assert.equal(
      decide(chain, { time: END, action: 'write', purpose: 'HPAYMT' }),
      'denied:consent-expired',
    );
    assert.equal(
      decide(chain, { action: 'write', labels: ['PSY'] }),
      'denied:action-not-permitted',
    );
    assert.equal(
      decide(chain, { resourceType: 'Patient', labels: ['PSY'], purpose: 'HPAYMT' }),
      'denied:out-of-scope',
    );
    assert.equal(decide(chain, { labels: ['PSY'], purpose: 'HPAYMT' }), 'denied:label-excluded');
    assert.deepEqual(chain.run(revoke(patient, 'g-1')), ['ok']);
    assert.equal(decide(chain), 'denied:consent-revoked');
    assert.equal(
      decide(chain, { time: END, purpose: 'HPAYMT' }),
      'denied:consent-revoked',
      'revocation is checked first',
    );
  });

  test('a practitioner grant names that practitioner only; an organisation grant names all of its principals', () => {
    const { chain, patient } = setup();
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-dr', { ...toPractitioner('dr-b'), period: { start: 0, end: null } }),
      ),
      ['ok'],
    );
    assert.equal(decide(chain, { practitionerId: 'dr-b', orgId: 'org-b' }), 'covered by g-dr');
    assert.equal(
      decide(chain, { practitionerId: 'dr-b', orgId: 'org-a' }),
      'covered by g-dr',
      'consent names the practitioner; organisations are checked elsewhere',
    );
    assert.equal(
      decide(chain, { practitionerId: null, orgId: 'org-b' }),
      'denied:no-consent',
      "a system client of the practitioner's organisation is not the practitioner",
    );
    assert.equal(decide(chain, { practitionerId: 'dr-a', orgId: 'org-b' }), 'denied:no-consent');
    assert.deepEqual(
      chain.run(grant(patient, 'g-org', { ...toOrg('org-a'), period: { start: 0, end: null } })),
      ['ok'],
    );
    assert.equal(decide(chain, { practitionerId: 'dr-a', orgId: 'org-a' }), 'covered by g-org');
    assert.equal(decide(chain, { practitionerId: 'dr-a2', orgId: 'org-a' }), 'covered by g-org');
    assert.equal(
      decide(chain, { practitionerId: null, orgId: 'org-a' }),
      'covered by g-org',
      'a system client of the organisation',
    );
    assert.equal(decide(chain, { practitionerId: 'dr-b', orgId: 'org-b' }), 'covered by g-dr');
    assert.equal(decide(chain, { practitionerId: null, orgId: 'org-c' }), 'denied:no-consent');
    assert.equal(
      decide(chain, { practitionerId: 'org-a', orgId: 'org-c' }),
      'denied:no-consent',
      "an organisation grant does not name a practitioner whose id is the organisation's",
    );
  });

  test('the first covering grant by sorted id wins; otherwise the grant that got furthest decides the reason', () => {
    const { chain, patient } = setup();
    const run = (...txs: Transaction[]) =>
      assert.deepEqual(
        chain.run(...txs),
        txs.map(() => 'ok'),
      );
    const query0 = { labels: ['PSY'] };
    run(
      grant(patient, 'g-9', { purposes: ['HPAYMT'], period: { start: START, end: END } }),
      revoke(patient, 'g-9'),
    );
    assert.equal(decide(chain, query0), 'denied:consent-revoked');
    run(grant(patient, 'g-8', { period: { start: END, end: null } }));
    assert.equal(decide(chain, query0), 'denied:consent-not-started', 'not started beats revoked');
    run(grant(patient, 'g-7', { period: { start: T0, end: START } }));
    assert.equal(decide(chain, query0), 'denied:consent-expired', 'expired beats not started');
    run(grant(patient, 'g-6', { actions: ['write'] }));
    assert.equal(decide(chain, query0), 'denied:action-not-permitted', 'action beats period');
    run(grant(patient, 'g-5', { resourceTypes: ['Condition'] }));
    assert.equal(decide(chain, query0), 'denied:out-of-scope', 'scope beats action');
    run(grant(patient, 'g-4', { excludeLabels: ['PSY'] }));
    assert.equal(decide(chain, query0), 'denied:label-excluded', 'label beats scope');
    run(grant(patient, 'g-3', { purposes: ['HRESCH'] }));
    assert.equal(decide(chain, query0), 'denied:purpose-not-permitted', 'purpose beats label');
    run(grant(patient, 'g-2', toPractitioner('dr-b')));
    assert.equal(
      decide(chain, query0),
      'denied:purpose-not-permitted',
      'a grant naming someone else does not count',
    );
    assert.equal(
      decide(chain, { ...query0, practitionerId: 'dr-b', orgId: 'org-b' }),
      'covered by g-2',
    );
    assert.equal(decide(chain, { labels: [] }), 'covered by g-4', 'the lowest covering id');
    assert.equal(decide(chain, { labels: [], purpose: 'HRESCH' }), 'covered by g-3');
    assert.equal(decide(chain, { labels: [], action: 'write' }), 'covered by g-6');
    run(grant(patient, 'g-1', { actions: ['read', 'write'], purposes: ['TREAT', 'HRESCH'] }));
    assert.equal(
      decide(chain, { labels: ['PSY'], action: 'write', purpose: 'HRESCH' }),
      'covered by g-1',
    );
  });

  type Spec = {
    revoked: boolean;
    grantee: 'dr-a' | 'dr-b' | 'org-a';
    start: number;
    length: number | null;
    actions: ('read' | 'write')[];
    resourceTypes: string[];
    recordIds: string[];
    excludeLabels: string[];
    purposes: string[];
  };
  const subset = <T>(values: readonly T[], minLength = 0) =>
    fc.subarray([...values], { minLength });
  const spec: fc.Arbitrary<Spec> = fc.record({
    revoked: fc.boolean(),
    grantee: fc.constantFrom('dr-a', 'dr-b', 'org-a'),
    start: fc.integer({ min: 0, max: 40 }),
    length: fc.option(fc.integer({ min: 1, max: 40 })),
    actions: subset(['read', 'write'] as const, 1),
    resourceTypes: subset(['Observation', 'Condition']),
    recordIds: subset(['obs-1', 'obs-2']),
    excludeLabels: subset(['PSY', 'HIV']),
    purposes: subset(['TREAT', 'HPAYMT'], 1),
  });
  const queryOf: fc.Arbitrary<ConsentQuery> = fc.record({
    patientId: fc.constant('patient-2'),
    practitionerId: fc.constantFrom('dr-a', 'dr-b', null),
    orgId: fc.constantFrom('org-a', 'org-b'),
    action: fc.constantFrom('read', 'write'),
    recordId: fc.constantFrom('obs-1', 'obs-2'),
    resourceType: fc.constantFrom('Observation', 'Condition', 'Patient'),
    labels: subset(['PSY', 'HIV', 'N']),
    purpose: fc.constantFrom('TREAT', 'HPAYMT', 'HRESCH', null),
    time: fc.integer({ min: 0, max: 90 }),
  });
  const rowOf = ({ revoked, grantee, start, length, ...terms }: Spec, i: number): GrantRow => ({
    grantId: `g-${i}`,
    patientId: 'patient-2',
    grantee:
      grantee === 'org-a'
        ? { kind: 'organisation', id: 'org-a' }
        : { kind: 'practitioner', id: grantee },
    ...terms,
    actions: [...terms.actions],
    period: { start, end: length === null ? null : start + length },
    status: revoked ? 'revoked' : 'active',
    version: 1,
    grantedAt: 0,
    updatedAt: 0,
    revokedAt: revoked ? 0 : null,
  });
  /** A state holding `rows` as patient-2's grants. */
  const stateOf = (rows: readonly GrantRow[]): StateReader => ({
    get(table, key) {
      if (table === GRANT_TABLE)
        return rows.find((row) => row.grantId === key) as JsonValue | undefined;
      if (table === PATIENT_CONSENT_TABLE && key === 'patient-2' && rows.length > 0)
        return {
          patientId: 'patient-2',
          breakTheGlass: 'opt-out',
          grants: rows.map((row) => row.grantId).sort(),
        };
      return undefined;
    },
  });
  /** The decision for one grant, spelled out from the documented rules. */
  const model = (row: GrantRow, q: ConsentQuery): ConsentRefusal | undefined => {
    const named =
      row.grantee.kind === 'organisation'
        ? row.grantee.id === q.orgId
        : row.grantee.id === q.practitionerId;
    if (!named) return 'denied:no-consent';
    if (row.status === 'revoked') return 'denied:consent-revoked';
    if (q.time < row.period.start) return 'denied:consent-not-started';
    if (row.period.end !== null && q.time >= row.period.end) return 'denied:consent-expired';
    if (!row.actions.includes(q.action)) return 'denied:action-not-permitted';
    if (
      (row.resourceTypes.length > 0 && !row.resourceTypes.includes(q.resourceType)) ||
      (row.recordIds.length > 0 && !row.recordIds.includes(q.recordId))
    )
      return 'denied:out-of-scope';
    if (q.labels.some((code) => row.excludeLabels.includes(code))) return 'denied:label-excluded';
    return q.purpose === null || row.purposes.includes(q.purpose)
      ? undefined
      : 'denied:purpose-not-permitted';
  };

  test('over several grants, the decision is the lowest covering id, else the most specific reason of any grant alone', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 5 }), queryOf, (specs, q) => {
        const rows = specs.map(rowOf);
        const alone = rows.map((row) => model(row, q));
        rows.forEach((row, i) =>
          assert.deepEqual(
            coveringGrant(stateOf([row]), q),
            alone[i] === undefined ? { grantId: row.grantId } : { reason: alone[i] },
          ),
        );
        const covering = rows
          .filter((_, i) => alone[i] === undefined)
          .map((row) => row.grantId)
          .sort();
        const furthest = Math.max(
          0,
          ...alone.map((reason) => (reason === undefined ? 0 : CONSENT_REFUSALS.indexOf(reason))),
        );
        assert.deepEqual(
          coveringGrant(stateOf(rows), q),
          covering.length > 0 ? { grantId: covering[0]! } : { reason: CONSENT_REFUSALS[furthest]! },
        );
      }),
      { numRuns: 300 },
    );
  });

  test('coversRecord checks period and scope only; readGrantsCovering keeps the active read grants that cover the record', () => {
    const { chain, patient } = setup();
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-1', {
          actions: ['write'],
          purposes: ['HRESCH'],
          excludeLabels: ['PSY'],
          period: { start: START, end: END },
        }),
        grant(patient, 'g-2', toOrg('org-b')),
        grant(patient, 'g-3', { resourceTypes: ['Condition'] }),
        grant(patient, 'g-4', toPractitioner('dr-b')),
      ),
      ['ok', 'ok', 'ok', 'ok'],
    );
    assert.deepEqual(chain.run(revoke(patient, 'g-4')), ['ok']);
    const record = {
      patientId: 'patient-2',
      recordId: 'obs-1',
      resourceType: 'Observation',
      labels: ['N'],
      time: START,
    };
    const g1 = grantRow(chain, 'g-1')!;
    assert.equal(coversRecord(g1, record), undefined, 'action and purpose do not matter');
    assert.equal(coversRecord(g1, { ...record, time: START - 1 }), 'denied:consent-not-started');
    assert.equal(coversRecord(g1, { ...record, time: END }), 'denied:consent-expired');
    assert.equal(coversRecord(g1, { ...record, labels: ['PSY'] }), 'denied:label-excluded');
    assert.equal(coversRecord(grantRow(chain, 'g-3')!, record), 'denied:out-of-scope');
    assert.equal(
      coversRecord(grantRow(chain, 'g-4')!, record),
      undefined,
      'status does not matter',
    );
    assert.deepEqual(
      readGrantsCovering(chain, record).map((row) => row.grantId),
      ['g-2'],
      'g-1 is write-only, g-3 out of scope, g-4 revoked',
    );
    assert.deepEqual(
      readGrantsCovering(chain, { ...record, resourceType: 'Condition' }).map((row) => row.grantId),
      ['g-2', 'g-3'],
    );
    assert.deepEqual(readGrantsCovering(chain, { ...record, patientId: 'patient-1' }), []);
  });
});
