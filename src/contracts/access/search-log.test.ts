import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, type AuditEntry } from '../audit/index.js';
import {
  anchorBody,
  idOf,
  T0,
  world,
  type Actor,
  type TestChain,
  type World,
} from '../records/test-fixture.js';
import { SEARCH_RECORD_COUNT_MAX } from '../../ledger/index.js';

const DR_A: JsonObject = { kind: 'practitioner', id: 'dr-a' };
const listed = (recordId: string, released = true, version = 1): JsonObject => ({
  recordId,
  version,
  released,
});
const search = (by: Actor, records: JsonObject[], extra: JsonObject = {}): Transaction =>
  by.tx('access.search', { principal: DR_A, purpose: 'TREAT', patientId: null, records, ...extra });
const grantTo = (patient: Actor, grantId: string, practitionerId: string): Transaction =>
  patient.tx('consent.grant', {
    grantId,
    grantee: { kind: 'practitioner', id: practitionerId },
    actions: ['read'],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: T0, end: null },
  });
const entriesSince = (chain: TestChain, patientId: string, count: number): AuditEntry[] =>
  Array.from(
    { length: auditCount(chain, patientId) - count },
    (_, i) =>
      chain.get(AUDIT_ENTRY_TABLE, auditKey(patientId, count + i + 1)) as unknown as AuditEntry,
  );

/** world() with obs-1 and obs-3 of patient-1, obs-2 of patient-2, written by dr-a of org-a; patient-1 lets dr-a read. */
function searchWorld(): World {
  const w = world();
  const { chain, orgA, drA, patient, otherPatient } = w;
  assert.deepEqual(
    chain.run(
      drA.tx('records.anchor', anchorBody('obs-1', patient, [patient, orgA, drA])),
      drA.tx('records.anchor', anchorBody('obs-2', otherPatient, [otherPatient, orgA])),
      drA.tx('records.anchor', anchorBody('obs-3', patient, [patient, orgA, drA])),
    ),
    ['ok', 'ok', 'ok'],
  );
  assert.deepEqual(chain.run(grantTo(patient, 'g-a', 'dr-a')), ['ok']);
  return w;
}

describe('access.search', () => {
  test("one search is one entry in the trail of each patient it released records of, with the contract's decision per record", () => {
    const { chain, orgA } = searchWorld();
    const counts = [auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')];
    const tx = search(orgA, [listed('obs-3'), listed('obs-1')]);
    const time = chain.time;
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'access.permitted', subject: 'patient-1' }]);
    const basis = { kind: 'consent', grantId: 'g-a', agreementId: null, breakTheGlassId: null };
    assert.deepEqual(entriesSince(chain, 'patient-1', counts[0]!), [
      {
        seq: counts[0]! + 1,
        kind: 'search',
        txId: idOf(tx),
        time,
        actor: { role: 'practitioner', subject: 'dr-a', org: 'org-a' },
        recordId: null,
        version: null,
        purpose: 'TREAT',
        outcome: 'permit',
        reason: null,
        basis: null,
        released: true,
        records: [
          { recordId: 'obs-3', version: 1, released: true, outcome: 'permit', reason: null, basis },
          { recordId: 'obs-1', version: 1, released: true, outcome: 'permit', reason: null, basis },
        ],
      },
    ]);
    assert.equal(
      auditCount(chain, 'patient-2'),
      counts[1],
      'a patient whose records were not released is not touched',
    );
  });

  test("the contract re-decides: a listed release it would deny is a denial in that patient's trail, marked released", () => {
    const { chain, orgA } = searchWorld();
    const count = auditCount(chain, 'patient-2');
    assert.deepEqual(chain.run(search(orgA, [listed('obs-1'), listed('obs-2')])), ['ok']);
    const [entry] = entriesSince(chain, 'patient-2', count);
    assert.deepEqual(
      [entry?.kind, entry?.outcome, entry?.reason, entry?.released],
      ['search', 'deny', 'denied:no-consent', true],
    );
    assert.deepEqual(
      entry?.records?.map((record) => [record.recordId, record.outcome, record.released]),
      [['obs-2', 'deny', true]],
    );
  });

  test('a denial (released: false) is accepted only for the patient the search was scoped to', () => {
    const { chain, orgA } = searchWorld();
    const count = auditCount(chain, 'patient-2');
    assert.deepEqual(
      chain.run(search(orgA, [listed('obs-2', false)])),
      ['invalid:bad-body'],
      'an unscoped search logs no denials',
    );
    assert.deepEqual(
      chain.run(search(orgA, [listed('obs-2', false)], { patientId: 'patient-1' })),
      ['invalid:bad-body'],
      'nor one scoped to another patient',
    );
    assert.equal(auditCount(chain, 'patient-2'), count);
    assert.deepEqual(
      chain.run(search(orgA, [listed('obs-2', false)], { patientId: 'patient-2' })),
      ['ok'],
    );
    const [entry] = entriesSince(chain, 'patient-2', count);
    assert.deepEqual(
      [entry?.outcome, entry?.reason, entry?.released],
      ['deny', 'denied:no-consent', false],
    );
  });

  test('refusals: malformed bodies, an unknown record, a signer that is not an organisation; nothing is logged', () => {
    const { chain, orgA, drA } = searchWorld();
    const counts = [auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')];
    const tooMany = Array.from({ length: SEARCH_RECORD_COUNT_MAX + 1 }, (_, i) =>
      listed(`obs-${i}`),
    );
    const bad: Transaction[] = [
      search(orgA, []),
      search(orgA, tooMany),
      search(orgA, [listed('obs-1'), listed('obs-1')]),
      search(orgA, [listed('obs-1', true, 0)]),
      search(orgA, [{ ...listed('obs-1'), note: 'x' }]),
      search(orgA, [listed('obs-1')], { note: 'x' }),
      search(orgA, [listed('obs-1')], { patientId: 'Patient/1' }),
      search(orgA, [listed('obs-1')], { purpose: '' }),
      search(orgA, [listed('obs-1')], { principal: 'dr-a' }),
      search(orgA, [{ ...listed('obs-1'), released: 'yes' }]),
    ];
    assert.deepEqual(
      chain.run(...bad),
      bad.map(() => 'invalid:bad-body'),
    );
    assert.deepEqual(
      chain.run(search(orgA, [listed('obs-1'), listed('obs-x')]), search(drA, [listed('obs-1')])),
      ['denied:no-such-record', 'denied:not-an-organisation'],
    );
    assert.deepEqual([auditCount(chain, 'patient-1'), auditCount(chain, 'patient-2')], counts);
  });
});
