import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { auditCount } from '../contracts/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import { buildServer } from './server.js';
import { send, serveCharts } from './testonly/served-node-fixture.js';
import { registerTrailStream } from './trail-stream.js';
import { TRAIL_STREAMS_PER_CALLER_MAX } from '../ledger/index.js';

/** One server-sent event, or a comment. */
interface Frame {
  readonly event?: string;
  readonly id?: string;
  readonly data?: string;
  readonly comment?: string;
}

/** The frames of an event stream as they arrive. */
async function* framesOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
      yield frameOf(buffer.slice(0, at));
      buffer = buffer.slice(at + 2);
    }
  }
}

function frameOf(block: string): Frame {
  const frame: Record<string, string> = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame['comment'] = line.slice(1).trim();
    else
      frame[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1).replace(/^ /, '');
  }
  return frame;
}

/** `promise`, or a failure after `ms`: nothing here may wait for ever. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Stream {
  readonly response: Response;
  /** The next frame that is not a comment (or, with `comments`, any frame); undefined once the stream ended. */
  next(options?: { comments?: boolean; ms?: number }): Promise<Frame | undefined>;
  close(): void;
}

async function openStream(
  t: TestContext,
  base: string,
  headers: Record<string, string>,
  query = '',
): Promise<Stream> {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const response = await within(
    fetch(`${base}/ledger/trail/stream${query}`, { headers, signal: controller.signal }),
    5_000,
    'the stream head',
  );
  const frames = response.body === null ? undefined : framesOf(response.body);
  const next = async ({ comments = false, ms = 5_000 } = {}): Promise<Frame | undefined> => {
    for (;;) {
      const result = await within(frames!.next(), ms, 'the next frame');
      if (result.done === true) return undefined;
      if (comments || result.value.comment === undefined) return result.value;
    }
  };
  return { response, next, close: () => controller.abort() };
}

/** Polls until `done` holds, for at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const deadline = performance.now() + 10_000; !done(); await sleep(5))
    assert.ok(performance.now() < deadline, 'timed out');
}

async function listening(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

type TrailPage = { entries: { entry: { seq: number; recordId: string | null } }[] };

test('GET /ledger/trail/stream sends each new trail entry as it commits, as /ledger/trail serves it; fromSeq and Last-Event-ID replay what was missed', async (t) => {
  const { app, node, patientId, as } = await serveCharts(t);
  const base = await listening(app);
  const page = async (fromSeq: number, limit = 500) =>
    (
      await send<TrailPage>(
        app,
        'GET',
        `/ledger/trail?fromSeq=${fromSeq}&limit=${limit}`,
        as.patient,
      )
    ).body.entries;
  assert.equal((await send(app, 'GET', '/fhir/Patient/patient-0001', as.doctor)).status, 200);
  await until(() => auditCount(node.store.state, patientId) === 1);
  const before = 1;

  const live = await openStream(t, base, as.patient);
  assert.equal(live.response.status, 200);
  assert.match(String(live.response.headers.get('content-type')), /^text\/event-stream/);
  assert.equal(live.response.headers.get('cache-control'), 'no-store');
  assert.equal(live.response.headers.get('x-content-type-options'), 'nosniff');
  const others = await openStream(t, base, as.other);

  assert.equal((await send(app, 'GET', '/fhir/Observation/hba1c-1', as.doctor)).status, 200);
  const frame = await live.next();
  assert.deepEqual(
    [frame?.event, frame?.id],
    ['entry', String(before + 1)],
    'only what committed after connecting',
  );
  assert.deepEqual(JSON.parse(frame!.data!), (await page(before + 1, 1))[0]);
  assert.equal((JSON.parse(frame!.data!) as { record: string }).record, 'Observation/hba1c-1');

  // Another patient's stream carries only their own entries.
  assert.equal((await send(app, 'GET', '/fhir/Observation/hba1c-2', as.doctor)).status, 200);
  const theirs = JSON.parse((await others.next())!.data!) as { entry: { recordId: string } };
  assert.equal(theirs.entry.recordId, node.pseudonyms.recordIdOf('Observation', 'hba1c-2'));

  const all = await page(1);
  const replay = await openStream(t, base, as.patient, '?fromSeq=1');
  for (const expected of all) {
    const replayed = await replay.next();
    assert.equal(replayed?.id, String(expected.entry.seq));
    assert.deepEqual(JSON.parse(replayed!.data!), expected);
  }
  const resumed = await openStream(t, base, {
    ...as.patient,
    'last-event-id': String(all.length - 1),
  });
  assert.equal(
    (await resumed.next())?.id,
    String(all.length),
    'Last-Event-ID is the last seq seen',
  );
});

test('GET /ledger/trail/stream refuses whom /ledger/trail refuses, before any stream opens', async (t) => {
  const { app, as } = await serveCharts(t);
  const refused = async (headers: Record<string, string>, query: string, status: number) => {
    const answer = await send(app, 'GET', `/ledger/trail/stream${query}`, headers);
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    assert.equal(typeof answer.body['reason'], 'string');
  };
  await refused(as.none, '', 401);
  await refused(as.doctor, '', 403);
  await refused(as.auditor, '', 400); // an auditor names the patient, as for /ledger/trail
  await refused(as.patient, '?fromSeq=0', 400);
  await refused(as.patient, '?fromSeq=x', 400);
  await refused({ ...as.patient, 'last-event-id': '-1' }, '', 400);
});

test('a stream sends keep-alive comments', async (t) => {
  const { node, auth, as } = await serveCharts(t);
  const app = Fastify();
  t.after(() => app.close());
  registerTrailStream(app, node, auth, { keepAliveMs: 50 });
  const stream = await openStream(t, await listening(app), as.patient);
  assert.equal(stream.response.status, 200);
  assert.deepEqual(await stream.next({ comments: true, ms: 2_000 }), { comment: 'keep-alive' });
  assert.deepEqual(await stream.next({ comments: true, ms: 2_000 }), { comment: 'keep-alive' });
});

test("a caller may hold only a few streams at once, an auditor's never take the patient's places, and a client that leaves frees its place", async (t) => {
  const { app, as, patientId } = await serveCharts(t);
  const base = await listening(app);
  const hogged: Stream[] = [];
  while (hogged.length < TRAIL_STREAMS_PER_CALLER_MAX)
    hogged.push(await openStream(t, base, as.auditor, `?patient=${patientId}`));
  assert.deepEqual(
    hogged.map((stream) => stream.response.status),
    hogged.map(() => 200),
  );
  assert.equal(
    (await openStream(t, base, as.auditor, `?patient=${patientId}`)).response.status,
    429,
    'the auditor has used their places',
  );
  const open: Stream[] = [];
  while (open.length < TRAIL_STREAMS_PER_CALLER_MAX)
    open.push(await openStream(t, base, as.patient));
  assert.deepEqual(
    open.map((stream) => stream.response.status),
    open.map(() => 200),
    'the patient still has all of theirs',
  );
  const refused = await openStream(t, base, as.patient);
  assert.deepEqual(
    [refused.response.status, ((await refused.response.json()) as { error: string }).error],
    [429, 'too-many-streams'],
  );
  assert.equal(
    (await openStream(t, base, as.other)).response.status,
    200,
    'another patient has places of their own',
  );
  assert.equal(
    (await openStream(t, base, as.auditor, '?patient=ffffffffffffffffffffffffffffffff')).response
      .status,
    404,
    'a pseudonym of nobody opens no stream',
  );

  open[0]!.close();
  const deadline = performance.now() + 5_000;
  for (;;) {
    const again = await openStream(t, base, as.patient);
    if (again.response.status === 200) break;
    again.close();
    assert.ok(performance.now() < deadline, 'the place was never freed');
    await sleep(20);
  }
});

test('closing the server ends its open streams instead of hanging, and a stream ends when its token expires', async (t) => {
  const { node, patientId } = await serveCharts(t);
  /** A whole server of its own, with tokens of `lifetimeSeconds`; closed after `t` (closing twice is harmless). */
  const server = async (tokenLifetimeSeconds?: number) => {
    const auth = await AuthServer.create({
      issuer: 'http://127.0.0.1',
      fhirBaseUrl: 'http://127.0.0.1/fhir',
      ...(tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds }),
    });
    const app = buildServer(node, { auth });
    t.after(() => app.close());
    const token = await auth.tokens.issue({
      principal: { kind: 'patient', id: patientId, org: 'practice-a' },
      scopes: parseScopes('patient/*.rs'),
    });
    return { app, base: await listening(app), headers: { authorization: `Bearer ${token}` } };
  };

  const shortLived = await server(1);
  const started = performance.now();
  const expiring = await openStream(t, shortLived.base, shortLived.headers);
  assert.equal(expiring.response.status, 200);
  assert.equal(await expiring.next({ ms: 5_000 }), undefined, 'the stream ends');
  assert.ok(performance.now() - started < 4_000);

  const closing = await server();
  const open = await openStream(t, closing.base, closing.headers);
  assert.equal(open.response.status, 200);
  await within(closing.app.close(), 5_000, 'app.close with a stream open');
  assert.equal(await open.next({ ms: 5_000 }), undefined, 'the client sees the stream end');
});

test('a new record of the patient is a `record` event on their stream, ids only; another patient hears nothing of it', async (t) => {
  const { app, as } = await serveCharts(t);
  const base = await listening(app);
  const mine = await openStream(t, base, as.patient);
  const others = await openStream(t, base, as.other);
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'HbA1c' },
    subject: { reference: 'Patient/patient-0001' },
    valueQuantity: { value: 7.1, unit: '%' },
  };
  const created = await send<{ id: string }>(
    app,
    'POST',
    '/fhir/Observation',
    as.doctor,
    observation,
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const frame = await mine.next();
  assert.equal(frame?.event, 'record');
  assert.equal(frame?.id, undefined, 'no id: Last-Event-ID keeps counting trail entries');
  assert.deepEqual(JSON.parse(frame!.data!), {
    record: `Observation/${created.body.id}`,
    version: 1,
  });
  assert.equal(frame!.data!.includes('7.1'), false, 'no content');
  await assert.rejects(
    others.next({ ms: 500 }),
    /nothing after/,
    "the other patient's stream stays quiet",
  );
});
