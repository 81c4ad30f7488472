import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { MEMBERSHIP_REGISTER_PRACTITIONER } from '../contracts/index.js';
import { FhirService, type SessionCheck } from '../fhir/index.js';
import { ChartChainNode } from '../node/index.js';
import { registerFhirRoutes } from './fhir-routes.js';
import { AS_DOCTOR, fhirJson, headerAuth, outcome } from './testonly/fhir-test-fixture.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

interface Received {
  readonly at: number;
  readonly authorization: string | undefined;
  readonly body: {
    entry: {
      fullUrl: string;
      request?: { method: string; url: string };
      resource?: {
        parameter: { name: string; valueCode?: string; valueString?: string; part?: unknown[] }[];
      };
    }[];
  };
}

/** A rest-hook endpoint on loopback that records what it receives, answering `status()`. */
async function receiver(t: TestContext, status: () => number = () => 200, answerAfterMs = 0) {
  const received: Received[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      const code = status();
      if (code < 300)
        received.push({
          at: Date.now(),
          authorization: request.headers.authorization,
          body: JSON.parse(text) as Received['body'],
        });
      setTimeout(() => response.writeHead(code).end(), answerAfterMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received };
}

async function open(
  dir: string,
  sessionActive?: SessionCheck,
): Promise<{ node: ChartChainNode; app: FastifyInstance }> {
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, new Uint8Array(body as Buffer)),
  );
  const service =
    sessionActive === undefined ? undefined : new FhirService(node, { sessionActive });
  if (service !== undefined) app.addHook('onClose', async () => service.close());
  registerFhirRoutes(app, node, headerAuth(node), { service });
  await app.ready();
  return { node, app };
}

async function fresh(t: TestContext, sessionActive?: SessionCheck) {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-subscriptions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const opened = await open(dir, sessionActive);
  const keys = opened.node.records.enrol('practitioner', 'dr-ada');
  const registered = await opened.node.submitAndWait(
    opened.node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: 'dr-ada', ...keys }),
  );
  assert.equal(registered.status, 'ok');
  return { dir, ...opened };
}

/** `opened` (its app, then its node) closed when test `t` ends. */
function closedAfter<T extends Awaited<ReturnType<typeof open>>>(t: TestContext, opened: T): T {
  t.after(async () => {
    await opened.app.close();
    await opened.node.close();
  });
  return opened;
}

const subscription = (endpoint: string, filter: string, content = 'id-only') => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'chart updates',
  criteria: 'urn:chartchain:topic:record-changed',
  _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: filter }] },
  channel: {
    type: 'rest-hook',
    endpoint,
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: content }] },
    header: ['Authorization: Bearer hook-secret'],
  },
});

const parameter = (received: Received, name: string) =>
  received.body.entry[0]!.resource!.parameter.find((p) => p.name === name);

async function until<T>(what: string, found: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a rest-hook subscriber hears of a new record within a second of its block, by id only, and only of its filter', async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const hook = await receiver(t);
  const patient = async (family: string) =>
    (
      (
        await app.inject(
          fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] }),
        )
      ).json() as { id: string }
    ).id;
  const [ada, grace] = [await patient('Lovelace'), await patient('Hopper')];

  const { id, handshake } = await subscribedToWeights(app, hook, ada);
  assert.equal(parameter(handshake, 'type')?.valueCode, 'handshake');
  assert.equal(handshake.authorization, 'Bearer hook-secret');

  const observation = (subject: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Weight' },
    subject: { reference: `Patient/${subject}` },
  });
  await app.inject(fhirJson('POST', '/fhir/Observation', observation(grace)));
  const written = await app.inject(fhirJson('POST', '/fhir/Observation', observation(ada)));
  const committedAt = Date.now();
  const observationId = (written.json() as { id: string }).id;
  const notice = await until('the notification', () => hook.received[1]);
  assert.ok(
    notice.at - committedAt < 1_000,
    `notified ${notice.at - committedAt} ms after the commit`,
  );
  assert.equal(parameter(notice, 'type')?.valueCode, 'event-notification');
  assert.equal(parameter(notice, 'events-since-subscription-start')?.valueString, '1');
  const focus = notice.body.entry[1]!;
  assert.ok(focus.fullUrl.endsWith(`/fhir/Observation/${observationId}`), focus.fullUrl);
  assert.equal(focus.resource, undefined, 'id-only: no content travels');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(hook.received.length, 2, "Hopper's Observation is outside the filter");

  const read = await app.inject({
    method: 'GET',
    url: `/fhir/Subscription/${id}`,
    headers: AS_DOCTOR,
  });
  assert.equal((read.json() as { status: string }).status, 'active');
  // The URL each notification names for its status answers with it.
  const statusUrl = new URL(handshake.body.entry[0]!.request!.url).pathname;
  const status = await app.inject({ method: 'GET', url: statusUrl, headers: AS_DOCTOR });
  assert.equal(status.statusCode, 200, status.body);
  const statusBody = status.json() as {
    type: string;
    entry: {
      resource: { parameter: { name: string; valueCode?: string; valueString?: string }[] };
    }[];
  };
  const named = (name: string) =>
    statusBody.entry[0]!.resource.parameter.find((p) => p.name === name);
  assert.deepEqual(
    [statusBody.type, named('type')?.valueCode, named('status')?.valueCode],
    ['searchset', 'query-status', 'active'],
  );
  assert.equal(named('events-since-subscription-start')?.valueString, '1');
  outcome(
    await app.inject({
      method: 'GET',
      url: statusUrl,
      headers: { authorization: 'Bearer practitioner:dr-bob' },
    }),
    404,
    'not-found',
  );
  outcome(
    await app.inject({
      method: 'GET',
      url: `/fhir/Subscription/${id}`,
      headers: { authorization: 'Bearer practitioner:dr-bob' },
    }),
    404,
    'not-found',
  );
  assert.equal(
    (await app.inject({ method: 'DELETE', url: `/fhir/Subscription/${id}`, headers: AS_DOCTOR }))
      .statusCode,
    204,
  );
  await app.inject(fhirJson('POST', '/fhir/Observation', observation(ada)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(hook.received.length, 2, 'nothing after the subscription ended');
});

/** A new Patient's id. */
async function newPatient(app: FastifyInstance): Promise<string> {
  const created = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'other' }),
  );
  return (created.json() as { id: string }).id;
}

/** A rest-hook subscription to `hook` for the Observations of `patientId`, once its handshake has landed. */
/** Subscribes `hook` to `patientId`'s Observations; resolves with the id and the handshake received. */
async function subscribedToWeights(
  app: FastifyInstance,
  hook: { url: string; received: Received[] },
  patientId: string,
): Promise<{ id: string; handshake: Received }> {
  const handshakes = hook.received.length;
  const created = await app.inject(
    fhirJson(
      'POST',
      '/fhir/Subscription',
      subscription(hook.url, `Observation?patient=Patient/${patientId}`),
    ),
  );
  assert.equal(created.statusCode, 201, created.body);
  const id = (created.json() as { id: string }).id;
  return { id, handshake: await until('the handshake', () => hook.received[handshakes]) };
}

test("a subscription stops notifying once its owner's sessions are ended or their account disabled", async (t) => {
  let sessionsNotBefore = 0;
  const { app } = closedAfter(
    t,
    await fresh(t, (_principal, sinceMs) => sinceMs >= sessionsNotBefore),
  );
  const hook = await receiver(t);
  const patientId = await newPatient(app);
  await subscribedToWeights(app, hook, patientId);
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'Weight' },
    subject: { reference: `Patient/${patientId}` },
  };
  await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  await until('a notification while the session stands', () => hook.received[1]);
  sessionsNotBefore = Date.now() + 1; // as `users end-sessions` or `users disable` does
  await new Promise((resolve) => setTimeout(resolve, 5));
  // A control: the same owner subscribes again in a session begun after the end, and hears.
  const control = await receiver(t);
  await subscribedToWeights(app, control, patientId);
  await app.inject(fhirJson('POST', '/fhir/Observation', observation));
  await until('the control notification', () => control.received[1]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(hook.received.length, 2, 'nothing once the sessions that created it ended');
});

test("a delivery is kept, not dropped, while whether its owner's sessions stand cannot be told yet (ids being relearnt)", async (t) => {
  let told = false;
  const { app } = closedAfter(t, await fresh(t, () => (told ? true : undefined)));
  const hook = await receiver(t);
  const created = await app.inject(
    fhirJson('POST', '/fhir/Subscription', subscription(hook.url, '', 'empty')),
  );
  assert.equal(created.statusCode, 201, created.body);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(hook.received.length, 0, 'not sent while it cannot be told');
  told = true;
  const handshake = await until('the handshake once it can', () => hook.received[0], 8_000);
  assert.equal(parameter(handshake, 'type')?.valueCode, 'handshake');
});

test("an event while whether its owner's sessions stand cannot be told yet is queued, and sent once it can", async (t) => {
  let told = true;
  const { app } = closedAfter(t, await fresh(t, () => (told ? true : undefined)));
  const hook = await receiver(t);
  const patientId = await newPatient(app);
  await subscribedToWeights(app, hook, patientId);
  told = false;
  await app.inject(
    fhirJson('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: `Patient/${patientId}` },
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(hook.received.length, 1, 'only the handshake while it cannot be told');
  told = true;
  const notice = await until('the event once it can', () => hook.received[1], 8_000);
  assert.equal(parameter(notice, 'type')?.valueCode, 'event-notification');
});

test('a subscription stored before creation times were kept still notifies an owner whose sessions ended long ago', async (t) => {
  const { dir, node, app } = await fresh(t);
  const hook = await receiver(t);
  const patientId = await newPatient(app);
  await subscribedToWeights(app, hook, patientId);
  await app.close();
  await node.close();
  // As a row written before this version: no createdAt.
  const db = new Database(join(dir, 'subscriptions.db'));
  for (const { id, row } of db.prepare('SELECT id, row FROM subscription').all() as {
    id: string;
    row: string;
  }[]) {
    const { createdAt, ...older } = JSON.parse(row) as { createdAt?: number };
    assert.equal(typeof createdAt, 'number');
    db.prepare('UPDATE subscription SET row = ? WHERE id = ?').run(JSON.stringify(older), id);
  }
  db.close();
  const endedAt = Date.now() - 60_000; // the owner's sessions were ended a minute ago
  const reopened = closedAfter(t, await open(dir, (_principal, sinceMs) => sinceMs >= endedAt));
  await reopened.app.inject(
    fhirJson('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: `Patient/${patientId}` },
    }),
  );
  const notice = await until('a notification after the upgrade', () => hook.received[1]);
  assert.equal(parameter(notice, 'type')?.valueCode, 'event-notification');
});

test('a delivery the endpoint refused is retried with back-off, and survives a restart of the node', async (t) => {
  const { dir, node, app } = await fresh(t);
  let up = false;
  const hook = await receiver(t, () => (up ? 200 : 503));
  const created = await app.inject(
    fhirJson('POST', '/fhir/Subscription', subscription(hook.url, '', 'empty')),
  );
  assert.equal(created.statusCode, 201, created.body);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await app.close();
  await node.close();
  assert.equal(hook.received.length, 0);

  up = true;
  closedAfter(t, await open(dir));
  const handshake = await until('the handshake after the restart', () => hook.received[0], 8_000);
  assert.equal(parameter(handshake, 'type')?.valueCode, 'handshake');
});

test('a Subscription the node cannot honour is refused, naming the element', async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const refused = (body: unknown, status = 422, code = 'invalid') =>
    app
      .inject(fhirJson('POST', '/fhir/Subscription', body))
      .then((response) => outcome(response, status, code));
  const base = subscription('https://app.example/hook', '');
  await refused({ ...base, criteria: 'Observation?code=1234' });
  await refused({ ...base, channel: { ...base.channel, endpoint: 'http://app.example/hook' } });
  await refused({ ...base, channel: { ...base.channel, type: 'email' } });
  await refused({
    ...base,
    channel: {
      ...base.channel,
      _payload: {
        extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }],
      },
    },
  });
  await refused({ ...base, criteria: 'urn:chartchain:topic:record-accessed' }, 403, 'forbidden');
  for (const endpoint of [
    'http://127.evil.example/hook',
    'https://10.0.0.5:2379/v3/kv/put',
    'https://[fd00::1]/hook',
  ])
    await refused({ ...base, channel: { ...base.channel, endpoint } });
  await refused({ ...base, channel: { ...base.channel, header: ['Host: internal.example'] } });
  // A patient's account subscribes over a websocket only: a rest-hook sends where its owner says.
  const patientId = await newPatient(app);
  const asPatient = { authorization: `Bearer patient:${patientId}` };
  const ownRecords = `Observation?patient=Patient/${patientId}`;
  const hook = await app.inject(
    fhirJson(
      'POST',
      '/fhir/Subscription',
      subscription('https://app.example/hook', ownRecords),
      asPatient,
    ),
  );
  assert.match(JSON.stringify(outcome(hook, 403, 'forbidden')), /websocket/);
  const socket = await app.inject(
    fhirJson(
      'POST',
      '/fhir/Subscription',
      {
        ...subscription('', ownRecords),
        channel: { type: 'websocket', payload: 'application/fhir+json' },
      },
      asPatient,
    ),
  );
  assert.equal(socket.statusCode, 201, socket.body);
});

test("one of an organisation's systems does not see another's subscriptions", async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const hook = await receiver(t);
  const as = (client: string) => ({ authorization: `Bearer system:practice-a@${client}` });
  const created = await app.inject(
    fhirJson('POST', '/fhir/Subscription', subscription(hook.url, ''), as('lab')),
  );
  assert.equal(created.statusCode, 201, created.body);
  const url = `/fhir/Subscription/${(created.json() as { id: string }).id}`;
  assert.equal((await app.inject({ method: 'GET', url, headers: as('lab') })).statusCode, 200);
  outcome(await app.inject({ method: 'GET', url, headers: as('analytics') }), 404, 'not-found');
  outcome(await app.inject({ method: 'DELETE', url, headers: as('analytics') }), 404, 'not-found');
});

test('a websocket subscription: a binding token, bind-with-token, then the handshake and each notification', async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });
  const patient = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Lovelace' }] }),
  );
  const patientId = (patient.json() as { id: string }).id;
  const body = {
    ...subscription('', `patient=Patient/${patientId}`),
    channel: { type: 'websocket', payload: 'application/fhir+json' },
  };
  const created = await app.inject(fhirJson('POST', '/fhir/Subscription', body));
  assert.equal(created.statusCode, 201, created.body);
  const id = (created.json() as { id: string }).id;
  const binding = await app.inject({
    method: 'GET',
    url: `/fhir/Subscription/${id}/$get-ws-binding-token`,
    headers: AS_DOCTOR,
  });
  const parameters = (
    binding.json() as { parameter: { name: string; valueString?: string; valueUrl?: string }[] }
  ).parameter;
  const token = parameters.find((p) => p.name === 'token')!.valueString!;
  assert.ok(
    parameters.find((p) => p.name === 'websocket-url')!.valueUrl!.endsWith('/fhir/$websocket'),
  );

  const url = `${origin.replace(/^http/, 'ws')}/fhir/$websocket`;
  const messages: Received['body'][] = [];
  const socket = new WebSocket(url);
  t.after(() => socket.close());
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Received['body']));
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(`bind-with-token ${token}`);
  const handshake = await until('the handshake', () => messages[0]);
  assert.equal(
    handshake.entry[0]!.resource!.parameter.find((p) => p.name === 'type')?.valueCode,
    'handshake',
  );
  const written = await app.inject(
    fhirJson('POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Pulse' },
      subject: { reference: `Patient/${patientId}` },
    }),
  );
  const notice = await until('the notification', () => messages[1]);
  assert.ok(
    notice.entry[1]!.fullUrl.endsWith(`/Observation/${(written.json() as { id: string }).id}`),
  );

  const stranger = new WebSocket(url);
  await new Promise((resolve) => stranger.once('open', resolve));
  stranger.send(`bind-with-token ${token}`);
  const code = await new Promise<number>((resolve) => stranger.once('close', resolve));
  assert.equal(code, 4003, 'a token binds once');
});

test('a malformed websocket frame, or an upgrade elsewhere, ends that socket and nothing else', async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const origin = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
  const upgrade = (path: string) =>
    new Promise<string>((resolve) => {
      const socket = connect(Number(origin.port), '127.0.0.1', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        // An unmasked client frame: a protocol error under RFC 6455.
        setTimeout(() => socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])), 50);
      });
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(answer));
    });
  assert.match(await upgrade('/fhir/$websocket'), /^HTTP\/1\.1 101/);
  assert.equal(await upgrade('/somewhere-else'), '');
  const alive = await app.inject({ method: 'GET', url: '/fhir/metadata' });
  assert.equal(alive.statusCode, 200, 'the node still serves');
});

test("a slow endpoint holds up only its own subscription's deliveries", async (t) => {
  const { app } = closedAfter(t, await fresh(t));
  const slow = await receiver(t, () => 200, 3_000);
  const fast = await receiver(t);
  const subscribe = async (url: string) =>
    assert.equal(
      (await app.inject(fhirJson('POST', '/fhir/Subscription', subscription(url, '')))).statusCode,
      201,
    );
  await subscribe(fast.url);
  await until('the fast handshake', () => fast.received[0]);
  await subscribe(slow.url);
  await until('the slow handshake, still unanswered', () => slow.received[0]);
  const started = Date.now();
  await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Lovelace' }] }),
  );
  await until('the fast notification', () => fast.received[1], 2_900);
  assert.ok(Date.now() - started < 1_500, `the fast endpoint waited ${Date.now() - started} ms`);
});
