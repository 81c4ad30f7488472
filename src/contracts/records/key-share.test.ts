import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fromHex,
  fromUtf8,
  openRecordContent,
  recordAad,
  sealRecordContent,
  sha256Hex,
  unwrapDataKey,
  utf8,
  wrapDataKey,
} from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, type AuditEntry } from '../audit/index.js';
import { ENVELOPE_COUNT_MAX, KEY_SHARE_COUNT_MAX } from '../../ledger/index.js';
import { requiredRecipients } from './recipients.js';
import { VERSION_TABLE, type KeyEnvelope } from './tables.js';
import {
  anchorBody,
  idOf,
  supersedeBody,
  T0,
  world,
  type Actor,
  type TestChain,
} from './test-fixture.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const without = (body: JsonObject, field: string): JsonObject =>
  Object.fromEntries(
    Object.keys(body)
      .filter((key) => key !== field)
      .map((key) => [key, body[key]!]),
  );
const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

/** A read grant body from the patient to `grantee`, open-ended from T0, for treatment. */
const readGrant = (grantId: string, grantee: Actor, extra: JsonObject = {}): JsonObject => ({
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
const grant = (by: Actor, grantId: string, grantee: Actor, extra: JsonObject = {}): Transaction =>
  by.tx('consent.grant', readGrant(grantId, grantee, extra));

/** A well-formed share of `version` of `recordId`, its bytes placeholders unless given. */
const share = (
  recordId: string,
  version: number,
  wrapped: { enc: string; wrappedKey: string } = {
    enc: sha256Hex(`enc:${recordId}/${version}`),
    wrappedKey: 'cd'.repeat(48),
  },
): JsonObject => ({ recordId, version, ...wrapped });
const shareKeys = (by: Actor, grantId: string, shares: JsonObject[]): Transaction =>
  by.tx('records.share-keys', { grantId, shares });

const envelopeFor = (
  chain: TestChain,
  recordId: string,
  version: number,
  recipient: Actor,
): KeyEnvelope | undefined =>
  chain
    .version(recordId, version)
    ?.envelopes.find((envelope) => envelope.recipient === recipient.encryptionKey);
const lastEntry = (chain: TestChain, patientId: string): AuditEntry =>
  chain.get(
    AUDIT_ENTRY_TABLE,
    auditKey(patientId, auditCount(chain, patientId)),
  ) as unknown as AuditEntry;
const versionRows = (chain: TestChain): Map<string, unknown> =>
  new Map(chain.tables.get(VERSION_TABLE));

/** Content for `version` of `recordId` sealed with a fresh data key, wrapped with real HPKE for `recipients`. */
function sealVersion(
  recordId: string,
  version: number,
  recipients: readonly Actor[],
  resourceType = 'Observation',
) {
  const aad = recordAad({ recordId, version, resourceType });
  const plaintext = JSON.stringify({ resourceType, id: recordId, version });
  const { dataKey, sealed } = sealRecordContent(utf8(plaintext), aad);
  const envelopes = recipients.map((recipient) => ({
    recipient: recipient.encryptionKey,
    ...wrapDataKey(dataKey, fromHex(recipient.encryptionKey), aad),
  }));
  const content = {
    ciphertextHash: sha256Hex(sealed),
    ciphertextSize: sealed.byteLength,
    commitment: sha256Hex(`commitment:${recordId}/${version}`),
    securityLabels: [],
    envelopes,
  };
  return { aad, plaintext, dataKey, sealed, content };
}

describe('records.share-keys', () => {
  test('the patient re-wraps data keys from the chain for a practitioner grantee, who unwraps them from the chain', () => {
    const { chain, orgA, drA, drB, patient } = world();
    const v1 = sealVersion('obs-1', 1, [patient, orgA]);
    const v2 = sealVersion('obs-1', 2, [patient, orgA]);
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', {
          recordId: 'obs-1',
          patientId: 'patient-1',
          resourceType: 'Observation',
          version: 1,
          ...v1.content,
        }),
      ),
      ['ok'],
    );
    assert.deepEqual(
      chain.run(drA.tx('records.supersede', { recordId: 'obs-1', version: 2, ...v2.content })),
      ['ok'],
    );
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB)), ['ok']);
    assert.equal(
      envelopeFor(chain, 'obs-1', 1, drB),
      undefined,
      'nothing is shared before the patient shares it',
    );
    const before = [chain.version('obs-1', 1)!, chain.version('obs-1', 2)!];
    const record = chain.record('obs-1');
    // The patient's key holder reads its own envelopes from the chain and re-wraps the keys for the grantee.
    const shares = [v1, v2].map(({ aad }, i) => {
      const own = envelopeFor(chain, 'obs-1', i + 1, patient);
      assert.ok(own);
      return share(
        'obs-1',
        i + 1,
        wrapDataKey(
          unwrapDataKey(own, patient.encryption.privateKey, aad),
          fromHex(drB.encryptionKey),
          aad,
        ),
      );
    });
    const time = chain.time;
    const tx = shareKeys(patient, 'g-b', shares);
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'records.keys-shared', subject: 'g-b' }]);
    [v1, v2].forEach(({ aad, dataKey, sealed, plaintext }, i) => {
      const { enc, wrappedKey } = shares[i] as { enc: string; wrappedKey: string };
      assert.deepEqual(
        chain.version('obs-1', i + 1),
        {
          ...before[i],
          envelopes: [...before[i]!.envelopes, { recipient: drB.encryptionKey, enc, wrappedKey }],
        },
        'only the envelope is added',
      );
      const stored = envelopeFor(chain, 'obs-1', i + 1, drB);
      assert.ok(stored);
      const key = unwrapDataKey(stored, drB.encryption.privateKey, aad);
      assert.deepEqual(key, dataKey);
      assert.equal(fromUtf8(openRecordContent(sealed, key, aad)), plaintext);
    });
    assert.throws(
      () => unwrapDataKey(envelopeFor(chain, 'obs-1', 1, drB)!, drB.encryption.privateKey, v2.aad),
      'a key is bound to its version',
    );
    assert.deepEqual(chain.record('obs-1'), record, 'the record row is untouched');
    assert.deepEqual(lastEntry(chain, 'patient-1'), {
      seq: auditCount(chain, 'patient-1'),
      kind: 'key-share',
      txId: idOf(tx),
      time,
      actor: { role: 'patient', subject: 'patient-1', org: 'org-a' },
      recordId: null,
      version: null,
      purpose: null,
      outcome: null,
      reason: 'g-b',
      basis: null,
      released: null,
    });
  });

  test('an organisation grantee gets an envelope for its organisation key; a custodial patient shares too', () => {
    const { chain, orgA, orgC, drA, otherPatient } = world();
    const v1 = sealVersion('cond-1', 1, [otherPatient, orgA], 'Condition');
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', {
          recordId: 'cond-1',
          patientId: 'patient-2',
          resourceType: 'Condition',
          version: 1,
          ...v1.content,
        }),
      ),
      ['ok'],
    );
    assert.deepEqual(chain.run(grant(otherPatient, 'g-c', orgC)), ['ok']);
    const own = envelopeFor(chain, 'cond-1', 1, otherPatient)!;
    const wrapped = wrapDataKey(
      unwrapDataKey(own, otherPatient.encryption.privateKey, v1.aad),
      fromHex(orgC.encryptionKey),
      v1.aad,
    );
    assert.deepEqual(chain.run(shareKeys(otherPatient, 'g-c', [share('cond-1', 1, wrapped)])), [
      'ok',
    ]);
    assert.deepEqual(
      unwrapDataKey(envelopeFor(chain, 'cond-1', 1, orgC)!, orgC.encryption.privateKey, v1.aad),
      v1.dataKey,
    );
    assert.equal(lastEntry(chain, 'patient-2').kind, 'key-share');
  });

  test("denials: not a patient, another patient's or an unknown grant, a revoked or write-only grant, another patient's or an unknown record", () => {
    const { chain, orgA, drA, drB, patient, otherPatient } = world();
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
        drA.tx('records.anchor', anchorBody('obs-2', otherPatient, [otherPatient, orgA])),
      ),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-read', drB),
        grant(patient, 'g-write', drB, { actions: ['write'] }),
        grant(patient, 'g-rev', drB),
        grant(otherPatient, 'g-other', drB),
        patient.tx('consent.revoke', { grantId: 'g-rev' }),
      ),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    const versions = versionRows(chain);
    const trails = [auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')];
    const statuses = chain.run(
      shareKeys(drA, 'g-read', [share('obs-1', 1)]),
      shareKeys(drB, 'g-read', [share('obs-1', 1)]),
      shareKeys(orgA, 'g-read', [share('obs-1', 1)]),
      shareKeys(otherPatient, 'g-read', [share('obs-1', 1)]),
      shareKeys(patient, 'g-other', [share('obs-2', 1)]),
      shareKeys(patient, 'g-x', [share('obs-1', 1)]),
      shareKeys(patient, 'g-rev', [share('obs-1', 1)]),
      shareKeys(patient, 'g-write', [share('obs-1', 1)]),
      shareKeys(patient, 'g-read', [share('obs-2', 1)]),
      shareKeys(patient, 'g-read', [share('obs-x', 1)]),
      shareKeys(otherPatient, 'g-other', [share('obs-1', 1)]),
      shareKeys(patient, 'g-read', [share('obs-1', 1), share('obs-2', 1)]),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-patient',
      'denied:not-a-patient',
      'denied:not-a-patient',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'denied:no-such-grant',
      'denied:grant-not-readable',
      'denied:grant-not-readable',
      'denied:no-such-record',
      'denied:no-such-record',
      'denied:no-such-record',
      'denied:no-such-record',
    ]);
    assert.deepEqual(
      versionRows(chain),
      versions,
      'a refused share writes nothing, not even its valid shares',
    );
    assert.deepEqual([auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')], trails);
    assert.deepEqual(
      chain.run(
        shareKeys(patient, 'g-read', [share('obs-1', 1)]),
        shareKeys(otherPatient, 'g-other', [share('obs-2', 1)]),
      ),
      ['ok', 'ok'],
    );
  });

  test('a share never reaches further than the grant: resource type, record ids, excluded labels and period, at this block', () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
        drA.tx(
          'records.anchor',
          anchorBody('cond-1', patient, [patient, orgA], { resourceType: 'Condition' }),
        ),
        drA.tx(
          'records.anchor',
          anchorBody('psy-1', patient, [patient, orgA], { securityLabels: [PSY] }),
        ),
      ),
      ['ok', 'ok', 'ok'],
    );
    const granted = chain.time;
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-type', drB, { resourceTypes: ['Condition'] }),
        grant(patient, 'g-ids', drB, { recordIds: ['obs-2', 'psy-1'] }),
        grant(patient, 'g-label', drB, { excludeLabels: ['PSY'] }),
        grant(patient, 'g-ends', drB, { period: { start: T0, end: granted + 2000 } }),
        grant(patient, 'g-later', drB, { period: { start: granted + 1_000_000, end: null } }),
      ),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    const versions = versionRows(chain);
    const refused = chain.run(
      shareKeys(patient, 'g-type', [share('obs-1', 1)]),
      shareKeys(patient, 'g-ids', [share('obs-1', 1)]),
      shareKeys(patient, 'g-label', [share('psy-1', 1)]),
      shareKeys(patient, 'g-label', [share('obs-1', 1), share('psy-1', 1)]),
      shareKeys(patient, 'g-later', [share('obs-1', 1)]),
    );
    assert.deepEqual(refused, [
      'denied:out-of-scope',
      'denied:out-of-scope',
      'denied:label-excluded',
      'denied:label-excluded',
      'denied:consent-not-started',
    ]);
    assert.deepEqual(versionRows(chain), versions);
    assert.equal(chain.time, granted + 2000, 'g-ends is over at this block');
    assert.deepEqual(chain.run(shareKeys(patient, 'g-ends', [share('obs-1', 1)])), [
      'denied:consent-expired',
    ]);
    const covered = chain.run(
      shareKeys(patient, 'g-type', [share('cond-1', 1)]),
      shareKeys(patient, 'g-ids', [share('psy-1', 1)]),
      shareKeys(patient, 'g-label', [share('obs-1', 1)]),
    );
    assert.deepEqual(covered, ['ok', 'ok', 'ok']);
    assert.ok(
      envelopeFor(chain, 'cond-1', 1, drB) &&
        envelopeFor(chain, 'psy-1', 1, drB) &&
        envelopeFor(chain, 'obs-1', 1, drB),
    );
  });

  test("a tombstone or a version not written has no key to share; nor has an erased record; a deleted record's history still has", () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
        drA.tx('records.anchor', anchorBody('obs-2', patient, [patient, orgA])),
      ),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      chain.run(
        drA.tx('records.tombstone', { recordId: 'obs-1', version: 2 }),
        patient.tx('records.erase', { recordId: 'obs-2' }),
        grant(patient, 'g-b', drB),
      ),
      ['ok', 'ok', 'ok'],
    );
    const statuses = chain.run(
      shareKeys(patient, 'g-b', [share('obs-1', 2)]),
      shareKeys(patient, 'g-b', [share('obs-1', 3)]),
      shareKeys(patient, 'g-b', [share('obs-2', 1)]),
      shareKeys(patient, 'g-b', [share('obs-1', 1)]),
    );
    assert.deepEqual(statuses, [
      'denied:no-such-version',
      'denied:no-such-version',
      'denied:record-erased',
      'ok',
    ]);
    assert.deepEqual(
      chain.version('obs-1', 2)?.envelopes,
      [],
      'the tombstone stays without envelopes',
    );
    assert.equal(envelopeFor(chain, 'obs-2', 1, drB), undefined);
    assert.ok(envelopeFor(chain, 'obs-1', 1, drB));
  });

  test('malformed bodies are invalid; every limit is inclusive', () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]))),
      ['ok'],
    );
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB)), ['ok']);
    const one = share('obs-1', 1);
    const base: JsonObject = { grantId: 'g-b', shares: [one] };
    const withShare = (item: JsonObject | string | null): JsonObject => ({
      ...base,
      shares: [item],
    });
    const bad: JsonObject[] = [
      { ...base, note: 'x' },
      without(base, 'grantId'),
      without(base, 'shares'),
      { ...base, grantId: 'G-B' },
      { ...base, grantId: 7 },
      { ...base, shares: [] },
      { ...base, shares: one },
      { ...base, shares: null },
      { ...base, shares: range(KEY_SHARE_COUNT_MAX + 1).map(() => one) },
      withShare(null),
      withShare('obs-1'),
      { ...base, shares: [[one]] },
      withShare({ ...one, recipient: drB.encryptionKey }),
      ...Object.keys(one).map((field) => withShare(without(one, field))),
      withShare({ ...one, recordId: '..' }),
      withShare({ ...one, recordId: 'a/b' }),
      withShare({ ...one, recordId: '' }),
      withShare({ ...one, recordId: 1 }),
      withShare({ ...one, version: 0 }),
      withShare({ ...one, version: -1 }),
      withShare({ ...one, version: 1.5 }),
      withShare({ ...one, version: '1' }),
      withShare({ ...one, version: null }),
      withShare({ ...one, enc: 'AB'.repeat(32) }),
      withShare({ ...one, enc: 'ab'.repeat(31) }),
      withShare({ ...one, enc: 'ab'.repeat(33) }),
      withShare({ ...one, wrappedKey: 'ab'.repeat(32) }),
      withShare({ ...one, wrappedKey: 'ab'.repeat(49) }),
      withShare({ ...one, wrappedKey: 'AB'.repeat(48) }),
      withShare({ ...one, wrappedKey: 5 }),
    ];
    const versions = versionRows(chain);
    assert.deepEqual(
      chain.run(...bad.map((body) => patient.tx('records.share-keys', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    assert.deepEqual(versionRows(chain), versions);
    const full = range(KEY_SHARE_COUNT_MAX).map((i) =>
      share('obs-1', 1, { enc: sha256Hex(`enc:${i}`), wrappedKey: 'ef'.repeat(48) }),
    );
    assert.deepEqual(chain.run(shareKeys(patient, 'g-b', full)), ['ok']);
    assert.equal(
      chain
        .version('obs-1', 1)
        ?.envelopes.filter((envelope) => envelope.recipient === drB.encryptionKey).length,
      1,
      'one envelope per recipient, however often it is named',
    );
  });

  test('sharing is idempotent: a recipient that already has an envelope keeps it, and the version is not rewritten', () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]))),
      ['ok'],
    );
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB)), ['ok']);
    const first = share('obs-1', 1, { enc: sha256Hex('first'), wrappedKey: '01'.repeat(48) });
    const second = share('obs-1', 1, { enc: sha256Hex('second'), wrappedKey: '02'.repeat(48) });
    assert.deepEqual(chain.run(shareKeys(patient, 'g-b', [first])), ['ok']);
    const shared = chain.version('obs-1', 1);
    assert.equal(shared?.envelopes.length, 3);
    const trail = auditCount(chain, 'patient-1');
    const execution = chain.execute([
      shareKeys(patient, 'g-b', [second]),
      shareKeys(patient, 'g-b', [first, second]),
    ]);
    assert.deepEqual(execution.statuses, ['ok', 'ok']);
    assert.ok(
      !execution.writeSet.some(([table]) => table === VERSION_TABLE),
      'no version row is written',
    );
    assert.deepEqual(chain.version('obs-1', 1), shared);
    assert.deepEqual(envelopeFor(chain, 'obs-1', 1, drB), {
      recipient: drB.encryptionKey,
      enc: first['enc'],
      wrappedKey: first['wrappedKey'],
    });
    assert.equal(
      auditCount(chain, 'patient-1'),
      trail + 2,
      'each share transaction is still in the trail',
    );
    // An anchor written after the grant already carries the grantee's envelope: sharing adds nothing.
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-2', patient, [patient, orgA, drB]))),
      ['ok'],
    );
    const anchored = chain.version('obs-2', 1);
    assert.deepEqual(chain.run(shareKeys(patient, 'g-b', [share('obs-2', 1)])), ['ok']);
    assert.deepEqual(chain.version('obs-2', 1), anchored);
  });

  test(`a version holds at most ${ENVELOPE_COUNT_MAX} envelopes`, () => {
    const { chain, orgA, drA, drB, drA2, patient } = world();
    const others = (n: number): string[] => range(n).map((i) => sha256Hex(`recipient:${i}`));
    assert.deepEqual(
      chain.run(
        drA.tx(
          'records.anchor',
          anchorBody('obs-full', patient, [patient, orgA, ...others(ENVELOPE_COUNT_MAX - 2)]),
        ),
        drA.tx(
          'records.anchor',
          anchorBody('obs-room', patient, [patient, orgA, ...others(ENVELOPE_COUNT_MAX - 3)]),
        ),
      ),
      ['ok', 'ok'],
    );
    assert.deepEqual(chain.run(grant(patient, 'g-b', drB), grant(patient, 'g-a2', drA2)), [
      'ok',
      'ok',
    ]);
    assert.deepEqual(
      chain.run(
        shareKeys(patient, 'g-b', [share('obs-full', 1)]),
        shareKeys(patient, 'g-b', [share('obs-room', 1)]),
        shareKeys(patient, 'g-a2', [share('obs-room', 1)]),
      ),
      ['denied:too-many-envelopes', 'ok', 'denied:too-many-envelopes'],
    );
    assert.equal(chain.version('obs-full', 1)?.envelopes.length, ENVELOPE_COUNT_MAX);
    assert.equal(chain.version('obs-room', 1)?.envelopes.length, ENVELOPE_COUNT_MAX);
    assert.deepEqual(
      chain.run(shareKeys(patient, 'g-b', [share('obs-room', 1)])),
      ['ok'],
      'a recipient already wrapped for needs no room',
    );
  });
});

describe('requiredRecipients and consent', () => {
  const START = T0 + 100_000;
  const END = T0 + 200_000;
  const query = (extra: Partial<Parameters<typeof requiredRecipients>[1]> = {}) => ({
    patientId: 'patient-1',
    recordId: 'obs-1',
    resourceType: 'Observation',
    securityLabels: [],
    orgIds: ['org-a'],
    time: START,
    ...extra,
  });

  test("an active grant letting its grantee read the record adds the grantee's key; revoked, expired, out-of-scope and write-only grants do not", () => {
    const { chain, orgA, orgB, orgC, drA2, drB, patient, otherPatient } = world();
    const base = [patient.encryptionKey, orgA.encryptionKey].sort();
    const withKeys = (...actors: Actor[]): string[] =>
      [...base, ...actors.map((actor) => actor.encryptionKey)].sort();
    assert.deepEqual(requiredRecipients(chain, query()), base);
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-b', drB, {
          resourceTypes: ['Observation'],
          recordIds: ['obs-1', 'psy-1'],
          excludeLabels: ['PSY'],
          period: { start: START, end: END },
        }),
        grant(patient, 'g-c', orgC, { actions: ['write'] }),
        grant(otherPatient, 'g-other', drA2),
      ),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(requiredRecipients(chain, query()), withKeys(drB));
    assert.deepEqual(requiredRecipients(chain, query({ time: END - 1 })), withKeys(drB));
    assert.deepEqual(
      requiredRecipients(chain, query({ orgIds: ['org-b'] })),
      [patient, orgB, drB].map((actor) => actor.encryptionKey).sort(),
      'the writing organisation, not the home one',
    );
    assert.deepEqual(requiredRecipients(chain, query({ time: START - 1 })), base, 'not started');
    assert.deepEqual(requiredRecipients(chain, query({ time: END })), base, 'expired');
    assert.deepEqual(
      requiredRecipients(chain, query({ resourceType: 'Condition' })),
      base,
      'another resource type',
    );
    assert.deepEqual(
      requiredRecipients(chain, query({ recordId: 'obs-2' })),
      base,
      'another record',
    );
    assert.deepEqual(
      requiredRecipients(chain, query({ recordId: 'psy-1', securityLabels: [PSY] })),
      base,
      'an excluded label',
    );
    assert.deepEqual(
      requiredRecipients(chain, query({ patientId: 'patient-2' })),
      [otherPatient.encryptionKey, orgA.encryptionKey, drA2.encryptionKey].sort(),
      "each patient's own grants",
    );
    assert.deepEqual(chain.run(grant(patient, 'g-c2', orgC, { actions: ['read', 'write'] })), [
      'ok',
    ]);
    assert.deepEqual(
      requiredRecipients(chain, query()),
      withKeys(drB, orgC),
      'an organisation grantee',
    );
    assert.deepEqual(chain.run(patient.tx('consent.revoke', { grantId: 'g-b' })), ['ok']);
    assert.deepEqual(requiredRecipients(chain, query()), withKeys(orgC), 'revoked');
  });

  test('an anchor or supersede lacking an envelope for an active read grantee is refused with denied:missing-envelope', () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]))),
      ['ok'],
    );
    const ends = chain.time + 3000;
    assert.deepEqual(
      chain.run(
        grant(patient, 'g-b', drB, {
          resourceTypes: ['Observation'],
          period: { start: T0, end: ends },
        }),
      ),
      ['ok'],
    );
    const statuses = chain.run(
      drA.tx('records.anchor', anchorBody('obs-2', patient, [patient, orgA])),
      drA.tx('records.supersede', supersedeBody('obs-1', 2, [patient, orgA])),
      drA.tx(
        'records.anchor',
        anchorBody('cond-1', patient, [patient, orgA], { resourceType: 'Condition' }),
      ),
      drA.tx('records.anchor', anchorBody('obs-3', patient, [patient, orgA, drB])),
      drA.tx('records.supersede', supersedeBody('obs-1', 2, [drB, patient, orgA])),
    );
    assert.deepEqual(statuses, [
      'denied:missing-envelope',
      'denied:missing-envelope',
      'ok',
      'ok',
      'ok',
    ]);
    assert.equal(chain.record('obs-2'), undefined);
    assert.ok(envelopeFor(chain, 'obs-1', 2, drB));
    while (chain.time < ends) assert.deepEqual(chain.run(), []);
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-2', patient, [patient, orgA]))),
      ['ok'],
      'once the grant is over, its grantee is no longer required',
    );
  });
});
