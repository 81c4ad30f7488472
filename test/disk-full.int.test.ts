/**
 * A real full disk: a node on a small tmpfs, filled to the last byte while it takes writes. Every
 * answer is then 201 or a 503 with Retry-After (never a bare 500), /ledger/status shows a
 * disk-full alarm, the node does not halt, and once space is freed writes succeed again, the
 * alarm clears and every acknowledged write is readable. Needs `mount -t tmpfs` (root); where
 * mounting is not permitted the test says so and skips, and the injected-fault tests in
 * src/api/storage-faults.test.ts still cover the mapping.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AuthServer, buildServer } from '../src/api/index.js';
import { parseScopes } from '../src/api/auth/index.js';
import type { JsonObject } from '../src/ledger/index.js';
import { ChartChainNode } from '../src/node/index.js';

const ORG = 'practice-a';
const ORIGIN = 'http://localhost:80';

/**
 * Writes zeros to `path` until the file system refuses, in ever smaller chunks, then frees
 * `slackBytes` again: the node gets that far before the disk is full, so writes fail wherever
 * the last bytes happen to run out (blob, queue, block commit, search index, access log).
 */
function fillDisk(path: string, slackBytes: number): void {
  const slack = `${path}.slack`;
  writeFileSync(slack, Buffer.alloc(slackBytes));
  fillCompletely(path);
  rmSync(slack);
}

function fillCompletely(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (let chunk = 1 << 20; chunk >= 512; chunk >>= 1) {
      const zeros = Buffer.alloc(chunk);
      for (;;) {
        try {
          writeSync(fd, zeros);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function alarmKinds(app: FastifyInstance): Promise<string[]> {
  return (
    (await app.inject({ url: '/ledger/status' })).json() as { alarms: { kind: string }[] }
  ).alarms.map((alarm) => alarm.kind);
}

test('a node on a disk that fills up answers 503 with Retry-After and an alarm, and recovers without losing an acknowledged write', async (t) => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'chartchain-tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', mountPoint], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    rmSync(mountPoint, { recursive: true, force: true });
    t.skip(
      `mount -t tmpfs is not permitted here (${(mounted.stderr || mounted.error?.message || `exit ${mounted.status}`).trim()}); the injected-fault tests cover disk-full`,
    );
    return;
  }
  const dir = join(mountPoint, 'data');
  const filler = join(mountPoint, 'filler');
  ChartChainNode.init(dir, {
    orgId: ORG,
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const auth = await AuthServer.create({ issuer: ORIGIN, fhirBaseUrl: `${ORIGIN}/fhir` });
  const app = buildServer(node, { auth });
  t.after(async () => {
    try {
      rmSync(filler, { force: true });
      await app.close();
      await node.close();
    } finally {
      spawnSync('umount', ['--lazy', mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
  await app.ready();
  const keys = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-ada', ...keys }),
      )
    ).status,
    'ok',
  );
  const token = await auth.tokens.issue({
    principal: { kind: 'practitioner', id: 'dr-ada', org: ORG },
    scopes: parseScopes('user/*.cruds'),
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
  const created = await app.inject({
    method: 'POST',
    url: '/fhir/Patient',
    headers,
    payload: JSON.stringify({ resourceType: 'Patient', gender: 'female' }),
  });
  assert.equal(created.statusCode, 201, created.body);
  const patientId = String((created.json() as JsonObject)['id']);
  const terms = {
    grantee: { kind: 'organisation' as const, id: ORG },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(
    await node.consent.grant(node.pseudonyms.patientIdOf(patientId)!, 'grant-disk-full', terms),
    'ok',
  );
  const observation = JSON.stringify({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Glucose' },
    subject: { reference: `Patient/${patientId}` },
    valueString: 'x'.repeat(4096),
  });
  const createObservation = () =>
    app.inject({ method: 'POST', url: '/fhir/Observation', headers, payload: observation });

  fillDisk(filler, 512 * 1024);
  const acknowledged: string[] = [];
  let refused: Awaited<ReturnType<typeof createObservation>> | undefined;
  for (let attempt = 0; attempt < 400 && refused === undefined; attempt++) {
    const response = await createObservation();
    assert.ok(
      response.statusCode === 201 || response.statusCode === 503,
      `HTTP ${response.statusCode}: ${response.body}`,
    );
    if (response.statusCode === 201)
      acknowledged.push(String((response.json() as JsonObject)['id']));
    else refused = response;
  }
  assert.ok(refused !== undefined, 'a write was refused once the disk was full');
  assert.equal(refused.headers['retry-after'], '10');
  assert.equal((refused.json() as { resourceType: string }).resourceType, 'OperationOutcome');
  assert.ok((await alarmKinds(app)).includes('disk-full'));
  assert.equal(node.halted, undefined);

  rmSync(filler);
  let recovered = await createObservation();
  for (let attempt = 0; attempt < 50 && recovered.statusCode === 503; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    recovered = await createObservation();
  }
  assert.equal(recovered.statusCode, 201, recovered.body);
  acknowledged.push(String((recovered.json() as JsonObject)['id']));
  assert.ok(
    !(await alarmKinds(app)).includes('disk-full'),
    'the alarm cleared once a write succeeded',
  );
  for (const id of acknowledged) {
    const read = await app.inject({ url: `/fhir/Observation/${id}`, headers });
    assert.equal(read.statusCode, 200, `acknowledged Observation/${id}: ${read.body}`);
  }
  // A write refused because its block could not commit in time was accepted all the same: it commits now.
  const accepted = /accepted as transaction ([0-9a-f]{64})/.exec(refused.body)?.[1];
  if (accepted !== undefined) assert.equal((await node.waitForTx(accepted, 10_000)).status, 'ok');
  assert.equal(node.halted, undefined);
});
