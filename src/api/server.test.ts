/** The HTTP server's own defences: security headers, timeouts for slow clients, and refusing anonymous bodies unread. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { selfSignedCertificate } from '../crypto/index.js';
import { ChartChainNode } from '../node/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import {
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_KEEP_ALIVE_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
} from '../ledger/index.js';
import { securityHeaders } from './security-headers.js';
import { buildServer, type HttpTimeouts, type TlsCredentials } from './server.js';

/** A node behind the full app (SMART auth, /fhir, /ledger) listening on a free loopback port. */
async function listening(
  t: TestContext,
  timeouts: Partial<HttpTimeouts> = {},
  tls?: TlsCredentials,
): Promise<{ app: FastifyInstance; port: number; auth: AuthServer }> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-server-'));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1',
    fhirBaseUrl: 'http://127.0.0.1/fhir',
  });
  const app = buildServer(node, { auth, timeouts, ...(tls === undefined ? {} : { tls }) });
  t.after(async () => {
    await app.close();
    auth.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return { app, port: address.port, auth };
}

test('every /fhir, /auth and /ledger answer is no-store and nosniff, errors included; discovery documents may be cached briefly', async (t) => {
  const { app } = await listening(t);
  for (const url of [
    '/fhir/metadata',
    '/fhir/Patient/x',
    '/fhir/nope/1/2/3/4',
    '/ledger/status',
    '/ledger/blocks/0',
    '/ledger/nope',
    '/ledger/tree-head',
    '/auth/authorize',
    '/auth/token',
    '/ledger/tx/%zz',
    `/ledger/tx/${'a'.repeat(200)}`,
  ]) {
    const response = await app.inject({ url, method: url === '/auth/token' ? 'POST' : 'GET' });
    assert.equal(response.headers['cache-control'], 'no-store', `${url} (${response.statusCode})`);
    assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(
      response.headers['strict-transport-security'],
      undefined,
      `${url}: no HSTS over plain HTTP`,
    );
  }
  for (const url of ['/.well-known/smart-configuration', '/auth/jwks']) {
    const response = await app.inject(url);
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['cache-control']), /^public, max-age=\d+$/, url);
    assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
  }
  assert.equal(
    (await app.inject('/elsewhere')).headers['x-content-type-options'],
    'nosniff',
    'nosniff everywhere',
  );
});

test('HSTS is sent exactly when the request came over TLS', () => {
  assert.match(
    securityHeaders('/fhir/Patient/1', 'https')['strict-transport-security']!,
    /^max-age=\d{7,}$/,
  );
  assert.match(securityHeaders('/auth/jwks', 'https')['strict-transport-security']!, /^max-age=/);
  assert.equal(securityHeaders('/fhir/Patient/1', 'http')['strict-transport-security'], undefined);
  assert.equal(
    securityHeaders('/fhirish', 'http')['cache-control'],
    undefined,
    'only the paths under the prefixes',
  );
});

test('the server has headers, request and keep-alive timeouts', async (t) => {
  const { app } = await listening(t);
  assert.equal(app.server.headersTimeout, HTTP_HEADERS_TIMEOUT_MS);
  assert.equal(app.server.requestTimeout, HTTP_REQUEST_TIMEOUT_MS);
  assert.equal(app.server.keepAliveTimeout, HTTP_KEEP_ALIVE_TIMEOUT_MS);
});

test('a client sending its headers byte by byte is cut off at the headers timeout', async (t) => {
  const { port } = await listening(t, { headersMs: 400, requestMs: 1_000, checkIntervalMs: 50 });
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  const closed = new Promise<number>((resolve) =>
    socket.on('close', () => resolve(performance.now())),
  );
  const started = performance.now();
  const head = `GET /ledger/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`;
  let sent = 0;
  const drip = setInterval(() => {
    if (socket.destroyed || socket.writableEnded || sent >= head.length) return clearInterval(drip);
    socket.write(head[sent++]!);
  }, 20);
  t.after(() => clearInterval(drip));
  const closedAt = await closed;
  assert.ok(sent < head.length, `cut off after ${sent} of ${head.length} bytes`);
  assert.ok(closedAt - started < 3_000, `closed after ${Math.round(closedAt - started)} ms`);
  assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
});

test('an unauthenticated 15 MiB POST /fhir is answered 401 before the client has sent its body', async (t) => {
  const { port } = await listening(t);
  const bodyBytes = 15 * 1024 * 1024;
  let sentBytes = 0;
  const outgoing = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/fhir',
    headers: { 'content-type': 'application/fhir+json', 'content-length': bodyBytes },
  });
  const answered = new Promise<{ status: number; sentBytes: number }>((resolve) => {
    outgoing.on('response', (response) => {
      resolve({ status: response.statusCode!, sentBytes });
      response.resume();
      outgoing.destroy();
    });
  });
  outgoing.on('error', () => {});
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  outgoing.write(chunk);
  sentBytes += chunk.length;
  // The rest of the body never comes: only an answer that does not wait for it ends this.
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => {
      outgoing.destroy();
      reject(new Error('no answer while the body was incomplete'));
    }, 5_000).unref(),
  );
  const answer = await Promise.race([answered, timeout]);
  assert.equal(answer.status, 401);
  assert.ok(answer.sentBytes < bodyBytes);
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET `path` over HTTPS from 127.0.0.1, trusting only `ca`. */
function httpsGet(
  port: number,
  path: string,
  ca: string | undefined,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      { host: '127.0.0.1', port, path, headers, ...(ca === undefined ? {} : { ca }) },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body }),
        );
      },
    );
    outgoing.on('error', reject).end();
  });
}

test('over HTTPS with a self-signed certificate, /fhir answers its client with HSTS, and names https in its base URL', async (t) => {
  const { certPem, keyPem } = selfSignedCertificate();
  const { app, port, auth } = await listening(t, {}, { cert: certPem, key: keyPem });
  const anonymous = await httpsGet(port, '/fhir/Patient/patient-0001', certPem);
  assert.equal(anonymous.status, 401);
  assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);
  assert.match(String(anonymous.headers['strict-transport-security']), /^max-age=\d{7,}$/);
  const token = await auth.tokens.issue({
    principal: { kind: 'auditor', id: 'auditor-ann', org: 'practice-a' },
    scopes: parseScopes('user/*.rs'),
  });
  const read = await httpsGet(port, '/fhir/AuditEvent?patient=patient-0001', certPem, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(read.status, 200, read.body);
  assert.equal((JSON.parse(read.body) as { resourceType: string }).resourceType, 'Bundle');
  assert.match(String(read.headers['strict-transport-security']), /^max-age=/);
  const metadata = await httpsGet(port, '/fhir/metadata', certPem);
  assert.equal(
    (JSON.parse(metadata.body) as { implementation: { url: string } }).implementation.url,
    `https://127.0.0.1:${port}/fhir`,
  );
  assert.equal(
    app.server.headersTimeout,
    HTTP_HEADERS_TIMEOUT_MS,
    'the HTTPS server keeps the slow-client limits',
  );
  assert.equal(app.server.requestTimeout, HTTP_REQUEST_TIMEOUT_MS);
});

test('a client that does not trust the certificate gets no answer, and plain HTTP to the TLS port none either', async (t) => {
  const { certPem, keyPem } = selfSignedCertificate();
  const { port } = await listening(t, {}, { cert: certPem, key: keyPem });
  await assert.rejects(httpsGet(port, '/fhir/metadata', undefined), /self[- ]signed/i);
  await assert.rejects(
    httpsGet(port, '/fhir/metadata', selfSignedCertificate().certPem),
    /self[- ]signed|unable to verify/i,
  );
  await assert.rejects(fetch(`http://127.0.0.1:${port}/fhir/metadata`));
});

test('a FHIR id too long or a malformed URL is a 4xx OperationOutcome that does not quote the path, checked after the token', async (t) => {
  const { app } = await listening(t);
  const name = 'Kowalczyk'.repeat(12); // 108 characters: past Fastify's own 100
  const unauthenticated = await app.inject(`/fhir/Patient/${name}`);
  assert.equal(unauthenticated.statusCode, 401, 'the route ran: the token comes first');
  for (const url of [`/fhir/Patient/${'Kowalczyk'.repeat(120)}`, '/fhir/Patient/Kowalczyk%zz']) {
    const refused = await app.inject(url);
    assert.ok(
      [400, 414].includes(refused.statusCode),
      `${url.slice(0, 30)}: ${refused.statusCode}`,
    );
    assert.equal((refused.json() as { resourceType?: string }).resourceType, 'OperationOutcome');
    assert.doesNotMatch(refused.body, /Kowalczyk/, 'the path is not quoted back');
    assert.match(String(refused.headers['content-type']), /application\/fhir\+json/);
  }
  const ledger = await app.inject(`/ledger/tx/${'Kowalczyk'.repeat(120)}`);
  assert.equal(ledger.statusCode, 414);
  assert.doesNotMatch(ledger.body, /Kowalczyk/);
});
