import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../contracts/index.js';
import { send, serveNode, writeChart } from './testonly/served-node-fixture.js';
import { trailItemOf } from './trail-items.js';

interface Trail {
  readonly patient: string;
  readonly entries: { entry: AuditEntry; record: string | null }[];
}

test("GET /ledger/trail names each entry's record by its FHIR reference, so a patient sees what was read", async (t) => {
  const served = await serveNode(t);
  const { app, node } = served;
  const patientId = await writeChart(served, 'patient-0001', 'hba1c-1');
  const doctor = await served.headers('practitioner', 'dr-ada');
  assert.equal((await send(app, 'GET', '/fhir/Observation/hba1c-1', doctor)).status, 200);
  assert.equal((await send(app, 'GET', '/fhir/Patient/patient-0001', doctor)).status, 200);
  assert.equal((await send(app, 'GET', '/fhir/Observation/no-such-record', doctor)).status, 404);
  const terms = {
    grantee: { kind: 'practitioner' as const, id: 'dr-ada' },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['HRESCH'],
    period: { start: 0, end: null },
  };
  assert.equal(await node.consent.grant(patientId, 'grant-1', terms), 'ok'); // committed after the reads' logs, queued before it
  await node.consent.settled(); // and the key share that follows it, so both reads of the trail see the same entries

  const trail = await send<Trail>(
    app,
    'GET',
    '/ledger/trail',
    await served.headers('patient', patientId),
  );
  assert.equal(trail.status, 200);
  assert.equal(trail.body.patient, patientId);
  const reads = trail.body.entries.filter(({ entry }) => entry.kind === 'access');
  assert.deepEqual(
    reads.map(({ record, entry }) => [record, entry.recordId]),
    [
      ['Observation/hba1c-1', node.pseudonyms.recordIdOf('Observation', 'hba1c-1')],
      ['Patient/patient-0001', patientId],
    ],
  );
  const grant = trail.body.entries.find(({ entry }) => entry.kind === 'grant');
  assert.deepEqual(
    [grant?.entry.recordId, grant?.record],
    [null, null],
    'an entry about no record names none',
  );
  for (const item of trail.body.entries)
    assert.ok('record' in item && 'proof' in item, 'every entry carries the field');

  // Auditors read the same shape.
  const audited = await send<Trail>(
    app,
    'GET',
    `/ledger/trail?patient=${patientId}`,
    await served.headers('auditor', 'auditor-ann'),
  );
  assert.deepEqual(
    audited.body.entries.map(({ record }) => record),
    trail.body.entries.map(({ record }) => record),
  );
  // A record this node has no FHIR name for (another organisation's it cannot open) is null, never its pseudonym.
  const [proven] = node.access.trail(patientId, { kinds: ['access'] });
  assert.equal(
    trailItemOf(node, { ...proven!, entry: { ...proven!.entry, recordId: 'ab'.repeat(16) } })
      .record,
    null,
  );
});
