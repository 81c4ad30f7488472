import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { auditEventOf } from './audit-event.js';

const read = (outcome: 'permit' | 'deny', released: boolean): AuditEntry => ({
  seq: 7,
  kind: 'access',
  txId: 'a'.repeat(64),
  time: 1_796_000_000_000,
  actor: { role: 'practitioner', subject: 'dr-er', org: 'org-a' },
  recordId: 'r-1',
  version: 1,
  purpose: 'ETREAT',
  outcome,
  reason: outcome === 'deny' ? 'denied:restricted-by-patient' : null,
  basis: null,
  released,
});

test('a single read the node released but its block refused says so on the record; other single reads carry no description', () => {
  const names = { patient: 'pt-1', fhirIdOf: () => ({ type: 'Observation', id: 'obs-1' }) };
  const described = (entry: AuditEntry) =>
    (auditEventOf('p', entry, names)['entity'] as JsonObject[])
      .filter((entity) => String((entity['what'] as JsonObject)['reference']).startsWith('Obs'))
      .map((entity) => entity['description'] ?? null);
  assert.deepEqual(described(read('deny', true)), ['released, but denied at its block']);
  assert.deepEqual(described(read('deny', false)), [null]);
  assert.deepEqual(described(read('permit', true)), [null]);
});
