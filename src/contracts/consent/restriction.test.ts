import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, type AuditEntry } from '../audit/index.js';
import { idOf, world, type Actor } from '../records/test-fixture.js';
import { restrictionCovering, type RestrictionQuery } from './home-organisation.js';
import { restrictionsOf } from './restriction.js';
import { PATIENT_RESTRICTION_TABLE, RESTRICTION_TABLE, type RestrictionRow } from './tables.js';
import { RESTRICTION_COUNT_MAX } from '../../ledger/index.js';

const restrict = (by: Actor, restrictionId: string, extra: JsonObject = {}): Transaction =>
  by.tx('consent.restrict', {
    restrictionId,
    resourceTypes: [],
    labels: [],
    practitionerIds: [],
    ...extra,
  });
const lift = (by: Actor, restrictionId: string): Transaction =>
  by.tx('consent.lift-restriction', { restrictionId });
const query = (extra: Partial<RestrictionQuery> = {}): RestrictionQuery => ({
  patientId: 'patient-2',
  practitionerId: 'dr-a',
  resourceType: 'Observation',
  labels: ['N'],
  ...extra,
});

describe('consent.restrict and consent.lift-restriction', () => {
  test('the patient restricts: the row, their list, an audit entry and an event; lifting ends it', () => {
    const { chain, otherPatient: patient } = world();
    const time = chain.time;
    const tx = restrict(patient, 'r-1', {
      resourceTypes: ['Observation', 'Condition', 'Observation'],
      labels: ['PSY'],
      practitionerIds: ['dr-a2'],
    });
    const execution = chain.execute([tx]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'consent.restricted', subject: 'r-1' }]);
    const row: RestrictionRow = {
      restrictionId: 'r-1',
      patientId: 'patient-2',
      resourceTypes: ['Condition', 'Observation'],
      labels: ['PSY'],
      practitionerIds: ['dr-a2'],
      status: 'active',
      restrictedAt: time,
      liftedAt: null,
    };
    assert.deepEqual(
      chain.get(RESTRICTION_TABLE, 'r-1'),
      row,
      'lists are sorted and without repeats',
    );
    assert.deepEqual(chain.get(PATIENT_RESTRICTION_TABLE, 'patient-2'), {
      patientId: 'patient-2',
      restrictions: ['r-1'],
    });
    const entry = chain.get(
      AUDIT_ENTRY_TABLE,
      auditKey('patient-2', auditCount(chain, 'patient-2')),
    ) as unknown as AuditEntry;
    assert.deepEqual(
      [entry.kind, entry.txId, entry.reason, entry.actor],
      ['restriction', idOf(tx), 'r-1', { role: 'patient', subject: 'patient-2', org: 'org-a' }],
    );

    const liftTime = chain.time;
    const liftTx = lift(patient, 'r-1');
    assert.deepEqual(chain.execute([liftTx]).events, [
      { type: 'consent.restriction-lifted', subject: 'r-1' },
    ]);
    assert.deepEqual(restrictionsOf(chain, 'patient-2'), [
      { ...row, status: 'lifted', liftedAt: liftTime },
    ]);
    const lifted = chain.get(
      AUDIT_ENTRY_TABLE,
      auditKey('patient-2', auditCount(chain, 'patient-2')),
    ) as unknown as AuditEntry;
    assert.deepEqual(
      [lifted.kind, lifted.txId, lifted.reason],
      ['restriction-lift', idOf(liftTx), 'r-1'],
    );
    assert.deepEqual(chain.run(lift(patient, 'r-1')), ['denied:restriction-lifted']);
  });

  test('denials: only the patient signs, only their own restriction is lifted; ids are unique; bodies are checked', () => {
    const { chain, orgA, drA, patient, otherPatient } = world();
    assert.deepEqual(chain.run(restrict(orgA, 'r-1'), restrict(drA, 'r-1'), lift(drA, 'r-1')), [
      'denied:not-a-patient',
      'denied:not-a-patient',
      'denied:not-a-patient',
    ]);
    assert.deepEqual(chain.run(restrict(otherPatient, 'r-1')), ['ok']);
    assert.deepEqual(
      chain.run(restrict(patient, 'r-1'), lift(patient, 'r-1'), lift(otherPatient, 'r-9')),
      ['denied:restriction-exists', 'denied:no-such-restriction', 'denied:no-such-restriction'],
    );
    assert.deepEqual(chain.run(restrict(otherPatient, 'r-2', { practitionerIds: ['dr-nobody'] })), [
      'denied:no-such-practitioner',
    ]);
    const bad: JsonObject[] = [
      { restrictionId: 'r-3', resourceTypes: [], labels: [] },
      { restrictionId: 'r-3', resourceTypes: ['observation'], labels: [], practitionerIds: [] },
      { restrictionId: 'r-3', resourceTypes: [], labels: [''], practitionerIds: [] },
      { restrictionId: 'r-3', resourceTypes: [], labels: [], practitionerIds: ['Dr A'] },
      { restrictionId: 'R 3', resourceTypes: [], labels: [], practitionerIds: [] },
      {
        restrictionId: 'r-3',
        resourceTypes: [],
        labels: [],
        practitionerIds: [],
        patientId: 'patient-1',
      },
    ];
    assert.deepEqual(
      chain.run(
        ...bad.map((body) => otherPatient.tx('consent.restrict', body)),
        otherPatient.tx('consent.lift-restriction', { restrictionId: 'r-1', extra: 1 }),
      ),
      [...bad, {}].map(() => 'invalid:bad-body'),
    );
    assert.deepEqual(
      restrictionsOf(chain, 'patient-2').map((row) => row.restrictionId),
      ['r-1'],
    );
  });

  test('a patient holds at most RESTRICTION_COUNT_MAX restrictions, lifted ones included', () => {
    const { chain, otherPatient } = world();
    const txs = Array.from({ length: RESTRICTION_COUNT_MAX }, (_, i) =>
      restrict(otherPatient, `r-${i}`),
    );
    assert.deepEqual(
      chain.run(...txs),
      txs.map(() => 'ok'),
    );
    assert.deepEqual(chain.run(lift(otherPatient, 'r-0'), restrict(otherPatient, 'r-last')), [
      'ok',
      'denied:too-many-restrictions',
    ]);
  });
});

describe('restrictionCovering', () => {
  test('each non-empty list narrows a restriction; an empty one matches anything; only active ones count', () => {
    const { chain, otherPatient: patient } = world();
    assert.equal(restrictionCovering(chain, query()), undefined);
    assert.deepEqual(chain.run(restrict(patient, 'r-type', { resourceTypes: ['Condition'] })), [
      'ok',
    ]);
    assert.equal(restrictionCovering(chain, query()), undefined);
    assert.equal(restrictionCovering(chain, query({ resourceType: 'Condition' })), 'r-type');
    assert.equal(
      restrictionCovering(chain, query({ resourceType: 'Condition', patientId: 'patient-1' })),
      undefined,
      "only the patient's own",
    );
    assert.deepEqual(chain.run(restrict(patient, 'r-label', { labels: ['PSY', 'HIV'] })), ['ok']);
    assert.equal(
      restrictionCovering(chain, query({ labels: ['N', 'HIV'] })),
      'r-label',
      'any one label',
    );
    assert.equal(
      restrictionCovering(chain, query({ labels: ['psy'] })),
      undefined,
      'codes compare exactly',
    );
    assert.deepEqual(chain.run(restrict(patient, 'r-who', { practitionerIds: ['dr-a2'] })), ['ok']);
    assert.equal(restrictionCovering(chain, query({ practitionerId: 'dr-a2' })), 'r-who');
    assert.equal(
      restrictionCovering(chain, query({ practitionerId: null })),
      undefined,
      'a system client is no named practitioner',
    );
    assert.deepEqual(
      chain.run(
        restrict(patient, 'r-both', { resourceTypes: ['Observation'], practitionerIds: ['dr-b'] }),
      ),
      ['ok'],
    );
    assert.equal(
      restrictionCovering(chain, query({ practitionerId: 'dr-b' })),
      'r-both',
      'both lists match',
    );
    assert.equal(
      restrictionCovering(
        chain,
        query({ practitionerId: 'dr-b', resourceType: 'AllergyIntolerance' }),
      ),
      undefined,
      'one list does not',
    );
    assert.equal(
      restrictionCovering(chain, query({ practitionerId: 'dr-a2', resourceType: 'Condition' })),
      'r-type',
      'the first by id',
    );
    assert.deepEqual(chain.run(lift(patient, 'r-type')), ['ok']);
    assert.equal(
      restrictionCovering(chain, query({ practitionerId: 'dr-a2', resourceType: 'Condition' })),
      'r-who',
    );
    assert.deepEqual(chain.run(restrict(patient, 'r-all')), ['ok']);
    assert.equal(
      restrictionCovering(
        chain,
        query({ practitionerId: null, resourceType: 'Patient', labels: [] }),
      ),
      'r-all',
      'all lists empty withholds everything',
    );
  });
});
