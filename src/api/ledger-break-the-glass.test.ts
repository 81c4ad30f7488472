import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BTG_TABLE,
  type AuditEntry,
  type BreakTheGlassRow,
  type Principal,
} from '../contracts/index.js';
import { fromHex } from '../crypto/index.js';
import { verifyInclusion } from '../ledger/index.js';
import type { InclusionProofResponse } from '../node/index.js';
import { send, serveCharts, type Answer } from './testonly/served-node-fixture.js';

interface Item {
  btgId: string;
  patient: string;
  practitionerId: string;
  org: string;
  purpose: string;
  outcome: 'permit' | 'deny';
  denial: string | null;
  start: number;
  end: number;
  review: { justified: boolean; at: number } | null;
  reason: string | null;
  reviewNote: string | null;
}
type Detail = Item & {
  reads: { entry: AuditEntry; proof: InclusionProofResponse; record: string | null }[];
};

const DR_ADA: Principal = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' };

/** Polls until `done` holds, for at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = performance.now() + 10_000; !done(); await sleep(5))
    assert.ok(performance.now() < deadline, 'timed out');
}

/**
 * Two charts; dr-ada is refused break-the-glass on patient-0001 (not opted in), reads the chart
 * once the patient opts in, then breaks the glass and reads the Observation; dr-bob reads it too.
 */
async function brokenGlass(t: TestContext) {
  const served = await serveCharts(t);
  const { app, node, patientId, as } = served;
  const reads = () => node.access.trail(patientId, { kinds: ['access'] }).length;
  const denied = await node.breakTheGlass.request(DR_ADA, patientId, {
    purpose: 'ETREAT',
    reason: 'no answer at the door',
  });
  assert.equal(await node.consent.setBreakTheGlass(patientId, true), 'ok');
  const before = reads();
  assert.equal((await send(app, 'GET', '/fhir/Observation/hba1c-1', as.doctor)).status, 200);
  await until(() => reads() === before + 1);
  await sleep(10); // so the next block's time is later than the read's
  const granted = await node.breakTheGlass.request(DR_ADA, patientId, {
    purpose: 'ETREAT',
    reason: 'unconscious on arrival',
    minutes: 30,
  });
  const keys = node.records.enrol('practitioner', 'dr-bob');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-bob', ...keys }),
      )
    ).status,
    'ok',
  );
  assert.equal((await send(app, 'GET', '/fhir/Observation/hba1c-1', as.doctor)).status, 200);
  assert.equal(
    (
      await send(
        app,
        'GET',
        '/fhir/Observation/hba1c-1',
        await served.headers('practitioner', 'dr-bob'),
      )
    ).status,
    200,
  );
  await until(() => reads() === before + 3);
  return { ...served, denied, granted };
}

function refusal(answer: Answer, status: number): string {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  assert.equal(typeof answer.body['reason'], 'string');
  return String(answer.body['error']);
}

const list = async (app: Parameters<typeof send>[0], headers: Record<string, string>, query = '') =>
  (await send<{ events: Item[] }>(app, 'GET', `/ledger/break-the-glass${query}`, headers)).body
    .events;

test("GET /ledger/break-the-glass: the privacy officer sees this organisation's events, the patient their own, each reason opened for its reader", async (t) => {
  const { app, patientId, as, denied, granted } = await brokenGlass(t);
  const expected = (row: BreakTheGlassRow, reason: string): Item => ({
    btgId: row.btgId,
    patient: patientId,
    practitionerId: 'dr-ada',
    org: 'practice-a',
    purpose: 'ETREAT',
    outcome: row.outcome,
    denial: row.denial,
    start: row.start,
    end: row.end,
    review: null,
    reason,
    reviewNote: null,
  });
  const all = [
    expected(denied, 'no answer at the door'),
    expected(granted, 'unconscious on arrival'),
  ];
  assert.deepEqual(
    all.map((item) => item.outcome),
    ['deny', 'permit'],
  );
  assert.equal(granted.end - granted.start, 30 * 60_000);
  for (const who of ['auditor', 'patient'] as const) {
    assert.deepEqual(await list(app, as[who]), all, who);
    assert.deepEqual(await list(app, as[who], '?status=all'), all, who);
    assert.deepEqual(
      await list(app, as[who], '?status=pending'),
      [all[1]],
      `${who}: a denied event awaits no review`,
    );
    assert.deepEqual(await list(app, as[who], '?status=reviewed'), [], who);
  }
  assert.deepEqual(await list(app, as.other), [], 'another patient sees none of them');

  refusal(await send(app, 'GET', '/ledger/break-the-glass', as.none), 401);
  for (const who of ['doctor', 'system'] as const)
    assert.equal(
      refusal(await send(app, 'GET', '/ledger/break-the-glass', as[who]), 403),
      'forbidden',
      who,
    );
  refusal(await send(app, 'GET', '/ledger/break-the-glass?status=open', as.auditor), 400);
});

test('GET /ledger/break-the-glass/{btgId}: the event and what the practitioner read while the glass was broken, each read with its proof', async (t) => {
  const { app, as, granted, denied } = await brokenGlass(t);
  for (const who of ['auditor', 'patient'] as const) {
    const detail = (
      await send<Detail>(app, 'GET', `/ledger/break-the-glass/${granted.btgId}`, as[who])
    ).body;
    assert.equal(detail.reason, 'unconscious on arrival', who);
    assert.equal(detail.btgId, granted.btgId);
    // dr-ada's read after the glass broke; not hers before it, not dr-bob's, not the event itself.
    assert.deepEqual(
      detail.reads.map(({ entry, record }) => [entry.kind, entry.actor.subject, record]),
      [['access', 'dr-ada', 'Observation/hba1c-1']],
      who,
    );
    const [{ entry, proof }] = detail.reads as [Detail['reads'][number]];
    assert.ok(entry.time >= granted.start && entry.time <= granted.end);
    assert.equal(proof.txId, entry.txId);
    verifyInclusion(
      proof.leafIndex,
      proof.treeSize,
      fromHex(proof.leafHash),
      proof.inclusionProof.map((hash) => fromHex(hash)),
      fromHex(proof.treeHead.logRoot),
    );
  }
  const refusedOne = (
    await send<Detail>(app, 'GET', `/ledger/break-the-glass/${denied.btgId}`, as.auditor)
  ).body;
  assert.deepEqual([refusedOne.outcome, refusedOne.denial], ['deny', 'denied:patient-opted-out']);

  // Another patient's event, or no event at all, reads the same: a 404.
  assert.equal(
    refusal(await send(app, 'GET', `/ledger/break-the-glass/${granted.btgId}`, as.other), 404),
    'not-found',
  );
  refusal(await send(app, 'GET', `/ledger/break-the-glass/${'ab'.repeat(32)}`, as.auditor), 404);
  refusal(await send(app, 'GET', `/ledger/break-the-glass/${granted.btgId}`, as.doctor), 403);
  refusal(await send(app, 'GET', `/ledger/break-the-glass/${granted.btgId}`, as.none), 401);
});

test("POST /ledger/break-the-glass/{btgId}/review: the privacy officer's verdict goes on the ledger, once; the note reads back for them and the patient", async (t) => {
  const { app, node, as, granted, denied } = await brokenGlass(t);
  const url = `/ledger/break-the-glass/${granted.btgId}/review`;
  for (const who of ['doctor', 'patient', 'system'] as const)
    refusal(await send(app, 'POST', url, as[who], { justified: true }), 403);
  refusal(await send(app, 'POST', url, as.none, { justified: true }), 401);
  for (const body of [
    {},
    { justified: 'yes' },
    { justified: true, note: '' },
    { justified: true, note: 'a\nb' },
    { justified: true, extra: 1 },
    [],
    '{"justified":',
  ]) {
    assert.equal(
      refusal(await send(app, 'POST', url, as.auditor, body), 400),
      'bad-request',
      JSON.stringify(body),
    );
  }
  const wrongType = await app.inject({
    method: 'POST',
    url,
    headers: { ...as.auditor, 'content-type': 'text/plain' },
    payload: '{"justified":true}',
  });
  assert.equal(wrongType.statusCode, 415);
  refusal(
    await send(app, 'POST', `/ledger/break-the-glass/${'ab'.repeat(32)}/review`, as.auditor, {
      justified: true,
    }),
    404,
  );
  assert.equal(
    (node.store.state.get(BTG_TABLE, granted.btgId) as unknown as BreakTheGlassRow).review,
    null,
    'nothing refused reached the ledger',
  );

  const reviewed = await send(app, 'POST', url, as.auditor, {
    justified: true,
    note: 'appropriate: overdose suspected',
  });
  assert.deepEqual(
    [reviewed.status, reviewed.body],
    [200, { btgId: granted.btgId, justified: true }],
  );
  for (const who of ['auditor', 'patient'] as const) {
    const [item] = await list(app, as[who], '?status=reviewed');
    assert.deepEqual(
      [item?.btgId, item?.review?.justified, item?.reviewNote, item?.reason],
      [granted.btgId, true, 'appropriate: overdose suspected', 'unconscious on arrival'],
      who,
    );
    assert.equal(typeof item?.review?.at, 'number');
    assert.deepEqual(await list(app, as[who], '?status=pending'), [], who);
  }
  assert.equal(
    refusal(await send(app, 'POST', url, as.auditor, { justified: false }), 409),
    'denied:already-reviewed',
  );
  const refusedReview = await send(
    app,
    'POST',
    `/ledger/break-the-glass/${denied.btgId}/review`,
    as.auditor,
    { justified: false },
  );
  assert.equal(
    refusal(refusedReview, 409),
    'denied:no-such-break-the-glass',
    'a refused request has nothing to review',
  );
  assert.match(String(refusedReview.body['reason']), /no granted break-the-glass event/);
});

test('a reason that cannot be opened reads as null, never as a failure', async (t) => {
  const { app, node, as, granted } = await brokenGlass(t);
  node.records.blobs.delete(granted.reason.ciphertextHash);
  const events = await list(app, as.auditor);
  assert.deepEqual(
    events.map((item) => [item.btgId === granted.btgId, item.reason === null]),
    [
      [false, false],
      [true, true],
    ],
  );
  const detail = await send<Detail>(
    app,
    'GET',
    `/ledger/break-the-glass/${granted.btgId}`,
    as.patient,
  );
  assert.deepEqual([detail.status, detail.body.reason, detail.body.reads.length], [200, null, 1]);
});
