import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  fromHex,
  recordAad,
  sealRecordContent,
  sha256Hex,
  unwrapDataKey,
  utf8,
  wrapDataKey,
} from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { decideAccess, NONCE_TABLE, type BlockExecution, type Principal } from '../index.js';
import {
  ENVELOPE_COUNT_MAX,
  RECORD_CIPHERTEXT_BYTES_MAX,
  RECORD_VERSION_MAX,
  SECURITY_LABEL_COUNT_MAX,
} from '../../ledger/index.js';
import { requiredRecipients } from './recipients.js';
import { versionKey, type RecordStatus } from './tables.js';
import { Actor, anchorBody, envelope, idOf, supersedeBody, world, T0 } from './test-fixture.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const label = (i: number): JsonObject => ({ system: 'urn:test:labels', code: `c${i}` });
const without = (body: JsonObject, field: string): JsonObject =>
  Object.fromEntries(
    Object.keys(body)
      .filter((key) => key !== field)
      .map((key) => [key, body[key]!]),
  );

const recipientQuery = (patientId: string, orgId: string) => ({
  patientId,
  orgIds: [orgId],
  recordId: 'obs-9',
  resourceType: 'Observation',
  securityLabels: [],
  time: T0,
});

describe('records.anchor', () => {
  test('anchors version 1: the record row, the version row and an event', () => {
    const { chain, orgA, drA, patient } = world();
    const body = anchorBody('obs-1', patient, [patient, orgA]);
    const tx = drA.tx('records.anchor', body);
    const time = chain.time;
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'records.anchored', subject: 'obs-1' }]);
    assert.deepEqual(chain.record('obs-1'), {
      recordId: 'obs-1',
      patientId: 'patient-1',
      resourceType: 'Observation',
      org: 'org-a',
      latestVersion: 1,
      status: 'active',
      updatedAt: time,
    });
    assert.deepEqual(chain.version('obs-1', 1), {
      ...body,
      author: { practitioner: 'dr-a', org: 'org-a' },
      txId: idOf(tx),
      time,
      kind: 'anchor',
    });
  });

  test('version keys are zero-padded to ten digits, and versionKey refuses what does not fit', () => {
    assert.equal(versionKey('obs-1', 1), 'obs-1/0000000001');
    assert.equal(versionKey('obs-1', RECORD_VERSION_MAX), 'obs-1/9999999999');
    assert.ok(versionKey('r', 9) < versionKey('r', 10), 'keys sort by version');
    for (const version of [0, -1, 1.5, RECORD_VERSION_MAX + 1, Number.NaN])
      assert.throws(() => versionKey('r', version), RangeError);
  });

  test('a body wrapped with real HPKE for requiredRecipients is accepted, and the patient unwraps the key from the chain', () => {
    const { chain, orgA, drA, patient } = world();
    const aad = recordAad({ recordId: 'obs-9', version: 1, resourceType: 'Observation' });
    const { dataKey, sealed } = sealRecordContent(utf8('{"resourceType":"Observation"}'), aad);
    const recipients = requiredRecipients(chain, recipientQuery('patient-1', 'org-a'));
    assert.deepEqual(recipients, [patient.encryptionKey, orgA.encryptionKey].sort());
    const envelopes = recipients.map((recipient) => ({
      recipient,
      ...wrapDataKey(dataKey, fromHex(recipient), aad),
    }));
    const body = {
      ...anchorBody('obs-9', patient, []),
      ciphertextHash: sha256Hex(sealed),
      ciphertextSize: sealed.byteLength,
      envelopes,
    };
    assert.deepEqual(chain.run(drA.tx('records.anchor', body)), ['ok']);
    const stored = chain
      .version('obs-9', 1)
      ?.envelopes.find((candidate) => candidate.recipient === patient.encryptionKey);
    assert.ok(stored);
    assert.deepEqual(unwrapDataKey(stored, patient.encryption.privateKey, aad), dataKey);
    assert.throws(
      () => requiredRecipients(chain, recipientQuery('patient-x', 'org-a')),
      RangeError,
    );
    assert.throws(
      () => requiredRecipients(chain, recipientQuery('patient-1', 'org-x')),
      RangeError,
    );
  });

  test('denials: not a practitioner, record exists (also within one block), unknown patient, missing envelope', () => {
    const { chain, orgA, orgB, drA, drB, patient } = world();
    const body = anchorBody('obs-1', patient, [patient, orgA]);
    const statuses = chain.run(
      orgA.tx('records.anchor', body),
      patient.tx('records.anchor', body),
      drA.tx('records.anchor', body),
      drB.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgB])),
      drA.tx('records.anchor', anchorBody('obs-2', new Actor('patient-x'), [patient, orgA])),
      drA.tx('records.anchor', anchorBody('obs-3', patient, [orgA])),
      drA.tx('records.anchor', anchorBody('obs-4', patient, [patient])),
      // The author's organisation is org-b: wrapping for the patient's home org-a is not enough.
      drB.tx('records.anchor', anchorBody('obs-5', patient, [patient, orgA])),
      drB.tx('records.anchor', anchorBody('obs-6', patient, [orgA, patient, drA, orgB])),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-practitioner',
      'denied:not-a-practitioner',
      'ok',
      'denied:record-exists',
      'denied:no-such-patient',
      'denied:missing-envelope',
      'denied:missing-envelope',
      'denied:missing-envelope',
      'ok',
    ]);
    assert.equal(chain.record('obs-1')?.org, 'org-a');
    assert.equal(chain.record('obs-6')?.org, 'org-b', 'extra recipients are allowed');
    assert.equal(chain.record('obs-3'), undefined);
  });

  test('only the home organisation, or a practitioner the patient granted write, writes a chart', () => {
    const { chain, orgA, orgB, drA, drB, patient, otherPatient } = world();
    const recipients = [otherPatient, orgA, orgB];
    assert.deepEqual(
      chain.run(
        drB.tx('records.anchor', anchorBody('obs-1', otherPatient, recipients)),
        drA.tx('records.anchor', anchorBody('obs-2', otherPatient, recipients)),
        drB.tx('records.supersede', supersedeBody('obs-2', 2, recipients)),
        drB.tx('records.tombstone', { recordId: 'obs-2', version: 2 }),
      ),
      ['denied:no-consent', 'ok', 'denied:no-consent', 'denied:no-consent'],
    );
    // patient-1 granted org B write in world(); revoking it shuts org B out from the next block on.
    assert.deepEqual(
      chain.run(drB.tx('records.anchor', anchorBody('obs-3', patient, [patient, orgA, orgB]))),
      ['ok'],
    );
    assert.deepEqual(chain.run(patient.tx('consent.revoke', { grantId: 'grant-write-org-b' })), [
      'ok',
    ]);
    assert.deepEqual(
      chain.run(drB.tx('records.supersede', supersedeBody('obs-3', 2, [patient, orgA, orgB]))),
      ['denied:consent-revoked'],
    );
  });

  test('malformed bodies are invalid; every limit is inclusive', () => {
    const { chain, orgA, drA, patient } = world();
    const base = anchorBody('obs-1', patient, [patient, orgA]);
    const [first] = base['envelopes'] as JsonObject[];
    assert.ok(first);
    const more = (n: number): JsonObject[] =>
      range(n).map((i) => envelope(sha256Hex(`recipient:${i}`)));
    const bad: JsonObject[] = [
      { ...base, note: 'x' },
      without(base, 'commitment'),
      without(base, 'version'),
      without(base, 'securityLabels'),
      { ...base, version: 2 },
      { ...base, version: 0 },
      { ...base, version: '1' },
      { ...base, recordId: '..' },
      { ...base, recordId: 'a/b' },
      { ...base, recordId: 'a'.repeat(65) },
      { ...base, recordId: '' },
      { ...base, recordId: 7 },
      { ...base, patientId: 'Patient-1' },
      { ...base, resourceType: 'observation' },
      { ...base, resourceType: 'Obs1' },
      { ...base, resourceType: 'O' },
      { ...base, ciphertextHash: 'AB'.repeat(32) },
      { ...base, ciphertextHash: 'ab'.repeat(31) },
      { ...base, commitment: null },
      { ...base, ciphertextSize: 0 },
      { ...base, ciphertextSize: 1.5 },
      { ...base, ciphertextSize: RECORD_CIPHERTEXT_BYTES_MAX + 1 },
      { ...base, ciphertextSize: '1234' },
      { ...base, securityLabels: {} },
      { ...base, securityLabels: ['N'] },
      { ...base, securityLabels: range(SECURITY_LABEL_COUNT_MAX + 1).map(label) },
      { ...base, securityLabels: [label(1), label(1)] },
      { ...base, securityLabels: [{ ...label(1), display: 'x' }] },
      { ...base, securityLabels: [{ system: 'urn:x' }] },
      { ...base, securityLabels: [{ system: 'urn:x', code: '' }] },
      { ...base, securityLabels: [{ system: 'urn:x', code: 'a\nb' }] },
      { ...base, securityLabels: [{ system: 'u'.repeat(257), code: 'N' }] },
      { ...base, envelopes: [] },
      { ...base, envelopes: first },
      { ...base, envelopes: [first, first] },
      { ...base, envelopes: [first, 'x'] },
      { ...base, envelopes: [first, ...more(ENVELOPE_COUNT_MAX)] },
      { ...base, envelopes: [{ ...first, wrappedKey: 'ab'.repeat(32) }] },
      { ...base, envelopes: [{ ...first, enc: 'ab'.repeat(31) }] },
      { ...base, envelopes: [{ ...first, recipient: 'AB'.repeat(32) }] },
      { ...base, envelopes: [{ ...first, kem: 'x25519' }] },
      { ...base, envelopes: [without(first, 'enc')] },
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => drA.tx('records.anchor', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    const edge: JsonObject = {
      ...base,
      recordId: `A.b-${'x'.repeat(60)}`,
      ciphertextSize: RECORD_CIPHERTEXT_BYTES_MAX,
      securityLabels: [
        ...range(SECURITY_LABEL_COUNT_MAX - 1).map(label),
        { system: 'u'.repeat(256), code: 'c'.repeat(64) },
      ],
      envelopes: [...(base['envelopes'] as JsonObject[]), ...more(ENVELOPE_COUNT_MAX - 2)],
    };
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', edge),
        drA.tx('records.anchor', { ...base, resourceType: 'MedicationRequest', recordId: '0' }),
      ),
      ['ok', 'ok'],
    );
  });
});

describe('records.supersede and records.tombstone', () => {
  test("supersede appends the next version; a grantee of another org may write, wrapping for the record's org and their own", () => {
    const { chain, orgA, orgB, drA, drB, patient } = world();
    const anchor = anchorBody('obs-1', patient, [patient, orgA]);
    assert.deepEqual(chain.run(drA.tx('records.anchor', anchor)), ['ok']);
    assert.deepEqual(
      chain.run(
        drB.tx('records.supersede', supersedeBody('obs-1', 2, [patient, orgB])),
        drB.tx('records.supersede', supersedeBody('obs-1', 2, [patient, orgA])),
      ),
      ['denied:missing-envelope', 'denied:missing-envelope'],
    );
    const time = chain.time;
    const body = supersedeBody('obs-1', 2, [patient, orgA, orgB]);
    const tx = drB.tx('records.supersede', body);
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'records.superseded', subject: 'obs-1' }]);
    assert.deepEqual(chain.record('obs-1'), {
      recordId: 'obs-1',
      patientId: 'patient-1',
      resourceType: 'Observation',
      org: 'org-a',
      latestVersion: 2,
      status: 'active',
      updatedAt: time,
    });
    const version = {
      ...body,
      patientId: 'patient-1',
      resourceType: 'Observation',
      author: { practitioner: 'dr-b', org: 'org-b' },
      txId: idOf(tx),
      time,
      kind: 'supersede',
    };
    assert.deepEqual(chain.version('obs-1', 2), version);
    assert.equal(chain.version('obs-1', 1)?.commitment, anchor['commitment'], 'version 1 stays');
  });

  test('denials: unknown record, stale or skipped version, missing envelope, not a practitioner; malformed bodies', () => {
    const { chain, orgA, orgB, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]))),
      ['ok'],
    );
    const next = supersedeBody('obs-1', 2, [patient, orgA]);
    const statuses = chain.run(
      drA.tx('records.supersede', supersedeBody('obs-x', 2, [patient, orgA])),
      drA.tx('records.supersede', supersedeBody('obs-1', 1, [patient, orgA])),
      drA.tx('records.supersede', supersedeBody('obs-1', 3, [patient, orgA])),
      drB.tx('records.supersede', next),
      drA.tx('records.supersede', supersedeBody('obs-1', 2, [orgA, orgB])),
      orgA.tx('records.supersede', next),
      patient.tx('records.supersede', next),
      ...[
        { ...next, patientId: 'patient-1' },
        { ...next, resourceType: 'Condition' },
        { ...next, version: 0 },
        without(next, 'envelopes'),
      ].map((body) => drA.tx('records.supersede', body)),
    );
    assert.deepEqual(statuses, [
      'denied:no-such-record',
      'denied:version-conflict',
      'denied:version-conflict',
      'denied:missing-envelope',
      'denied:missing-envelope',
      'denied:not-a-practitioner',
      'denied:not-a-practitioner',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
    ]);
    assert.equal(chain.record('obs-1')?.latestVersion, 1);
  });

  test('two supersedes of the same version in one block: exactly one wins, in block order; the loser retries', () => {
    const { chain, orgA, orgB, drA, drB, patient } = world();
    const recipients = [patient, orgA, orgB];
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, recipients)),
        drB.tx('records.anchor', anchorBody('obs-2', patient, recipients)),
      ),
      ['ok', 'ok'],
    );
    const fromA = (id: string) =>
      drA.tx(
        'records.supersede',
        supersedeBody(id, 2, recipients, { commitment: sha256Hex(`a:${id}`) }),
      );
    const fromB = (id: string) =>
      drB.tx(
        'records.supersede',
        supersedeBody(id, 2, recipients, { commitment: sha256Hex(`b:${id}`) }),
      );
    assert.deepEqual(chain.run(fromA('obs-1'), fromB('obs-1'), fromB('obs-2'), fromA('obs-2')), [
      'ok',
      'denied:version-conflict',
      'ok',
      'denied:version-conflict',
    ]);
    assert.equal(chain.version('obs-1', 2)?.commitment, sha256Hex('a:obs-1'));
    assert.equal(chain.version('obs-2', 2)?.commitment, sha256Hex('b:obs-2'));
    assert.deepEqual(
      chain.run(fromB('obs-1'), drB.tx('records.supersede', supersedeBody('obs-1', 3, recipients))),
      ['denied:version-conflict', 'ok'],
    );
    assert.equal(chain.record('obs-1')?.latestVersion, 3);
  });

  test('tombstone deletes the record and keeps its history; nothing supersedes or tombstones it afterwards', () => {
    const { chain, orgA, drA, drB, patient } = world();
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA])),
        drA.tx('records.supersede', supersedeBody('obs-1', 2, [patient, orgA])),
      ),
      ['ok', 'ok'],
    );
    const bad: JsonObject[] = [
      { recordId: 'obs-1' },
      { recordId: 'obs-1', version: 3, reason: 'x' },
      { recordId: 'obs-1', version: 3, ...supersedeBody('obs-1', 3, [patient]) },
    ];
    const refused = chain.run(
      drA.tx('records.tombstone', { recordId: 'obs-1', version: 2 }),
      orgA.tx('records.tombstone', { recordId: 'obs-1', version: 3 }),
      drA.tx('records.tombstone', { recordId: 'obs-x', version: 1 }),
      ...bad.map((body) => drA.tx('records.tombstone', body)),
    );
    assert.deepEqual(refused, [
      'denied:version-conflict',
      'denied:not-a-practitioner',
      'denied:no-such-record',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
    ]);
    const time = chain.time;
    const tombstone = drB.tx('records.tombstone', { recordId: 'obs-1', version: 3 });
    const execution = chain.execute([tombstone]);
    assert.deepEqual(
      [execution.statuses, execution.events],
      [['ok'], [{ type: 'records.tombstoned', subject: 'obs-1' }]],
    );
    assert.deepEqual(chain.record('obs-1'), {
      recordId: 'obs-1',
      patientId: 'patient-1',
      resourceType: 'Observation',
      org: 'org-a',
      latestVersion: 3,
      status: 'deleted',
      updatedAt: time,
    });
    assert.deepEqual(chain.version('obs-1', 3), {
      recordId: 'obs-1',
      version: 3,
      resourceType: 'Observation',
      patientId: 'patient-1',
      author: { practitioner: 'dr-b', org: 'org-b' },
      ciphertextHash: null,
      ciphertextSize: null,
      commitment: null,
      securityLabels: [],
      envelopes: [],
      txId: idOf(tombstone),
      time,
      kind: 'tombstone',
    });
    assert.deepEqual(
      [chain.version('obs-1', 1)?.kind, chain.version('obs-1', 2)?.kind],
      ['anchor', 'supersede'],
    );
    assert.deepEqual(
      chain.run(
        drA.tx('records.supersede', supersedeBody('obs-1', 4, [patient, orgA])),
        drA.tx('records.tombstone', { recordId: 'obs-1', version: 4 }),
      ),
      ['denied:record-deleted', 'denied:record-deleted'],
    );
  });

  test('a suspended practitioner is refused by the executor, spends the nonce, and may write again once reinstated', () => {
    const { chain, orgA, drA2, patient } = world();
    assert.deepEqual(
      chain.run(orgA.tx('membership.suspend-practitioner', { practitionerId: 'dr-a2' })),
      ['ok'],
    );
    const anchor = drA2.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]));
    assert.deepEqual(chain.run(anchor), ['denied:signer-inactive']);
    assert.equal(chain.get(NONCE_TABLE, drA2.key.keyId), anchor.nonce);
    assert.equal(chain.record('obs-1'), undefined);
    assert.deepEqual(
      chain.run(orgA.tx('membership.reinstate-practitioner', { practitionerId: 'dr-a2' })),
      ['ok'],
    );
    assert.deepEqual(
      chain.run(drA2.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA]))),
      ['ok'],
    );
  });
});

type Op = {
  kind: 'supersede' | 'tombstone' | 'erase';
  record: 0 | 1;
  version: number;
  byB: boolean;
};
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('supersede', 'tombstone', 'erase'),
  record: fc.constantFrom(0, 1),
  version: fc.integer({ min: 1, max: 4 }),
  byB: fc.boolean(),
});

describe('determinism', () => {
  test('random blocks of writes match a reference model, and replaying them on a fresh chain gives the same appHash', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 4 }), { maxLength: 5 }), (blocks) => {
        const first = world();
        const { orgA, orgB, drA, drB, patient } = first;
        const ids = ['obs-0', 'obs-1'];
        const recipients = [patient, orgA, orgB];
        const model = ids.map(() => ({ latest: 1, status: 'active' as RecordStatus }));
        const txOf = ({ kind, record, version, byB }: Op): Transaction => {
          const id = ids[record]!;
          if (kind === 'erase') return patient.tx('records.erase', { recordId: id });
          const author = byB ? drB : drA;
          return kind === 'supersede'
            ? author.tx('records.supersede', supersedeBody(id, version, recipients))
            : author.tx('records.tombstone', { recordId: id, version });
        };
        const expected = ({ kind, record, version }: Op): string => {
          const state = model[record]!;
          if (kind === 'erase')
            return state.status === 'erased'
              ? 'denied:record-erased'
              : ((state.status = 'erased'), 'ok');
          if (state.status !== 'active') return `denied:record-${state.status}`;
          if (version !== state.latest + 1) return 'denied:version-conflict';
          state.latest = version;
          if (kind === 'tombstone') state.status = 'deleted';
          return 'ok';
        };
        const txBlocks = [
          ids.map((id) => drA.tx('records.anchor', anchorBody(id, patient, recipients))),
          ...blocks.map((block) => block.map(txOf)),
        ];
        const executions: BlockExecution[] = txBlocks.map((txs) => first.chain.execute(txs));
        assert.deepEqual(
          executions.flatMap((execution) => execution.statuses),
          ['ok', 'ok', ...blocks.flat().map(expected)],
        );
        ids.forEach((id, i) =>
          assert.deepEqual(
            [first.chain.record(id)?.latestVersion, first.chain.record(id)?.status],
            [model[i]!.latest, model[i]!.status],
          ),
        );
        const second = world();
        assert.deepEqual(
          txBlocks.map((txs) => second.chain.execute(txs)),
          executions,
        );
        assert.equal(second.chain.appHash, first.chain.appHash);
      }),
      { numRuns: 40 },
    );
  });
});

describe('directory records', () => {
  test('a record without a patient: wrapped for its organisation, kept by it, read by it without consent, and leaving no patient trail', () => {
    const { chain, orgA, orgB, drA, drB } = world();
    const directory = (recordId: string, recipients: Actor[]) =>
      anchorBody(recordId, drA, recipients, { patientId: null, resourceType: 'Organization' });
    assert.deepEqual(
      chain.run(
        drA.tx('records.anchor', directory('org-1', [])),
        drA.tx('records.anchor', directory('org-1', [orgA])),
      ),
      ['invalid:bad-body', 'ok'],
    );
    assert.deepEqual(
      requiredRecipients(chain, {
        patientId: null,
        orgIds: ['org-a'],
        recordId: 'org-1',
        resourceType: 'Organization',
        securityLabels: [],
        time: T0,
      }),
      [orgA.encryptionKey],
    );
    assert.equal(chain.record('org-1')?.patientId, null);
    assert.deepEqual(
      chain.run(drB.tx('records.supersede', supersedeBody('org-1', 2, [orgA, orgB]))),
      ['denied:not-your-record'],
    );
    assert.deepEqual(chain.run(drA.tx('records.supersede', supersedeBody('org-1', 2, [orgA]))), [
      'ok',
    ]);
    const read = (principal: Principal) =>
      decideAccess(chain, {
        principal,
        action: 'read',
        recordId: 'org-1',
        version: 2,
        purpose: 'TREAT',
        time: chain.time,
      });
    assert.deepEqual(read({ kind: 'practitioner', id: 'dr-a', org: 'org-a' }), {
      outcome: 'permit',
      basis: { kind: 'directory', grantId: null, agreementId: null, breakTheGlassId: null },
    });
    assert.deepEqual(read({ kind: 'practitioner', id: 'dr-b', org: 'org-b' }), {
      outcome: 'deny',
      reason: 'denied:not-shared',
    });
    assert.deepEqual(
      chain.run(
        orgA.tx('access.log', {
          principal: { kind: 'practitioner', id: 'dr-a' },
          recordId: 'org-1',
          version: 2,
          action: 'read',
          purpose: 'TREAT',
          released: true,
        }),
      ),
      ['ok'],
    );
  });
});

describe('records.batch', () => {
  test('writes land together, each seeing the ones before it, or none lands: the first refusal refuses the batch', () => {
    const { chain, orgA, drA, patient, otherPatient } = world();
    const batch = (...writes: JsonObject[]) => drA.tx('records.batch', { writes });
    const anchor = (recordId: string, who = patient) => ({
      kind: 'anchor',
      body: anchorBody(recordId, who, [who, orgA]),
    });
    const supersede = (recordId: string, version: number) => ({
      kind: 'supersede',
      body: supersedeBody(recordId, version, [patient, orgA]),
    });
    assert.deepEqual(
      chain.run(
        batch(anchor('obs-a'), anchor('obs-b', otherPatient), supersede('obs-a', 2), {
          kind: 'tombstone',
          body: { recordId: 'obs-b', version: 2 },
        }),
      ),
      ['ok'],
    );
    assert.deepEqual(
      [chain.record('obs-a')?.latestVersion, chain.record('obs-b')?.status],
      [2, 'deleted'],
    );
    // The third write conflicts (obs-a is at version 2): nothing of this batch lands.
    assert.deepEqual(chain.run(batch(anchor('obs-c'), anchor('obs-d'), supersede('obs-a', 2))), [
      'denied:version-conflict',
    ]);
    assert.deepEqual([chain.record('obs-c'), chain.record('obs-d')], [undefined, undefined]);
    assert.deepEqual(
      chain.run(
        orgA.tx('records.batch', { writes: [anchor('obs-e')] }),
        batch(),
        drA.tx('records.batch', { writes: [{ kind: 'erase', body: {} }] }),
        drA.tx('records.batch', { writes: [anchor('obs-e')], extra: 1 }),
      ),
      ['denied:not-a-practitioner', 'invalid:bad-body', 'invalid:bad-body', 'invalid:bad-body'],
    );
  });
});
