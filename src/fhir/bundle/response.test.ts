import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FhirError } from '../outcome.js';
import type { ServedVersion } from '../type-handler.js';
import { planBundle } from './plan.js';
import { responseBundle, type EntryResult } from './response.js';
import { bundleOf, counterIds, post } from '../testonly/bundle-helpers.js';

const LAST_UPDATED = '2024-05-01T12:00:00.000Z';

function served(type: string, id: string, versionId: number): ServedVersion {
  return {
    resource: { resourceType: type, id, meta: { versionId: String(versionId) } },
    versionId,
    lastUpdated: LAST_UPDATED,
    txId: 'ab'.repeat(32),
  };
}

const TRANSACTION = bundleOf('transaction', [
  { request: { method: 'GET', url: 'Patient/a' } },
  post('urn:uuid:p', { resourceType: 'Patient' }),
  { request: { method: 'DELETE', url: 'Observation/o' } },
  { resource: { resourceType: 'Patient', id: 'b' }, request: { method: 'PUT', url: 'Patient/b' } },
  { request: { method: 'GET', url: 'Observation?subject=Patient/a' } },
]);

/** Results in execution order, as an executor produces them. */
function transactionResults(): EntryResult[] {
  return [
    { index: 2, kind: 'deleted', versionId: 4 },
    { index: 1, kind: 'created', version: served('Patient', 'id-1', 1) },
    { index: 3, kind: 'updated', version: served('Patient', 'b', 3) },
    { index: 0, kind: 'read', version: served('Patient', 'a', 2) },
    { index: 4, kind: 'searched', bundle: { resourceType: 'Bundle', type: 'searchset', total: 0 } },
  ];
}

test('a transaction-response has one entry per request entry, in request order', () => {
  const plan = planBundle(TRANSACTION, counterIds());
  const response = responseBundle(plan, transactionResults());
  assert.equal(response.resourceType, 'Bundle');
  assert.equal(response.type, 'transaction-response');
  assert.deepEqual(response.entry, [
    {
      resource: served('Patient', 'a', 2).resource,
      response: { status: '200 OK', etag: 'W/"2"', lastModified: LAST_UPDATED },
    },
    {
      response: {
        status: '201 Created',
        location: 'Patient/id-1/_history/1',
        etag: 'W/"1"',
        lastModified: LAST_UPDATED,
      },
    },
    { response: { status: '204 No Content', etag: 'W/"4"' } },
    {
      response: {
        status: '200 OK',
        location: 'Patient/b/_history/3',
        etag: 'W/"3"',
        lastModified: LAST_UPDATED,
      },
    },
    {
      resource: { resourceType: 'Bundle', type: 'searchset', total: 0 },
      response: { status: '200 OK' },
    },
  ]);
});

test('return=representation adds the written resources', () => {
  const plan = planBundle(TRANSACTION, counterIds());
  const response = responseBundle(plan, transactionResults(), 'representation');
  assert.deepEqual(response.entry[1]!.resource, served('Patient', 'id-1', 1).resource);
  assert.deepEqual(response.entry[3]!.resource, served('Patient', 'b', 3).resource);
  assert.equal(response.entry[2]!.resource, undefined);
});

test('a transaction with a failed entry has no response Bundle: its error is thrown', () => {
  const plan = planBundle(TRANSACTION, counterIds());
  const conflict = FhirError.of(409, 'conflict', 'version conflict', ['Bundle.entry[3]']);
  const results = transactionResults().map((result) =>
    result.index === 3 ? { index: 3, kind: 'failed' as const, error: conflict } : result,
  );
  assert.throws(
    () => responseBundle(plan, results),
    (error) => error === conflict,
  );
});

test('a batch-response reports each failure in its entry, planning errors included', () => {
  const plan = planBundle(
    bundleOf('batch', [
      post('urn:uuid:p', { resourceType: 'Patient' }),
      { request: { method: 'PATCH', url: 'Patient/a' } },
      { request: { method: 'GET', url: 'Patient/missing' } },
    ]),
    counterIds(),
  );
  const notFound = FhirError.of(404, 'not-found', 'no such resource');
  const response = responseBundle(plan, [
    { index: 2, kind: 'failed', error: notFound },
    { index: 0, kind: 'created', version: served('Patient', 'x', 1) },
  ]);
  assert.equal(response.type, 'batch-response');
  assert.deepEqual(
    response.entry.map((entry) => entry.response.status),
    ['201 Created', '400 Bad Request', '404 Not Found'],
  );
  assert.equal(response.entry[0]!.response.location, 'Patient/x/_history/1');
  assert.deepEqual(response.entry[1]!.response.outcome, plan.entryErrors[0]!.error.outcome);
  assert.equal(response.entry[1]!.response.outcome!.issue[0]!.code, 'not-supported');
  assert.deepEqual(response.entry[2]!.response.outcome, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', diagnostics: 'no such resource' }],
  });
});

test('results must match the planned steps one to one', () => {
  const plan = planBundle(TRANSACTION, counterIds());
  const results = transactionResults();
  assert.throws(
    () => responseBundle(plan, results.slice(1)),
    /exactly one result per planned step/,
  );
  assert.throws(
    () => responseBundle(plan, [...results, results[0]!]),
    /exactly one result per planned step/,
  );
});
