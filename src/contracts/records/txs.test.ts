import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  RECORDS_ANCHOR,
  RECORDS_BATCH,
  RECORDS_ERASE,
  RECORDS_SHARE_KEYS,
  RECORDS_TOMBSTONE,
} from './txs.js';

const CONTENT = {
  ciphertextHash: 'aa'.repeat(32),
  ciphertextSize: 10,
  commitment: 'bb'.repeat(32),
  securityLabels: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }],
  envelopes: [{ recipient: 'cc'.repeat(32), enc: 'dd'.repeat(32), wrappedKey: 'ee'.repeat(48) }],
};

test('an anchor is built with its content spread into the body, as the wire has it, and parses back', () => {
  const value = {
    recordId: 'obs-1',
    patientId: null,
    resourceType: 'Observation',
    version: 1 as const,
    content: CONTENT,
  };
  const body = RECORDS_ANCHOR.build(value);
  assert.deepEqual(body, {
    recordId: 'obs-1',
    patientId: null,
    resourceType: 'Observation',
    version: 1,
    ...CONTENT,
  });
  assert.deepEqual(RECORDS_ANCHOR.parse(body), value);
  assert.equal(RECORDS_ANCHOR.parse({ ...body, version: 2 }), undefined);
  const { patientId: _patientId, ...noPatient } = body;
  assert.equal(RECORDS_ANCHOR.parse(noPatient), undefined);
});

test('an erasure without a legal basis has no legalBasis field; a blank one parses as none', () => {
  assert.deepEqual(RECORDS_ERASE.build({ recordId: 'obs-1', legalBasis: null }), {
    recordId: 'obs-1',
  });
  assert.deepEqual(RECORDS_ERASE.build({ recordId: 'obs-1', legalBasis: 'court order' }), {
    recordId: 'obs-1',
    legalBasis: 'court order',
  });
  assert.deepEqual(RECORDS_ERASE.parse({ recordId: 'obs-1', legalBasis: '  ' }), {
    recordId: 'obs-1',
    legalBasis: null,
  });
  assert.equal(RECORDS_ERASE.parse({ recordId: 'obs-1', legalBasis: null }), undefined);
});

test('key shares and batch writes keep their nested shapes', () => {
  const shares = [
    { recordId: 'obs-1', version: 2, enc: 'dd'.repeat(32), wrappedKey: 'ee'.repeat(48) },
  ];
  const body = RECORDS_SHARE_KEYS.build({ grantId: 'grant-1', shares });
  assert.deepEqual(body, { grantId: 'grant-1', shares });
  assert.deepEqual(RECORDS_SHARE_KEYS.parse(body), { grantId: 'grant-1', shares });
  const tombstone = RECORDS_TOMBSTONE.build({ recordId: 'obs-1', version: 3 });
  const batch = RECORDS_BATCH.build({ writes: [{ kind: 'tombstone', body: tombstone }] });
  assert.deepEqual(batch, {
    writes: [{ kind: 'tombstone', body: { recordId: 'obs-1', version: 3 } }],
  });
  assert.equal(RECORDS_BATCH.parse({ writes: [] }), undefined);
});
