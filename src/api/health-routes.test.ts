import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ChartChainNode } from '../node/index.js';
import { buildServer } from './server.js';
import type { ReadinessCheck } from './health-routes.js';

async function serve(
  t: TestContext,
  readiness: readonly ReadinessCheck[] = [],
): Promise<{ node: ChartChainNode; app: FastifyInstance }> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-health-'));
  const opened: { node?: ChartChainNode; app?: FastifyInstance } = {};
  t.after(async () => {
    await opened.app?.close();
    await opened.node?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = (opened.node = await ChartChainNode.open(dir, { verifyPoolSize: 1 }));
  const app = (opened.app = buildServer(node, { readiness }));
  await app.ready();
  return { node, app };
}

test('/healthz answers live; /readyz answers ready until the node halts, then 503 with the reason', async (t) => {
  const { node, app } = await serve(t);
  assert.deepEqual((await app.inject('/healthz')).json(), { status: 'live' });
  const ready = await app.inject('/readyz');
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, 'ready');
  node.halt('simulated storage failure');
  const halted = await app.inject('/readyz');
  assert.equal(halted.statusCode, 503);
  assert.deepEqual(halted.json().reasons, ['node halted: see /ledger/status']);
  assert.equal(
    (await app.inject('/healthz')).statusCode,
    200,
    'a halted node is still live: it serves reads and its alarm',
  );
});

test('/readyz answers 503 while a readiness check fails, naming it', async (t) => {
  let indexBuilt = false;
  const { app } = await serve(t, [() => (indexBuilt ? undefined : 'search index rebuilding')]);
  const building = await app.inject('/readyz');
  assert.equal(building.statusCode, 503);
  assert.deepEqual(building.json().reasons, ['search index rebuilding']);
  indexBuilt = true;
  assert.equal((await app.inject('/readyz')).statusCode, 200);
});

test('/metrics is Prometheus text with request counts by route pattern, chain gauges, ledger turns and event-loop delay, and no request data', async (t) => {
  const { node, app } = await serve(t);
  await node.submitAndWait(
    node.signAsOrg('membership.register-patient', {
      patientId: 'patient-0001',
      signingKey: '11'.repeat(32),
      encryptionKey: '22'.repeat(32),
      custody: 'self',
    }),
  );
  await app.inject('/ledger/blocks/0');
  await app.inject('/ledger/tx/patient-smith-ssn-123');
  const metrics = await app.inject('/metrics');
  assert.equal(metrics.statusCode, 200);
  assert.match(metrics.headers['content-type'] as string, /^text\/plain/);
  const text = metrics.body;
  assert.match(text, /^chartchain_block_height [1-9]\d*$/m);
  assert.match(text, /^chartchain_pending_transactions \d+$/m);
  assert.match(text, /^chartchain_halted 0$/m);
  assert.match(
    text,
    /chartchain_http_requests_total\{method="GET",route="\/ledger\/tx\/:txId",status="\d{3}"\} 1/,
  );
  assert.match(text, /chartchain_http_request_duration_seconds_bucket/);
  assert.match(
    text,
    /^chartchain_block_commit_duration_seconds_count [1-9]\d*$/m,
    'the block that registered the patient was timed',
  );
  assert.match(text, /^chartchain_transactions_committed_total [1-9]\d*$/m);
  for (const work of ['execute', 'apply', 'follow'])
    assert.match(
      text,
      new RegExp(
        `^chartchain_ledger_turn_duration_seconds_count\\{work="${work}"\\} [1-9]\\d*$`,
        'm',
      ),
      `${work} turns of the block that registered the patient were timed`,
    );
  assert.match(text, /nodejs_eventloop_lag_p99_seconds/);
  assert.equal(text.includes('patient-smith-ssn-123'), false, 'a URL never becomes a label');
});
