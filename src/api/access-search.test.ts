import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditCount } from '../contracts/index.js';
import { send, serveCharts } from './testonly/served-node-fixture.js';

type Hits = {
  hits: {
    patient: string;
    patientRef: string;
    entry: { kind: string; actor: { subject: string }; outcome: string; purpose: string };
    record: string | null;
  }[];
  scanned: number;
  truncated: boolean;
};

test('GET /ledger/accesses: a privacy officer searches accesses across patients by user, outcome and purpose; nobody else may', async (t) => {
  const { app, node, patientId, otherId, as } = await serveCharts(t);
  for (const url of ['/fhir/Observation/hba1c-1', '/fhir/Observation/hba1c-2'])
    assert.equal((await send(app, 'GET', url, as.doctor)).status, 200);
  for (
    const deadline = Date.now() + 10_000;
    auditCount(node.store.state, patientId) + auditCount(node.store.state, otherId) < 2;
    await sleep(10)
  )
    assert.ok(Date.now() < deadline);

  const byDoctor = await send<Hits>(app, 'GET', '/ledger/accesses?user=dr-ada', as.auditor);
  assert.equal(byDoctor.status, 200, JSON.stringify(byDoctor.body));
  assert.deepEqual(
    byDoctor.body.hits.map((hit) => hit.patientRef).sort(),
    ['Patient/patient-0001', 'Patient/patient-0002'],
    'both patients, in one search',
  );
  assert.deepEqual(byDoctor.body.hits.map((hit) => hit.record).sort(), [
    'Observation/hba1c-1',
    'Observation/hba1c-2',
  ]);
  assert.ok(
    byDoctor.body.hits.every(
      (hit) => hit.entry.actor.subject === 'dr-ada' && hit.entry.kind === 'access',
    ),
  );
  assert.equal(JSON.stringify(byDoctor.body).includes('4548-4'), false, 'entries, never content');

  assert.deepEqual(
    (await send<Hits>(app, 'GET', '/ledger/accesses?user=dr-ada&outcome=deny', as.auditor)).body
      .hits,
    [],
  );
  assert.deepEqual(
    (await send<Hits>(app, 'GET', '/ledger/accesses?user=someone-else', as.auditor)).body.hits,
    [],
  );
  assert.equal(
    (await send<Hits>(app, 'GET', '/ledger/accesses?purpose=TREAT', as.auditor)).body.hits.length,
    2,
  );
  assert.deepEqual(
    (await send<Hits>(app, 'GET', '/ledger/accesses?until=2000-01-01', as.auditor)).body.hits,
    [],
  );
  const one = await send<Hits>(app, 'GET', '/ledger/accesses?user=dr-ada&limit=1', as.auditor);
  assert.deepEqual([one.body.hits.length, one.body.truncated], [1, true]);

  for (const bad of ['?outcome=maybe', '?since=yesterday', '?limit=0', '?user=%3Cscript%3E'])
    assert.equal((await send(app, 'GET', `/ledger/accesses${bad}`, as.auditor)).status, 400, bad);
  for (const who of ['doctor', 'patient'] as const)
    assert.equal((await send(app, 'GET', '/ledger/accesses', as[who])).status, 403, who);
  assert.equal((await send(app, 'GET', '/ledger/accesses', as.none)).status, 401);
});
