import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import {
  AUDIT_ENTRY_TABLE,
  auditCount,
  auditKey,
  type AccessBasis,
  type AuditEntry,
} from '../audit/index.js';
import {
  anchorBody,
  envelope,
  idOf,
  T0,
  world,
  type Actor,
  type TestChain,
  type World,
} from '../records/test-fixture.js';
import { decideAccess, type AccessDecision, type AccessRequest } from './decide.js';
import {
  BTG_ACTIVE_TABLE,
  BTG_MINUTES_DEFAULT,
  BTG_REVIEW_TABLE,
  BTG_TABLE,
  type BreakTheGlassRow,
  type Principal,
} from './tables.js';
import { BTG_MINUTES_MAX, NOTE_CIPHERTEXT_BYTES_MAX } from '../../ledger/index.js';

const MINUTE = 60_000;
const without = (body: JsonObject, field: string): JsonObject =>
  Object.fromEntries(
    Object.keys(body)
      .filter((key) => key !== field)
      .map((key) => [key, body[key]!]),
  );

type Kind = Principal['kind'];
const who = (kind: Kind, id: string): JsonObject => ({ kind, id });
const LOG: JsonObject = {
  principal: who('practitioner', 'dr-a'),
  recordId: 'obs-1',
  version: 1,
  action: 'read',
  purpose: 'TREAT',
  released: true,
};
const logBody = (extra: JsonObject = {}): JsonObject => ({ ...LOG, ...extra });
const log = (by: Actor, extra: JsonObject = {}): Transaction => by.tx('access.log', logBody(extra));

/** A well-formed sealed note to `recipients` (X25519 keys, hex); its hashes and envelope bytes are placeholders. */
const sealedTo = (recipients: readonly string[], tag = 'a'): JsonObject => ({
  ciphertextHash: tag.repeat(64),
  ciphertextSize: 120,
  commitment: 'c'.repeat(64),
  envelopes: [...new Set(recipients)].map(envelope),
});
// The world's keys are seeded by id (records/test-fixture.ts): the reason is sealed to patient-1 and org-a.
const { patient: PATIENT_1, orgA: ORG_A, orgB: ORG_B } = world();
const REASON = sealedTo([PATIENT_1.encryptionKey, ORG_A.encryptionKey]);
const BTG: JsonObject = {
  principal: who('practitioner', 'dr-a'),
  patientId: 'patient-1',
  purpose: 'ETREAT',
  reason: REASON,
};
const btgBody = (extra: JsonObject = {}): JsonObject => ({ ...BTG, ...extra });
/** A break-the-glass signed by `by`, its reason sealed to patient-1 and `by`. */
const breakGlass = (by: Actor, extra: JsonObject = {}): Transaction =>
  by.tx(
    'access.break-the-glass',
    btgBody({ reason: sealedTo([PATIENT_1.encryptionKey, by.encryptionKey]), ...extra }),
  );
const review = (by: Actor, btgId: string, extra: JsonObject = {}): Transaction =>
  by.tx('access.review-break-the-glass', { btgId, justified: true, ...extra });

/** A read grant from `patient` to a practitioner or organisation, open-ended from T0, for treatment. */
const grant = (
  patient: Actor,
  grantId: string,
  grantee: Actor,
  extra: JsonObject = {},
): Transaction =>
  patient.tx('consent.grant', {
    grantId,
    grantee: {
      kind: grantee.id.startsWith('org-') ? 'organisation' : 'practitioner',
      id: grantee.id,
    },
    actions: ['read'],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: T0, end: null },
    ...extra,
  });
const optIn = (patient: Actor, on = true): Transaction =>
  patient.tx('consent.set-break-the-glass', { optIn: on });

const entry = (chain: TestChain, patientId: string, seq: number): AuditEntry | undefined =>
  chain.get(AUDIT_ENTRY_TABLE, auditKey(patientId, seq)) as AuditEntry | undefined;
const entriesSince = (chain: TestChain, patientId: string, count: number): AuditEntry[] =>
  Array.from({ length: auditCount(chain, patientId) - count }, (_, i) =>
    entry(chain, patientId, count + i + 1)!,
  );
const btgRow = (chain: TestChain, btgId: string): BreakTheGlassRow | undefined =>
  chain.get(BTG_TABLE, btgId) as BreakTheGlassRow | undefined;
const basis = (
  kind: AccessBasis['kind'],
  ids: Partial<Omit<AccessBasis, 'kind'>> = {},
): AccessBasis => ({ kind, grantId: null, agreementId: null, breakTheGlassId: null, ...ids });

/** An access entry as access.log writes it, for the tx `tx` at `time`. */
function accessEntry(
  seq: number,
  tx: Transaction,
  time: number,
  principal: Principal,
  decision: AccessDecision,
  extra: Partial<AuditEntry> = {},
): AuditEntry {
  return {
    seq,
    kind: 'access',
    txId: idOf(tx),
    time,
    actor: {
      role: principal.kind,
      subject: principal.id,
      org: principal.org,
      ...(principal.client === undefined ? {} : { client: principal.client }),
    },
    recordId: 'obs-1',
    version: 1,
    purpose: 'TREAT',
    outcome: decision.outcome,
    reason: decision.outcome === 'deny' ? decision.reason : null,
    basis: decision.outcome === 'permit' ? decision.basis : null,
    released: true,
    ...extra,
  };
}
const permit = (b: AccessBasis): AccessDecision => ({ outcome: 'permit', basis: b });
const deny = (reason: string): AccessDecision => ({ outcome: 'deny', reason });

/** world() with obs-1 of patient-1 and obs-2 of patient-2, both written by dr-a of org-a (their home). */
function withRecords(): World {
  const w = world();
  const { chain, orgA, drA, patient, otherPatient } = w;
  assert.deepEqual(
    chain.run(
      drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
      drA.tx('records.anchor', anchorBody('obs-2', otherPatient, [otherPatient, orgA])),
    ),
    ['ok', 'ok'],
  );
  return w;
}

/** decideAccess for `principal` reading version 1 of obs-1 for treatment at `time`. */
const decide = (
  chain: TestChain,
  principal: Principal,
  extra: Partial<AccessRequest> = {},
): AccessDecision =>
  decideAccess(chain, {
    principal,
    action: 'read',
    recordId: 'obs-1',
    version: 1,
    purpose: 'TREAT',
    time: chain.time,
    ...extra,
  });

describe('access.log', () => {
  test("an organisation logs an access by each kind of principal; each entry carries the contract's decision", () => {
    const { chain, orgA, drA, patient } = withRecords();
    assert.deepEqual(chain.run(grant(patient, 'g-a', drA), grant(patient, 'g-org', orgA)), [
      'ok',
      'ok',
    ]);
    const count = auditCount(chain, 'patient-1');
    const time = chain.time;
    const cases: [JsonObject, AccessDecision][] = [
      [who('practitioner', 'dr-a'), permit(basis('consent', { grantId: 'g-a' }))],
      [who('practitioner', 'dr-a2'), permit(basis('consent', { grantId: 'g-org' }))],
      [who('patient', 'patient-1'), permit(basis('patient'))],
      [who('system', 'org-a'), permit(basis('consent', { grantId: 'g-org' }))],
      [
        { ...who('system', 'org-a'), client: 'lab-feed' },
        permit(basis('consent', { grantId: 'g-org' })),
      ],
      [who('auditor', 'aud-1'), deny('denied:auditor-reads-no-content')],
      [who('system', 'sys-1'), deny('denied:unknown-principal')],
      [who('practitioner', 'dr-b'), deny('denied:unknown-principal')],
      [who('practitioner', 'dr-x'), deny('denied:unknown-principal')],
      [who('patient', 'patient-2'), deny('denied:not-your-record')],
    ];
    const txs = cases.map(([principal]) => log(orgA, { principal }));
    const execution = chain.execute(txs);
    assert.deepEqual(
      execution.statuses,
      cases.map(() => 'ok'),
    );
    assert.deepEqual(
      execution.events,
      cases.map(([, decision]) => ({
        type: decision.outcome === 'permit' ? 'access.permitted' : 'access.denied',
        subject: 'patient-1',
      })),
    );
    const expected = cases.map(([principal, decision], i) =>
      accessEntry(
        count + i + 1,
        txs[i]!,
        time,
        { ...(principal as { kind: Kind; id: string }), org: 'org-a' },
        decision,
      ),
    );
    assert.deepEqual(entriesSince(chain, 'patient-1', count), expected);
  });

  test('the contract re-decides at its block: a release that raced a revocation is logged as a denial with released true', () => {
    const { chain, orgA, drA, patient } = withRecords();
    assert.deepEqual(chain.run(grant(patient, 'g-a', drA)), ['ok']);
    const drAatA: Principal = { kind: 'practitioner', id: 'dr-a', org: 'org-a' };
    assert.deepEqual(
      decide(chain, drAatA),
      permit(basis('consent', { grantId: 'g-a' })),
      'the node decided to release at this height',
    );
    assert.deepEqual(chain.run(patient.tx('consent.revoke', { grantId: 'g-a' })), ['ok']);
    const count = auditCount(chain, 'patient-1');
    const time = chain.time;
    const raced = log(orgA);
    const refused = log(orgA, { released: false });
    assert.deepEqual(chain.run(raced, refused), ['ok', 'ok']);
    assert.deepEqual(entriesSince(chain, 'patient-1', count), [
      accessEntry(count + 1, raced, time, drAatA, deny('denied:consent-revoked'), {
        released: true,
      }),
      accessEntry(count + 2, refused, time, drAatA, deny('denied:consent-revoked'), {
        released: false,
      }),
    ]);
    assert.deepEqual(chain.run(grant(patient, 'g-a2', drA)), ['ok']);
    const withheld = log(orgA, { released: false, action: 'read', purpose: 'TREAT' });
    const later = chain.time;
    assert.deepEqual(chain.run(withheld), ['ok']);
    assert.deepEqual(
      entry(chain, 'patient-1', count + 4),
      accessEntry(
        count + 4,
        withheld,
        later,
        drAatA,
        permit(basis('consent', { grantId: 'g-a2' })),
        { released: false },
      ),
      'a node may withhold what the contract permits',
    );
  });

  test('the decision reads the version, the record, the practitioner, the action and the purpose', () => {
    const { chain, orgA, drA, drA2, patient } = withRecords();
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-a', drA),
        grant(patient, 'g-a2', drA2),
        drA.tx('records.anchor', anchorBody('obs-3', patient, [patient, orgA, drA, drA2])),
      ),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(
      chain.run(
        orgA.tx('membership.suspend-practitioner', { practitionerId: 'dr-a2' }),
        patient.tx('records.erase', { recordId: 'obs-3' }),
      ),
      ['ok', 'ok'],
    );
    const count = auditCount(chain, 'patient-1');
    const cases: [JsonObject, string][] = [
      [{ version: 2 }, 'denied:no-such-version'],
      [{ recordId: 'obs-3' }, 'denied:record-erased'],
      [{ principal: who('practitioner', 'dr-a2') }, 'denied:practitioner-suspended'],
      [{ action: 'write' }, 'denied:action-not-permitted'],
      [{ purpose: 'HPAYMT' }, 'denied:purpose-not-permitted'],
    ];
    assert.deepEqual(
      chain.run(...cases.map(([extra]) => log(orgA, extra))),
      cases.map(() => 'ok'),
    );
    const entries = entriesSince(chain, 'patient-1', count);
    assert.deepEqual(
      entries.map((found) => [found.outcome, found.reason, found.basis]),
      cases.map(([, reason]) => ['deny', reason, null]),
    );
    assert.deepEqual(
      entries.map((found) => [found.recordId, found.version, found.purpose]),
      [
        ['obs-1', 2, 'TREAT'],
        ['obs-3', 1, 'TREAT'],
        ['obs-1', 1, 'TREAT'],
        ['obs-1', 1, 'TREAT'],
        ['obs-1', 1, 'HPAYMT'],
      ],
    );
  });

  test('refusals: not an organisation, a patient not homed at the signer, an unknown record, malformed bodies; nothing is logged', () => {
    const { chain, orgA, orgB, drA, patient } = withRecords();
    const counts = [auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')];
    const statuses = chain.run(
      log(drA),
      log(patient),
      log(patient, { principal: who('patient', 'patient-1') }),
      log(orgB, { principal: who('patient', 'patient-1') }),
      log(orgA, { principal: who('patient', 'patient-9') }),
      log(orgA, { recordId: 'obs-x' }),
      log(orgA, { recordId: 'obs-x', principal: who('patient', 'patient-1') }),
    );
    assert.deepEqual(statuses, [
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:not-home-organisation',
      'denied:not-home-organisation',
      'denied:no-such-record',
      'denied:no-such-record',
    ]);
    const bad: JsonObject[] = [
      logBody({ note: 'x' }),
      ...Object.keys(LOG).map((field) => without(LOG, field)),
      logBody({ principal: 'dr-a' }),
      logBody({ principal: null }),
      logBody({ principal: who('practitioner', 'Dr-A') }),
      logBody({ principal: { kind: 'practitioner' } }),
      logBody({ principal: who('organisation' as Kind, 'org-a') }),
      logBody({ principal: { ...who('practitioner', 'dr-a'), org: 'org-b' } }),
      // Only a system principal acts through a client, and a client id has a form.
      logBody({ principal: { ...who('practitioner', 'dr-a'), client: 'lab-feed' } }),
      logBody({ principal: { ...who('system', 'org-a'), client: 'lab feed' } }),
      logBody({ principal: { ...who('system', 'org-a'), client: null } }),
      logBody({ recordId: '..' }),
      logBody({ recordId: 'a/b' }),
      logBody({ recordId: 7 }),
      logBody({ version: -1 }),
      logBody({ version: 1.5 }),
      logBody({ version: '1' }),
      logBody({ version: null }),
      logBody({ action: 'delete' }),
      logBody({ action: 'READ' }),
      logBody({ purpose: '' }),
      logBody({ purpose: 'TRE AT' }),
      logBody({ purpose: ['TREAT'] }),
      logBody({ released: 'true' }),
      logBody({ released: 1 }),
      logBody({ released: null }),
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => orgA.tx('access.log', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    assert.deepEqual(
      chain.run(drA.tx('access.log', logBody({ released: 'yes' }))),
      ['invalid:bad-body'],
      'the body is read before the signer',
    );
    assert.deepEqual([auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')], counts);
    assert.deepEqual(chain.run(orgA.tx('access.read', LOG)), ['invalid:unknown-type']);
  });
});

describe('access.break-the-glass', () => {
  test('a patient who opted out: the denial is recorded, with no window and nothing to review', () => {
    const { chain, orgA, patient } = withRecords();
    const count = auditCount(chain, 'patient-1');
    const time = chain.time;
    const tx = breakGlass(orgA);
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'access.break-the-glass', subject: 'patient-1' }]);
    const btgId = idOf(tx);
    assert.deepEqual(btgRow(chain, btgId), {
      btgId,
      patientId: 'patient-1',
      practitionerId: 'dr-a',
      org: 'org-a',
      purpose: 'ETREAT',
      reason: BTG['reason'],
      outcome: 'deny',
      denial: 'denied:patient-opted-out',
      start: time,
      end: time + 60 * MINUTE,
      review: null,
    });
    assert.equal(chain.get(BTG_ACTIVE_TABLE, 'patient-1|dr-a'), undefined);
    assert.equal(chain.get(BTG_REVIEW_TABLE, `org-a|${btgId}`), undefined);
    assert.deepEqual(entriesSince(chain, 'patient-1', count), [
      {
        seq: count + 1,
        kind: 'break-the-glass',
        txId: btgId,
        time,
        actor: { role: 'practitioner', subject: 'dr-a', org: 'org-a' },
        recordId: null,
        version: null,
        purpose: 'ETREAT',
        outcome: 'deny',
        reason: 'denied:patient-opted-out',
        basis: null,
        released: null,
      },
    ]);
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a', org: 'org-a' }),
      deny('denied:no-consent'),
    );
    // Opting in does not revive a denied request; a purpose that is not an emergency is denied even then.
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a', org: 'org-a' }),
      deny('denied:no-consent'),
    );
    const treat = breakGlass(orgA, { purpose: 'TREAT' });
    assert.deepEqual(chain.run(treat), ['ok']);
    assert.deepEqual(
      [btgRow(chain, idOf(treat))?.outcome, btgRow(chain, idOf(treat))?.denial],
      ['deny', 'denied:purpose-not-break-the-glass'],
    );
    assert.equal(chain.get(BTG_ACTIVE_TABLE, 'patient-1|dr-a'), undefined);
  });

  test('a patient who opted in: granted for 60 minutes by default, and the window [start, end) closes by block time', () => {
    const { chain, orgA, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const count = auditCount(chain, 'patient-1');
    const start = chain.time;
    const tx = breakGlass(orgA, { purpose: 'BTG' });
    assert.deepEqual(chain.run(tx), ['ok']);
    const btgId = idOf(tx);
    assert.equal(BTG_MINUTES_DEFAULT, 60);
    const end = start + 60 * MINUTE;
    assert.deepEqual(btgRow(chain, btgId), {
      btgId,
      patientId: 'patient-1',
      practitionerId: 'dr-a',
      org: 'org-a',
      purpose: 'BTG',
      reason: BTG['reason'],
      outcome: 'permit',
      denial: null,
      start,
      end,
      review: null,
    });
    assert.deepEqual(chain.get(BTG_ACTIVE_TABLE, 'patient-1|dr-a'), { btgId });
    assert.deepEqual(chain.get(BTG_REVIEW_TABLE, `org-a|${btgId}`), { btgId });
    assert.deepEqual(entry(chain, 'patient-1', count + 1), {
      seq: count + 1,
      kind: 'break-the-glass',
      txId: btgId,
      time: start,
      actor: { role: 'practitioner', subject: 'dr-a', org: 'org-a' },
      recordId: null,
      version: null,
      purpose: 'BTG',
      outcome: 'permit',
      reason: null,
      basis: null,
      released: null,
    });
    const drAatA: Principal = { kind: 'practitioner', id: 'dr-a', org: 'org-a' };
    const viaGlass = permit(basis('break-the-glass', { breakTheGlassId: btgId }));
    assert.deepEqual(
      decide(chain, drAatA, { time: start }),
      viaGlass,
      'from the block that granted it',
    );
    assert.deepEqual(decide(chain, drAatA, { time: end - 1 }), viaGlass);
    assert.deepEqual(
      decide(chain, drAatA, { time: end }),
      deny('denied:no-consent'),
      'the window is [start, end)',
    );
    assert.deepEqual(decide(chain, drAatA, { time: start - 1 }), deny('denied:no-consent'));
    assert.deepEqual(
      decide(chain, drAatA, { recordId: 'obs-2' }),
      deny('denied:no-consent'),
      "only this patient's records",
    );
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a2', org: 'org-a' }),
      deny('denied:no-consent'),
      'only this practitioner',
    );
    assert.deepEqual(
      decide(chain, { kind: 'system', id: 'org-a', org: 'org-a' }),
      deny('denied:no-consent'),
    );
    const within = log(orgA);
    const withinTime = chain.time;
    assert.deepEqual(chain.run(within), ['ok']);
    assert.deepEqual(
      entry(chain, 'patient-1', count + 2),
      accessEntry(count + 2, within, withinTime, drAatA, viaGlass),
    );
    chain.time = end;
    const after = log(orgA, { released: false });
    assert.deepEqual(chain.run(after), ['ok']);
    assert.deepEqual(
      entry(chain, 'patient-1', count + 3),
      accessEntry(count + 3, after, end, drAatA, deny('denied:no-consent'), { released: false }),
    );
  });

  test('a custom window of 1 to BTG_MINUTES_MAX minutes; 0 or more is invalid', () => {
    const { chain, orgA, orgB, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const time = chain.time;
    const invalid = [
      breakGlass(orgA, { minutes: 0 }),
      breakGlass(orgA, { minutes: BTG_MINUTES_MAX + 1 }),
    ];
    const shortest = breakGlass(orgA, { minutes: 1 });
    const longest = breakGlass(orgB, {
      principal: who('practitioner', 'dr-b'),
      minutes: BTG_MINUTES_MAX,
    });
    const statuses = chain.run(...invalid, shortest, longest);
    assert.deepEqual(statuses, ['invalid:bad-body', 'invalid:bad-body', 'ok', 'ok']);
    assert.deepEqual(
      [btgRow(chain, idOf(shortest))?.start, btgRow(chain, idOf(shortest))?.end],
      [time, time + MINUTE],
    );
    assert.deepEqual(
      [btgRow(chain, idOf(longest))?.start, btgRow(chain, idOf(longest))?.end],
      [time, time + BTG_MINUTES_MAX * MINUTE],
    );
    assert.deepEqual(
      chain.get(BTG_REVIEW_TABLE, `org-b|${idOf(longest)}`),
      { btgId: idOf(longest) },
      "the review goes to the practitioner's organisation",
    );
    // Across organisations, break-the-glass needs no agreement.
    const drBatB: Principal = { kind: 'practitioner', id: 'dr-b', org: 'org-b' };
    assert.deepEqual(
      decide(chain, drBatB, { time: time + BTG_MINUTES_MAX * MINUTE - 1 }),
      permit(basis('break-the-glass', { breakTheGlassId: idOf(longest) })),
    );
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a', org: 'org-a' }, { time: time + MINUTE }),
      deny('denied:no-consent'),
    );
  });

  test("refusal order: a malformed body before the signer, the signer and practitioner before the window's range", () => {
    const { chain, orgA, drA, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const statuses = chain.run(
      drA.tx('access.break-the-glass', btgBody({ minutes: -1 })),
      drA.tx('access.break-the-glass', btgBody({ minutes: 0 })),
      breakGlass(orgA, { principal: who('auditor', 'aud-1'), minutes: 0 }),
      breakGlass(orgA, { principal: who('practitioner', 'dr-nobody'), minutes: 0 }),
      breakGlass(orgA, { patientId: 'patient-nobody', minutes: 0 }),
    );
    assert.deepEqual(statuses, [
      'invalid:bad-body',
      'denied:not-an-organisation',
      'denied:not-a-practitioner',
      'denied:unknown-principal',
      'invalid:bad-body',
    ]);
  });

  test('refusals: not an organisation, not a practitioner, an unknown patient, malformed bodies; nothing is written', () => {
    const { chain, orgA, orgB, drA, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const count = auditCount(chain, 'patient-1');
    const statuses = chain.run(
      breakGlass(drA),
      breakGlass(patient),
      breakGlass(orgA, { principal: who('system', 'org-a') }),
      breakGlass(orgA, { principal: who('auditor', 'aud-1') }),
      breakGlass(orgA, { principal: who('patient', 'patient-1') }),
      breakGlass(orgB, { principal: who('patient', 'patient-1') }),
      breakGlass(orgA, { patientId: 'patient-9' }),
    );
    assert.deepEqual(statuses, [
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:not-a-practitioner',
      'denied:not-a-practitioner',
      'denied:not-a-practitioner',
      'denied:not-home-organisation',
      'denied:no-such-patient',
    ]);
    const bad: JsonObject[] = [
      btgBody({ note: 'x' }),
      ...Object.keys(BTG).map((field) => without(BTG, field)),
      btgBody({ principal: 'dr-a' }),
      btgBody({ principal: { kind: 'practitioner', id: 'dr-a', org: 'org-a' } }),
      btgBody({ principal: who('practitioner', 'DR-A') }),
      btgBody({ patientId: 'Patient-1' }),
      btgBody({ patientId: 1 }),
      btgBody({ purpose: '' }),
      btgBody({ purpose: 'E TREAT' }),
      btgBody({ reason: 'Unconscious in the emergency department' }),
      btgBody({ reason: '' }),
      btgBody({ reason: 5 }),
      btgBody({ reason: null }),
      btgBody({ reason: { ...REASON, text: 'x' } }),
      btgBody({ reason: without(REASON, 'commitment') }),
      btgBody({ reason: { ...REASON, ciphertextHash: 'A'.repeat(64) } }),
      btgBody({ reason: { ...REASON, ciphertextSize: 0 } }),
      btgBody({ reason: { ...REASON, ciphertextSize: NOTE_CIPHERTEXT_BYTES_MAX + 1 } }),
      btgBody({ reason: { ...REASON, envelopes: [] } }),
      btgBody({ minutes: 1.5 }),
      btgBody({ minutes: '60' }),
      btgBody({ minutes: null }),
      btgBody({ minutes: -1 }),
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => orgA.tx('access.break-the-glass', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    assert.equal(auditCount(chain, 'patient-1'), count);
    assert.equal(chain.tables.get(BTG_TABLE)?.size ?? 0, 0);
    const largest = breakGlass(orgA, {
      reason: { ...REASON, ciphertextSize: NOTE_CIPHERTEXT_BYTES_MAX },
    });
    assert.deepEqual(chain.run(largest), ['ok']);
    assert.equal(btgRow(chain, idOf(largest))?.reason.ciphertextSize, NOTE_CIPHERTEXT_BYTES_MAX);
  });

  test("the reason is sealed to exactly the patient and the practitioner's organisation: no reader more, none fewer", () => {
    const { chain, orgA, orgC, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const readers = [
      [patient.encryptionKey],
      [orgA.encryptionKey],
      [patient.encryptionKey, orgA.encryptionKey, orgC.encryptionKey],
      [patient.encryptionKey, orgC.encryptionKey],
      [ORG_B.encryptionKey, orgA.encryptionKey],
    ];
    const statuses = chain.run(
      ...readers.map((keys) => breakGlass(orgA, { reason: sealedTo(keys) })),
    );
    assert.deepEqual(
      statuses,
      readers.map(() => 'invalid:note-recipients'),
    );
    assert.equal(chain.tables.get(BTG_TABLE)?.size ?? 0, 0);
  });
});

describe('access.review-break-the-glass', () => {
  test("the practitioner's organisation reviews a granted break-the-glass once: the row, the queue and the trail", () => {
    const { chain, orgA, orgB, drA, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    const granted = breakGlass(orgA);
    const other = breakGlass(orgA, { principal: who('practitioner', 'dr-a2') });
    assert.deepEqual(chain.run(granted, other), ['ok', 'ok']);
    const btgId = idOf(granted);
    const before = btgRow(chain, btgId);
    const count = auditCount(chain, 'patient-1');
    const refused = chain.run(
      review(orgB, btgId),
      review(drA, btgId),
      review(patient, btgId),
      review(orgA, 'ab'.repeat(32)),
      review(orgA, btgId, { note: sealedTo([orgA.encryptionKey]) }),
    );
    assert.deepEqual(refused, [
      'denied:no-such-break-the-glass',
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:no-such-break-the-glass',
      'invalid:note-recipients',
    ]);
    const time = chain.time;
    const note = sealedTo([patient.encryptionKey, orgA.encryptionKey], 'b');
    const tx = review(orgA, btgId, { note });
    const execution = chain.execute([tx, review(orgA, btgId, { justified: false })]);
    assert.deepEqual(execution.statuses, ['ok', 'denied:already-reviewed']);
    assert.deepEqual(execution.events, [
      { type: 'access.break-the-glass-reviewed', subject: 'patient-1' },
    ]);
    assert.deepEqual(btgRow(chain, btgId), {
      ...before,
      review: { justified: true, note, at: time },
    });
    assert.equal(
      chain.get(BTG_REVIEW_TABLE, `org-a|${btgId}`),
      undefined,
      'it leaves the review queue',
    );
    assert.deepEqual(
      chain.get(BTG_REVIEW_TABLE, `org-a|${idOf(other)}`),
      { btgId: idOf(other) },
      'the other stays queued',
    );
    assert.deepEqual(entriesSince(chain, 'patient-1', count), [
      {
        seq: count + 1,
        kind: 'break-the-glass-review',
        txId: idOf(tx),
        time,
        actor: { role: 'org', subject: 'org-a', org: 'org-a' },
        recordId: null,
        version: null,
        purpose: null,
        outcome: 'permit',
        reason: 'justified',
        basis: null,
        released: null,
      },
    ]);
    assert.deepEqual(chain.run(review(orgA, btgId)), ['denied:already-reviewed']);
    const unjustified = review(orgA, idOf(other), { justified: false });
    assert.deepEqual(chain.run(unjustified), ['ok']);
    assert.deepEqual(
      [btgRow(chain, idOf(other))?.review?.justified, btgRow(chain, idOf(other))?.review?.note],
      [false, null],
    );
    assert.deepEqual(
      [entry(chain, 'patient-1', count + 2)?.outcome, entry(chain, 'patient-1', count + 2)?.reason],
      ['deny', 'not justified'],
    );
    assert.equal(chain.tables.get(BTG_REVIEW_TABLE)?.size ?? 0, 0);
  });

  test('a denied break-the-glass is not reviewed; malformed bodies are invalid', () => {
    const { chain, orgA } = withRecords();
    const denied = breakGlass(orgA);
    assert.deepEqual(chain.run(denied), ['ok']);
    const btgId = idOf(denied);
    assert.equal(btgRow(chain, btgId)?.outcome, 'deny');
    assert.deepEqual(chain.run(review(orgA, btgId)), ['denied:no-such-break-the-glass']);
    const base: JsonObject = { btgId, justified: true };
    const bad: JsonObject[] = [
      {},
      { justified: true },
      { btgId },
      { ...base, extra: 1 },
      { ...base, btgId: btgId.toUpperCase() },
      { ...base, btgId: btgId.slice(2) },
      { ...base, btgId: 7 },
      { ...base, justified: 'yes' },
      { ...base, justified: null },
      { ...base, note: '' },
      { ...base, note: null },
      { ...base, note: 'Cardiac arrest; confirmed with the attending' },
      { ...base, note: { ...REASON, envelopes: 'none' } },
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => orgA.tx('access.review-break-the-glass', body))),
      bad.map(() => 'invalid:bad-body'),
    );
  });
});

describe('decideAccess across organisations', () => {
  const drBatB: Principal = { kind: 'practitioner', id: 'dr-b', org: 'org-b' };

  test("a grantee of another organisation also needs an active agreement from the record's organisation to theirs", () => {
    const { chain, orgA, orgB, orgC, drB, otherPatient: patient } = withRecords();
    // obs-2 is patient-2's, written by org-a, their home; patient-2 has no grants in world().
    const decideObs2 = (principal: Principal, extra: Partial<AccessRequest> = {}): AccessDecision =>
      decide(chain, principal, { recordId: 'obs-2', ...extra });
    assert.deepEqual(decideObs2(drBatB), deny('denied:no-consent'));
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB)), ['ok']);
    assert.deepEqual(
      decideObs2(drBatB),
      deny('denied:no-agreement'),
      'consent alone is not enough across organisations',
    );
    const terms = (extra: JsonObject = {}): JsonObject => ({
      resourceTypes: [],
      excludeLabels: [],
      purposes: ['TREAT'],
      period: { start: T0, end: null },
      redisclosure: false,
      ...extra,
    });
    const propose = (
      by: Actor,
      agreementId: string,
      discloser: Actor,
      recipient: Actor,
      extra: JsonObject = {},
    ): Transaction =>
      by.tx('agreements.propose', {
        agreementId,
        discloser: discloser.id,
        recipient: recipient.id,
        terms: terms(extra),
      });
    assert.deepEqual(
      chain.run(
        propose(orgB, 'dsa-back', orgB, orgA),
        propose(orgA, 'dsa-c', orgA, orgC),
        propose(orgA, 'dsa-1', orgA, orgB),
      ),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(
      decideObs2(drBatB),
      deny('denied:no-agreement'),
      'proposed only, or in the other direction, or to another organisation',
    );
    assert.deepEqual(chain.run(orgB.tx('agreements.countersign', { agreementId: 'dsa-1' })), [
      'ok',
    ]);
    assert.deepEqual(
      decideObs2(drBatB),
      permit(basis('consent', { grantId: 'g-b', agreementId: 'dsa-1' })),
    );
    assert.deepEqual(
      decideObs2(drBatB, { purpose: 'HPAYMT' }),
      deny('denied:purpose-not-permitted'),
      'the consent reason comes first',
    );
    assert.deepEqual(
      decideObs2({ kind: 'practitioner', id: 'dr-a', org: 'org-a' }),
      deny('denied:no-consent'),
      'no agreement covers a missing grant',
    );

    const count = auditCount(chain, 'patient-2');
    const time = chain.time;
    const logged = log(orgB, { principal: who('practitioner', 'dr-b'), recordId: 'obs-2' });
    assert.deepEqual(chain.run(logged), ['ok']);
    const expected = accessEntry(
      count + 1,
      logged,
      time,
      drBatB,
      permit(basis('consent', { grantId: 'g-b', agreementId: 'dsa-1' })),
      { recordId: 'obs-2' },
    );
    assert.deepEqual(entry(chain, 'patient-2', count + 1), expected);
    assert.deepEqual(chain.run(orgA.tx('agreements.terminate', { agreementId: 'dsa-1' })), ['ok']);
    assert.deepEqual(decideObs2(drBatB), deny('denied:no-agreement'));
  });

  test("the agreement's own reasons: expired, purpose, label; the most specific one is reported", () => {
    const { chain, orgA, orgB, drA, drB, patient } = withRecords();
    const psy = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };
    assert.deepEqual(
      chain.run(
        drA.tx(
          'records.anchor',
          anchorBody('psy-1', patient, [patient, orgA], { securityLabels: [psy] }),
        ),
      ),
      ['ok'],
    );
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB, { purposes: ['TREAT', 'HPAYMT'] })), [
      'ok',
    ]);
    const ends = chain.time + 2000;
    const activate = (agreementId: string, extra: JsonObject): void => {
      const terms = {
        resourceTypes: [],
        excludeLabels: [],
        purposes: ['TREAT'],
        period: { start: T0, end: null },
        redisclosure: false,
        ...extra,
      };
      assert.deepEqual(
        chain.run(
          orgA.tx('agreements.propose', {
            agreementId,
            discloser: 'org-a',
            recipient: 'org-b',
            terms,
          }),
        ),
        ['ok'],
      );
      assert.deepEqual(chain.run(orgB.tx('agreements.countersign', { agreementId })), ['ok']);
    };
    activate('dsa-1', { excludeLabels: ['PSY'], period: { start: T0, end: ends + 10_000 } });
    assert.deepEqual(decide(chain, drBatB, { recordId: 'psy-1' }), deny('denied:agreement-label'));
    assert.deepEqual(
      decide(chain, drBatB, { purpose: 'HPAYMT' }),
      deny('denied:agreement-purpose'),
    );
    assert.deepEqual(
      decide(chain, drBatB),
      permit(basis('consent', { grantId: 'g-b', agreementId: 'dsa-1' })),
    );
    assert.deepEqual(
      decide(chain, drBatB, { time: ends + 10_000 }),
      deny('denied:agreement-expired'),
    );
    assert.deepEqual(chain.run(patient.tx('consent.set-break-the-glass', { optIn: true })), ['ok']);
    const glass = breakGlass(orgB, { principal: who('practitioner', 'dr-b') });
    assert.deepEqual(chain.run(glass), ['ok']);
    assert.deepEqual(
      decide(chain, drBatB, { recordId: 'psy-1' }),
      permit(basis('break-the-glass', { breakTheGlassId: idOf(glass) })),
      'break-the-glass covers what no agreement does',
    );
  });
});

describe('regressions', () => {
  test('an out-of-range version is a bad body, never an exception that halts block execution', () => {
    const { chain, orgA, patient, drA } = withRecords();
    assert.deepEqual(
      chain.run(
        log(orgA, { version: 0 }),
        log(orgA, { version: 10 ** 10 }),
        log(orgA, { version: 2 ** 53 }),
      ),
      ['invalid:bad-body', 'invalid:bad-body', 'invalid:bad-body'],
    );
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a', org: 'org-a' }, { version: 10 ** 10 }),
      deny('denied:no-such-version'),
    );
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-a', org: 'org-a' }, { version: 0.5 }),
      deny('denied:no-such-version'),
    );
    assert.deepEqual(chain.run(grant(patient, 'grant-dr-a', drA)), ['ok']);
    const share = {
      recordId: 'obs-1',
      version: 10 ** 10,
      enc: 'ab'.repeat(32),
      wrappedKey: 'cd'.repeat(48),
    };
    assert.deepEqual(
      chain.run(patient.tx('records.share-keys', { grantId: 'grant-dr-a', shares: [share] })),
      ['invalid:bad-body'],
    );
  });

  test("an organisation cannot break the glass for another organisation's practitioner, nor open a window that reader can use", () => {
    const { chain, orgA, orgB, patient } = withRecords();
    assert.deepEqual(chain.run(optIn(patient)), ['ok']);
    assert.deepEqual(
      chain.run(
        breakGlass(orgA, { principal: who('practitioner', 'dr-b') }),
        breakGlass(orgA, { principal: who('practitioner', 'dr-nobody') }),
      ),
      ['denied:unknown-principal', 'denied:unknown-principal'],
    );
    assert.equal(chain.get(BTG_ACTIVE_TABLE, 'patient-1|dr-b'), undefined);
    // org-b's own request for dr-b is granted, and only dr-b at org-b may use it.
    const own = breakGlass(orgB, { principal: who('practitioner', 'dr-b') });
    assert.deepEqual(chain.run(own), ['ok']);
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-b', org: 'org-b' }, { purpose: 'ETREAT' }),
      permit(basis('break-the-glass', { breakTheGlassId: idOf(own) })),
    );
    assert.deepEqual(
      decide(chain, { kind: 'practitioner', id: 'dr-b', org: 'org-a' }, { purpose: 'ETREAT' }),
      deny('denied:unknown-principal'),
    );
  });
});

describe("decideAccess at the patient's home organisation", () => {
  const drAatA: Principal = { kind: 'practitioner', id: 'dr-a', org: 'org-a' };
  const drA2atA: Principal = { kind: 'practitioner', id: 'dr-a2', org: 'org-a' };
  const systemA: Principal = { kind: 'system', id: 'org-a', org: 'org-a' };
  const drBatB: Principal = { kind: 'practitioner', id: 'dr-b', org: 'org-b' };
  const home = permit(basis('home-organisation'));
  const restrict = (patient: Actor, restrictionId: string, extra: JsonObject = {}): Transaction =>
    patient.tx('consent.restrict', {
      restrictionId,
      resourceTypes: [],
      labels: [],
      practitionerIds: [],
      ...extra,
    });
  const lift = (patient: Actor, restrictionId: string): Transaction =>
    patient.tx('consent.lift-restriction', { restrictionId });

  /** withRecords(), founded opt-out. */
  function optOut(): World {
    const w = world({ consentModel: 'opt-out' });
    const { chain, orgA, drA, patient, otherPatient } = w;
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
        drA.tx('records.anchor', anchorBody('obs-2', otherPatient, [otherPatient, orgA])),
      ),
      ['ok', 'ok'],
    );
    return w;
  }

  test('opt-out: its practitioners and system client read for treatment, payment and operations without a grant; other purposes and organisations need one', () => {
    const { chain, orgA } = optOut();
    for (const purpose of ['TREAT', 'HPAYMT', 'HOPERAT']) {
      assert.deepEqual(decide(chain, drAatA, { purpose }), home, purpose);
      assert.deepEqual(decide(chain, systemA, { purpose }), home, purpose);
    }
    assert.deepEqual(
      decide(chain, drAatA, { purpose: 'ETREAT' }),
      deny('denied:no-consent'),
      'an emergency is break-the-glass, as before',
    );
    assert.deepEqual(
      decide(chain, drAatA, { purpose: 'HRESCH' }),
      deny('denied:no-consent'),
      'research needs a grant',
    );
    assert.deepEqual(
      decide(chain, drBatB),
      deny('denied:action-not-permitted'),
      'another organisation needs a read grant (org-b holds a write grant only)',
    );
    const time = chain.time;
    const logged = log(orgA);
    assert.deepEqual(chain.run(logged), ['ok']);
    assert.deepEqual(
      entry(chain, 'patient-1', auditCount(chain, 'patient-1')),
      accessEntry(auditCount(chain, 'patient-1'), logged, time, drAatA, home),
      'the trail says why',
    );
  });

  test('opt-in (and a genesis that names no model): the home organisation needs a grant like anyone else', () => {
    for (const w of [
      withRecords(),
      (() => {
        const x = world({ consentModel: 'opt-in' });
        assert.deepEqual(
          x.chain.run(
            x.drA.tx('records.anchor', anchorBody('obs-1', x.patient, [x.patient, x.orgA])),
          ),
          ['ok'],
        );
        return x;
      })(),
    ]) {
      assert.deepEqual(decide(w.chain, drAatA), deny('denied:no-consent'));
      assert.deepEqual(decide(w.chain, systemA), deny('denied:no-consent'));
      assert.deepEqual(w.chain.run(grant(w.patient, 'g-a', w.orgA)), ['ok']);
      assert.deepEqual(decide(w.chain, drAatA), permit(basis('consent', { grantId: 'g-a' })));
    }
  });

  test('a restriction by resource type, label or practitioner denies what it covers, grant or not, until lifted', () => {
    const { chain, orgA, patient } = optOut();
    assert.deepEqual(chain.run(restrict(patient, 'r-type', { resourceTypes: ['Observation'] })), [
      'ok',
    ]);
    assert.deepEqual(decide(chain, drAatA), deny('denied:restricted-by-patient'));
    assert.deepEqual(decide(chain, systemA), deny('denied:restricted-by-patient'));
    assert.deepEqual(chain.run(grant(patient, 'g-a', orgA)), ['ok']);
    assert.deepEqual(
      decide(chain, drAatA),
      deny('denied:restricted-by-patient'),
      'the restriction wins over a grant at the home organisation',
    );
    assert.deepEqual(
      chain.run(lift(patient, 'r-type'), restrict(patient, 'r-label', { labels: ['N'] })),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      decide(chain, drAatA),
      deny('denied:restricted-by-patient'),
      'obs-1 is labelled N',
    );
    assert.deepEqual(
      chain.run(
        lift(patient, 'r-label'),
        restrict(patient, 'r-who', { practitionerIds: ['dr-a2'] }),
      ),
      ['ok', 'ok'],
    );
    assert.deepEqual(decide(chain, drA2atA), deny('denied:restricted-by-patient'));
    assert.deepEqual(decide(chain, drAatA), home, 'another practitioner is not named');
    assert.deepEqual(
      decide(chain, drAatA, { recordId: 'obs-2' }),
      home,
      "another patient's restriction does not apply",
    );
    assert.deepEqual(chain.run(lift(patient, 'r-who')), ['ok']);
    assert.deepEqual(decide(chain, drA2atA), home);
  });

  test('a restriction holds in an opt-in network too, and break-the-glass still opens a restricted chart', () => {
    const { chain, orgA, patient } = withRecords();
    assert.deepEqual(chain.run(grant(patient, 'g-a', orgA), restrict(patient, 'r-all')), [
      'ok',
      'ok',
    ]);
    assert.deepEqual(decide(chain, drAatA), deny('denied:restricted-by-patient'));
    const glass = breakGlass(orgA);
    assert.deepEqual(chain.run(optIn(patient), glass), ['ok', 'ok']);
    assert.deepEqual(
      decide(chain, drAatA),
      permit(basis('break-the-glass', { breakTheGlassId: idOf(glass) })),
    );
    assert.deepEqual(decide(chain, drA2atA), deny('denied:restricted-by-patient'));
  });

  test("opt-out: another organisation still needs the patient's grant and an agreement; a restriction does not touch it", () => {
    const { chain, orgA, orgB, drB, patient } = optOut();
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB), restrict(patient, 'r-all')), [
      'ok',
      'ok',
    ]);
    assert.deepEqual(decide(chain, drBatB), deny('denied:no-agreement'));
    const terms = {
      resourceTypes: [],
      excludeLabels: [],
      purposes: ['TREAT'],
      period: { start: T0, end: null },
      redisclosure: false,
    };
    assert.deepEqual(
      chain.run(
        orgA.tx('agreements.propose', {
          agreementId: 'dsa-1',
          discloser: 'org-a',
          recipient: 'org-b',
          terms,
        }),
      ),
      ['ok'],
    );
    assert.deepEqual(chain.run(orgB.tx('agreements.countersign', { agreementId: 'dsa-1' })), [
      'ok',
    ]);
    assert.deepEqual(
      decide(chain, drBatB),
      permit(basis('consent', { grantId: 'g-b', agreementId: 'dsa-1' })),
    );
  });

  test('opt-out: a version written by another organisation must be wrapped for the home organisation too, which then reads it', () => {
    const { chain, orgA, orgB, drB, patient } = optOut();
    // world() gave org-b a write grant on patient-1's chart.
    assert.deepEqual(
      chain.run(drB.tx('records.anchor', anchorBody('obs-b', patient, [patient, orgB]))),
      ['denied:missing-envelope'],
    );
    assert.deepEqual(
      chain.run(drB.tx('records.anchor', anchorBody('obs-b', patient, [patient, orgB, orgA]))),
      ['ok'],
    );
    assert.deepEqual(
      decide(chain, drAatA, { recordId: 'obs-b' }),
      home,
      'the home organisation keeps the chart: no agreement with the author',
    );
    const optIn = withRecords();
    assert.deepEqual(
      optIn.chain.run(
        optIn.drB.tx(
          'records.anchor',
          anchorBody('obs-b', optIn.patient, [optIn.patient, optIn.orgB]),
        ),
      ),
      ['ok'],
      'opt-in: as before',
    );
  });
});
