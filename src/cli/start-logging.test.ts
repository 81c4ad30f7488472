/**
 * The logs `chartchain start` writes must hold no health data, tokens or passwords: a node
 * logging to a buffer serves a real login, a create and a search of a patient with a
 * distinctive name, and the captured log is then searched for all three.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { AuthServer, buildServer, createDemoUsers, DEMO_PASSWORD } from '../api/index.js';
import { ChartChainNode } from '../node/index.js';
import { publicClients } from './demo-clients.js';
import { freePort } from './free-port.js';
import { login } from './login.js';

const FAMILY = 'Xanthoptera';
const GIVEN = 'Quillonette';

test('request logs carry request ids and route patterns, never names, tokens, passwords or query strings', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-logs-'));
  ChartChainNode.init(dir, {
    orgId: 'demo-practice',
    orgName: 'Demo Practice',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const keys = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-ada', ...keys }),
      )
    ).status,
    'ok',
  );
  const port = await freePort('127.0.0.1');
  const origin = `http://127.0.0.1:${port}`;
  const auth = await AuthServer.create({
    issuer: origin,
    fhirBaseUrl: `${origin}/fhir`,
    users: await createDemoUsers('demo-practice', node.homePatients),
    clients: publicClients(origin),
  });
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = buildServer(node, { auth, logger: { stream } });
  t.after(async () => {
    await app.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port });

  const token = (await login(origin, 'dr-ada', DEMO_PASSWORD, 'user/*.cruds')).access_token;
  const headers = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/fhir+json',
    cookie: `session=${token}`,
  };
  const created = await fetch(`${origin}/fhir/Patient`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: FAMILY, given: [GIVEN] }],
      birthDate: '1961-07-04',
    }),
  });
  assert.equal(created.status, 201, await created.text());
  const searched = await fetch(`${origin}/fhir/Patient?family=${FAMILY}&given=${GIVEN}`, {
    headers,
  });
  assert.equal(searched.status, 200);
  const refused = await fetch(`${origin}/fhir/Patient?name=${FAMILY}`, {
    headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` },
  });
  assert.equal(refused.status, 401);

  const log = lines.join('');
  const entries = lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { reqId?: string; req?: { route?: string } });
  assert.ok(
    entries.some((entry) => entry.reqId !== undefined && entry.req?.route === '/fhir/:type'),
    'requests are logged with their id and route pattern',
  );
  for (const secret of [
    FAMILY,
    GIVEN,
    '1961-07-04',
    'eyJ',
    DEMO_PASSWORD,
    token.slice(-16),
    'family=',
    'password',
  ]) {
    assert.ok(!log.includes(secret), `the log holds ${secret}`);
  }
});
