import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { ERASURE_TABLE, type ErasureRow } from './tables.js';
import { anchorBody, idOf, supersedeBody, world, type World } from './test-fixture.js';
import { LEGAL_BASIS_LENGTH_MAX } from '../../ledger/index.js';

/** `world()` with obs-a written by org-a (the patient's home), obs-b and obs-c written by org-b. */
function withRecords(): World {
  const w = world();
  const { chain, orgA, orgB, drA, drB, patient } = w;
  const statuses = chain.run(
    drA.tx('records.anchor', anchorBody('obs-a', patient, [patient, orgA])),
    drB.tx('records.anchor', anchorBody('obs-b', patient, [patient, orgB])),
    drB.tx('records.anchor', anchorBody('obs-c', patient, [patient, orgB])),
  );
  assert.deepEqual(statuses, ['ok', 'ok', 'ok']);
  return w;
}

const erasure = (w: World, recordId: string): ErasureRow | undefined =>
  w.chain.get(ERASURE_TABLE, recordId) as ErasureRow | undefined;
const erase = (recordId: string, legalBasis?: string): JsonObject =>
  legalBasis === undefined ? { recordId } : { recordId, legalBasis };

describe('records.erase', () => {
  test('the patient erases their record without a legal basis; history stays, nothing writes to it again', () => {
    const w = withRecords();
    const { chain, orgA, drA, patient } = w;
    const time = chain.time;
    const execution = chain.execute([patient.tx('records.erase', erase('obs-a'))]);
    assert.deepEqual(execution.statuses, ['ok']);
    assert.deepEqual(execution.events, [{ type: 'records.erased', subject: 'obs-a' }]);
    assert.deepEqual(chain.record('obs-a'), {
      recordId: 'obs-a',
      patientId: 'patient-1',
      resourceType: 'Observation',
      org: 'org-a',
      latestVersion: 1,
      status: 'erased',
      updatedAt: time,
    });
    assert.deepEqual(erasure(w, 'obs-a'), {
      recordId: 'obs-a',
      requestedBy: { role: 'patient', subject: 'patient-1' },
      legalBasis: null,
      requestedAt: time,
      confirmations: {},
    });
    assert.equal(
      chain.version('obs-a', 1)?.kind,
      'anchor',
      'the anchor stays: without the ciphertext it is useless',
    );
    const after = chain.run(
      drA.tx('records.supersede', supersedeBody('obs-a', 2, [patient, orgA])),
      drA.tx('records.tombstone', { recordId: 'obs-a', version: 2 }),
      patient.tx('records.erase', erase('obs-a')),
      orgA.tx('records.erase', erase('obs-a', 'Court order')),
    );
    assert.deepEqual(after, [
      'denied:record-erased',
      'denied:record-erased',
      'denied:record-erased',
      'denied:record-erased',
    ]);
  });

  test("an organisation needs a legal basis, and must be the record's organisation or the patient's home organisation", () => {
    const w = withRecords();
    const { chain, orgA, orgB, orgC, drA, otherPatient } = w;
    const statuses = chain.run(
      orgA.tx('records.erase', erase('obs-a')),
      orgA.tx('records.erase', erase('obs-a', '   ')),
      orgA.tx('records.erase', erase('obs-a', '')),
      orgC.tx('records.erase', erase('obs-a', 'Court order')),
      orgB.tx('records.erase', erase('obs-a', 'Court order')),
      drA.tx('records.erase', erase('obs-a', 'Court order')),
      otherPatient.tx('records.erase', erase('obs-a')),
      orgC.tx('records.erase', erase('obs-a')),
    );
    assert.deepEqual(statuses, [
      'denied:legal-basis-required',
      'denied:legal-basis-required',
      'denied:legal-basis-required',
      'denied:not-entitled',
      'denied:not-entitled',
      'denied:not-entitled',
      'denied:not-entitled',
      'denied:not-entitled',
    ]);
    assert.equal(chain.record('obs-a')?.status, 'active');
    const time = chain.time;
    const basis = 'GDPR Art. 17(1)(d): recorded against the wrong patient';
    const entitled = chain.run(
      orgA.tx('records.erase', erase('obs-a', basis)),
      orgA.tx(
        'records.erase',
        erase('obs-b', "Home organisation, on the patient's written request"),
      ),
      orgB.tx('records.erase', erase('obs-c', 'x'.repeat(LEGAL_BASIS_LENGTH_MAX))),
    );
    assert.deepEqual(entitled, ['ok', 'ok', 'ok']);
    assert.deepEqual(erasure(w, 'obs-a'), {
      recordId: 'obs-a',
      requestedBy: { role: 'org', subject: 'org-a' },
      legalBasis: basis,
      requestedAt: time,
      confirmations: {},
    });
    assert.deepEqual(erasure(w, 'obs-c')?.requestedBy, { role: 'org', subject: 'org-b' });
  });

  test('a deleted record can still be erased; unknown records and malformed bodies are refused', () => {
    const w = withRecords();
    const { chain, orgA, drA, patient } = w;
    assert.deepEqual(chain.run(drA.tx('records.tombstone', { recordId: 'obs-a', version: 2 })), [
      'ok',
    ]);
    const bad: JsonObject[] = [
      { recordId: 'obs-b', reason: 'x' },
      {},
      { recordId: 'obs/b' },
      { recordId: 'obs-b', legalBasis: 5 },
      { recordId: 'obs-b', legalBasis: null },
      erase('obs-b', 'x'.repeat(LEGAL_BASIS_LENGTH_MAX + 1)),
      erase('obs-b', 'line one\nline two'),
    ];
    const statuses = chain.run(
      patient.tx('records.erase', erase('obs-a')),
      patient.tx('records.erase', erase('obs-x')),
      ...bad.map((body) => orgA.tx('records.erase', body)),
    );
    assert.deepEqual(statuses, [
      'ok',
      'denied:no-such-record',
      ...bad.map(() => 'invalid:bad-body'),
    ]);
    assert.deepEqual(
      [
        chain.record('obs-a')?.status,
        chain.record('obs-a')?.latestVersion,
        chain.record('obs-b')?.status,
      ],
      ['erased', 2, 'active'],
    );
  });
});

describe('records.erasure-receipt', () => {
  test('every organisation confirms once, at block time; a second receipt is denied', () => {
    const w = withRecords();
    const { chain, orgA, orgB, orgC, patient } = w;
    assert.deepEqual(chain.run(patient.tx('records.erase', erase('obs-a'))), ['ok']);
    const first = chain.time;
    const execution = chain.execute([
      orgB.tx('records.erasure-receipt', { recordId: 'obs-a' }),
      orgA.tx('records.erasure-receipt', { recordId: 'obs-a' }),
      orgB.tx('records.erasure-receipt', { recordId: 'obs-a' }),
    ]);
    assert.deepEqual(execution.statuses, ['ok', 'ok', 'denied:already-confirmed']);
    assert.deepEqual(execution.events, [
      { type: 'records.erasure-confirmed', subject: 'obs-a' },
      { type: 'records.erasure-confirmed', subject: 'obs-a' },
    ]);
    const second = chain.time;
    assert.deepEqual(
      chain.run(
        orgC.tx('records.erasure-receipt', { recordId: 'obs-a' }),
        orgA.tx('records.erasure-receipt', { recordId: 'obs-a' }),
      ),
      ['ok', 'denied:already-confirmed'],
    );
    assert.deepEqual(erasure(w, 'obs-a')?.confirmations, {
      'org-a': first,
      'org-b': first,
      'org-c': second,
    });
    assert.deepEqual(erasure(w, 'obs-a')?.requestedBy, { role: 'patient', subject: 'patient-1' });
  });

  test('a receipt needs an erased record and an organisation key; removed organisations cannot sign', () => {
    const w = withRecords();
    const { chain, orgA, orgB, orgC, drA, drB, patient } = w;
    assert.deepEqual(
      chain.run(
        drB.tx('records.tombstone', { recordId: 'obs-b', version: 2 }),
        patient.tx('records.erase', erase('obs-c')),
      ),
      ['ok', 'ok'],
    );
    const statuses = chain.run(
      orgA.tx('records.erasure-receipt', { recordId: 'obs-a' }),
      orgA.tx('records.erasure-receipt', { recordId: 'obs-b' }),
      orgA.tx('records.erasure-receipt', { recordId: 'obs-x' }),
      drA.tx('records.erasure-receipt', { recordId: 'obs-c' }),
      patient.tx('records.erasure-receipt', { recordId: 'obs-c' }),
      orgA.tx('records.erasure-receipt', { recordId: 'obs-c', node: 'n1' }),
      orgA.tx('records.erasure-receipt', {}),
    );
    assert.deepEqual(statuses, [
      'denied:not-erased',
      'denied:not-erased',
      'denied:no-such-record',
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'invalid:bad-body',
      'invalid:bad-body',
    ]);
    assert.deepEqual(erasure(w, 'obs-c')?.confirmations, {});
    const remove = orgA.tx('membership.propose', { action: 'remove', orgId: 'org-c' });
    assert.deepEqual(
      chain.run(remove, orgB.tx('membership.vote', { proposalId: idOf(remove), approve: true })),
      ['ok', 'ok'],
    );
    assert.deepEqual(
      chain.run(
        orgC.tx('records.erasure-receipt', { recordId: 'obs-c' }),
        orgB.tx('records.erasure-receipt', { recordId: 'obs-c' }),
      ),
      ['denied:signer-inactive', 'ok'],
    );
    assert.deepEqual(Object.keys(erasure(w, 'obs-c')?.confirmations ?? {}), ['org-b']);
  });
});
