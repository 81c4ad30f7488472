/** Over plain HTTP from off this machine, no health data, login, token or peer route answers; loopback and the public documents do. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type {
  FastifyInstance,
  FastifyRequest,
  InjectOptions,
  LightMyRequestResponse,
} from 'fastify';
import { ChartChainNode } from '../node/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import { buildServer } from './server.js';
import { secureOrLoopback } from './transport-guard.js';

const REMOTE = '10.1.2.3';

async function served(t: TestContext): Promise<{ app: FastifyInstance; token: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-transport-'));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1',
    fhirBaseUrl: 'http://127.0.0.1/fhir',
  });
  const app = buildServer(node, { auth });
  t.after(async () => {
    await app.close();
    auth.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const token = await auth.tokens.issue({
    principal: { kind: 'auditor', id: 'auditor-ann', org: 'practice-a' },
    scopes: parseScopes('user/*.rs'),
  });
  return { app, token };
}

/** Every guarded route, with a valid token, so that only the transport can refuse it. */
const GUARDED: readonly InjectOptions[] = [
  { method: 'GET', url: '/fhir/Patient/patient-0001' },
  { method: 'HEAD', url: '/fhir/Patient/patient-0001' },
  { method: 'GET', url: '/fhir/Observation?patient=patient-0001' },
  { method: 'GET', url: '/fhir/Patient/patient-0001/$everything' },
  { method: 'GET', url: '/fhir/Patient/patient-0001/_history' },
  { method: 'GET', url: '/fhir/AuditEvent?patient=patient-0001' },
  {
    method: 'POST',
    url: '/fhir/Patient',
    headers: { 'content-type': 'application/fhir+json' },
    payload: '{"resourceType":"Patient"}',
  },
  {
    method: 'PUT',
    url: '/fhir/Patient/x',
    headers: { 'content-type': 'application/fhir+json' },
    payload: '{"resourceType":"Patient","id":"x"}',
  },
  { method: 'DELETE', url: '/fhir/Patient/x' },
  {
    method: 'POST',
    url: '/fhir',
    headers: { 'content-type': 'application/fhir+json' },
    payload: '{"resourceType":"Bundle","type":"batch"}',
  },
  { method: 'GET', url: '/fhir/no/such/route/here' },
  { method: 'GET', url: '/auth/authorize?response_type=code&client_id=x' },
  {
    method: 'POST',
    url: '/auth/authorize',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=dr-ada&password=x',
  },
  {
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'grant_type=client_credentials',
  },
  { method: 'GET', url: '/ledger/blocks/0' },
  { method: 'GET', url: `/ledger/tx/${'a'.repeat(64)}` },
  // Signed, yet it names patients, consent terms and key envelopes: not in clear across a network.
  { method: 'POST', url: '/ledger/tx', payload: 'not a transaction' },
  { method: 'GET', url: '/ledger/erasures' },
  { method: 'GET', url: `/ledger/proof/inclusion?txId=${'a'.repeat(64)}` },
  { method: 'GET', url: '/ledger/proof/consistency?first=1&second=1' },
  { method: 'GET', url: '/peer/blocks?from=0' },
  { method: 'GET', url: `/peer/blobs/${'a'.repeat(64)}` },
];

/** Routes that hold no health data and no credentials, and answer anyone. */
const PUBLIC: readonly InjectOptions[] = [
  { method: 'GET', url: '/fhir/metadata' },
  { method: 'HEAD', url: '/fhir/metadata' },
  { method: 'GET', url: '/.well-known/smart-configuration' },
  { method: 'GET', url: '/auth/jwks' },
  { method: 'GET', url: '/ledger/status' },
  { method: 'GET', url: '/ledger/tree-head' },
  { method: 'GET', url: '/ledger/checkpoints/0' },
  { method: 'GET', url: '/healthz' },
  { method: 'GET', url: '/metrics' },
];

const withToken = (
  request: InjectOptions,
  token: string,
  remoteAddress: string,
): InjectOptions => ({
  ...request,
  remoteAddress,
  headers: { ...request.headers, authorization: `Bearer ${token}` },
});

function refusedForTransport(response: LightMyRequestResponse): boolean {
  return response.statusCode === 403 && /use https:\/\//.test(response.body);
}

test('over plain HTTP from another machine every guarded route is a 403 telling the client to use HTTPS, token or not', async (t) => {
  const { app, token } = await served(t);
  for (const request of GUARDED) {
    const label = `${request.method} ${request.url}`;
    const response = await app.inject(withToken(request, token, REMOTE));
    assert.equal(response.statusCode, 403, label);
    if (request.method !== 'HEAD') assert.match(response.body, /use https:\/\//, label);
    assert.equal(
      response.headers['cache-control'],
      'no-store',
      `${label}: the refusal carries the security headers`,
    );
    assert.equal(
      (await app.inject({ ...request, remoteAddress: REMOTE })).statusCode,
      403,
      `${label} without a token`,
    );
  }
});

test('under /fhir the refusal is an OperationOutcome with code security; elsewhere the {error, reason} shape', async (t) => {
  const { app } = await served(t);
  const fhir = await app.inject({ url: '/fhir/Patient/patient-0001', remoteAddress: REMOTE });
  assert.match(String(fhir.headers['content-type']), /^application\/fhir\+json/);
  const outcome = fhir.json() as {
    resourceType: string;
    issue: Array<{ severity: string; code: string; diagnostics: string }>;
  };
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.deepEqual(
    outcome.issue.map(({ severity, code }) => [severity, code]),
    [['error', 'security']],
  );
  assert.match(outcome.issue[0]!.diagnostics, /HTTPS/);
  for (const url of ['/ledger/blocks/0', '/peer/blocks?from=0', '/auth/authorize']) {
    const body = (await app.inject({ url, remoteAddress: REMOTE })).json() as {
      error: string;
      reason: string;
    };
    assert.equal(body.error, 'forbidden', url);
    assert.match(body.reason, /only over HTTPS/, url);
  }
});

test('from loopback, over IPv4 or IPv6, the same requests reach their routes', async (t) => {
  const { app, token } = await served(t);
  for (const remoteAddress of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
    for (const request of GUARDED) {
      const response = await app.inject(withToken(request, token, remoteAddress));
      assert.ok(
        !refusedForTransport(response),
        `${request.method} ${request.url} from ${remoteAddress}: ${response.statusCode} ${response.body}`,
      );
    }
  }
  const read = await app.inject(
    withToken({ url: '/fhir/AuditEvent?patient=patient-0001' }, token, '127.0.0.1'),
  );
  assert.equal(read.statusCode, 200, 'a loopback read is served');
  assert.equal(
    (await app.inject(withToken({ url: '/ledger/blocks/0' }, token, '::1'))).statusCode,
    200,
  );
});

test('the public documents, probes and transaction submission answer from any address', async (t) => {
  const { app } = await served(t);
  for (const request of PUBLIC) {
    const response = await app.inject({ ...request, remoteAddress: REMOTE });
    assert.ok(
      !refusedForTransport(response) && response.statusCode !== 403,
      `${request.method} ${request.url}: ${response.statusCode} ${response.body}`,
    );
  }
  assert.equal(
    (await app.inject({ url: '/fhir/metadata?_format=json', remoteAddress: REMOTE })).statusCode,
    200,
  );
});

test('no spelling of a guarded path slips past: percent escapes, a trailing slash, a query, an address that only looks like loopback', async (t) => {
  const { app, token } = await served(t);
  for (const url of [
    '/%66hir/Patient/patient-0001',
    '/fhir/%50atient/patient-0001',
    '/fhir/metadata/',
    '/fhir/metadata/../Patient/patient-0001',
    '/ledger/status/../blocks/0',
    '/fhir//Patient/patient-0001',
  ]) {
    const response = await app.inject(withToken({ url }, token, REMOTE));
    assert.ok(
      response.statusCode === 403 || response.statusCode === 404,
      `${url}: ${response.statusCode} ${response.body}`,
    );
  }
  for (const remoteAddress of ['10.127.0.1', '::ffff:10.0.0.1', '1127.0.0.1', '::2']) {
    assert.equal(
      (await app.inject(withToken({ url: '/ledger/blocks/0' }, token, remoteAddress))).statusCode,
      403,
      remoteAddress,
    );
  }
  const forwarded = await app.inject(
    withToken(
      {
        url: '/ledger/blocks/0',
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' },
      },
      token,
      REMOTE,
    ),
  );
  assert.equal(forwarded.statusCode, 403, 'forwarding headers are not trusted');
});

test('a TLS connection passes from any address; plain HTTP only from loopback', () => {
  const from = (protocol: 'http' | 'https', remoteAddress: string | undefined): boolean =>
    secureOrLoopback({ protocol, socket: { remoteAddress } } as unknown as FastifyRequest);
  assert.equal(from('https', REMOTE), true);
  assert.equal(from('https', '2001:db8::1'), true);
  assert.equal(from('http', REMOTE), false);
  assert.equal(from('http', undefined), false, 'a socket already gone is not loopback');
  assert.equal(from('http', '127.0.0.1'), true);
});
