/**
 * GET /ledger/trail/stream: a patient's trail as Server-Sent Events, for the same readers as GET
 * /ledger/trail. Each entry is one `entry` event whose id is its seq and whose data is the trail
 * item /ledger/trail serves; new entries are sent as their blocks commit, never polled for. A
 * client resumes with `Last-Event-ID` (the last seq it saw) or `fromSeq`; without either it gets
 * only entries committed after it connected. A comment every 15 s keeps proxies from cutting
 * the connection. A new or updated version of one of the patient's records is a `record` event
 * ({record: 'Type/id' or null, version}, ids only, no id line, so resuming still counts trail
 * entries): the app shows new records without a reload. The stream ends when the client goes, when its token expires (it reconnects
 * with a fresh one, so a disabled account stops reading), or when the server closes.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import {
  AUDIT_ENTRY_TABLE,
  RECORDS,
  auditCount,
  principalKey,
  type RecordRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import { fhirReferenceOf } from '../fhir/index.js';
import type { NodeFacade } from '../node/index.js';
import { ApiError } from './api-error.js';
import { bearerToken, type AuthServer } from './auth/index.js';
import { ledgerGrant, trailPatientOf } from './ledger-auth.js';
import { trailItems } from './trail-items.js';
import {
  TRAIL_STREAMS_MAX,
  TRAIL_STREAMS_PER_CALLER_MAX,
  TRAIL_STREAM_UNREAD_BYTES_MAX,
} from '../ledger/index.js';

/** How often an idle stream sends a comment. */
export const TRAIL_KEEP_ALIVE_MS = 15_000;
/** Entries read from state and written at a time; the next page waits for the client to drain. */
const PAGE = 100;
/** setTimeout's longest delay. */
const TIMER_MAX_MS = 2 ** 31 - 1;

/** Registers the route; `keepAliveMs` is shortened by tests. */
export function registerTrailStream(
  app: FastifyInstance,
  node: NodeFacade,
  auth: AuthServer | undefined,
  options: { keepAliveMs?: number } = {},
): void {
  const streams = new TrailStreams(node);
  app.addHook('preClose', async () => streams.closeAll());
  app.addHook('onClose', async () => streams.stop());
  app.get<{ Querystring: Record<string, unknown> }>(
    '/ledger/trail/stream',
    async (request, reply) => {
      const grant = await ledgerGrant(auth, request, reply);
      const patientId = trailPatientOf(node, grant, request.query['patient']);
      const after = startAfter(node, patientId, request);
      const caller = principalKey(grant.principal);
      if (streams.countOf(caller) >= TRAIL_STREAMS_PER_CALLER_MAX)
        throw new ApiError(
          429,
          'too-many-streams',
          `a caller may have at most ${TRAIL_STREAMS_PER_CALLER_MAX} streams open at once`,
        );
      if (streams.total >= TRAIL_STREAMS_MAX) {
        void reply.header('retry-after', '30');
        throw new ApiError(
          503,
          'unavailable:streams',
          'this node has as many open streams as it serves; try again shortly',
        );
      }
      const stream = new TrailStream(node, patientId, after, reply.raw, {
        keepAliveMs: options.keepAliveMs ?? TRAIL_KEEP_ALIVE_MS,
        endsAt: expiryOf(request),
      });
      reply.hijack();
      streams.add(stream, caller);
      stream.open(reply.getHeaders() as OutgoingHttpHeaders);
      return reply;
    },
  );
}

/** The seq after which to send: Last-Event-ID's, else the one before `fromSeq`, else the newest now. */
function startAfter(
  node: NodeFacade,
  patientId: string,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
): number {
  const lastEventId = request.headers['last-event-id'];
  if (lastEventId !== undefined) return seqOf(lastEventId, 'Last-Event-ID', 0);
  const fromSeq = request.query['fromSeq'];
  if (fromSeq !== undefined) return seqOf(fromSeq, 'fromSeq', 1) - 1;
  return auditCount(node.ledger.state, patientId);
}

function seqOf(value: unknown, name: string, min: number): number {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,14})$/.test(value) || Number(value) < min)
    throw new ApiError(400, 'bad-request', `${name} must be a whole number from ${min}`);
  return Number(value);
}

/** When the caller's (already verified) bearer token expires, in milliseconds since the epoch. */
function expiryOf(request: FastifyRequest): number {
  const exp = decodeJwt(bearerToken(request.headers.authorization)).exp;
  return exp === undefined ? Number.POSITIVE_INFINITY : exp * 1000;
}

/** Every open stream by patient, told when their trail grows; and how many each caller holds. */
class TrailStreams {
  readonly #byPatient = new Map<string, Set<TrailStream>>();
  readonly #byCaller = new Map<string, number>();
  #total = 0;
  readonly #unsubscribe: () => void;

  constructor(node: NodeFacade) {
    this.#unsubscribe = node.onCommitted((writeSet) => this.#committed(writeSet));
  }

  get total(): number {
    return this.#total;
  }

  countOf(caller: string): number {
    return this.#byCaller.get(caller) ?? 0;
  }

  add(stream: TrailStream, caller: string): void {
    const open = this.#byPatient.get(stream.patientId) ?? new Set();
    this.#byPatient.set(stream.patientId, open.add(stream));
    this.#byCaller.set(caller, this.countOf(caller) + 1);
    this.#total++;
    stream.onEnd(() => {
      open.delete(stream);
      if (open.size === 0) this.#byPatient.delete(stream.patientId);
      const left = this.countOf(caller) - 1;
      if (left === 0) this.#byCaller.delete(caller);
      else this.#byCaller.set(caller, left);
      this.#total--;
    });
  }

  closeAll(): void {
    for (const open of [...this.#byPatient.values()]) for (const stream of [...open]) stream.end();
  }

  stop(): void {
    this.closeAll();
    this.#unsubscribe();
  }

  /** Audit entries are keyed `${patientId}|${seq}`: the streams of each patient catch up, after the commit rather than inside it. */
  #committed(writeSet: readonly WriteSetEntry[]): void {
    const touched = new Set(
      writeSet
        .filter(([table]) => table === AUDIT_ENTRY_TABLE)
        .map(([, key]) => key.slice(0, key.lastIndexOf('|'))),
    );
    const streams = [...touched].flatMap((patientId) => [
      ...(this.#byPatient.get(patientId) ?? []),
    ]);
    const records = writeSet.flatMap(([table, , value]) => RECORDS.rowOf(table, value) ?? []);
    const written = records.filter(
      (record) =>
        record.patientId !== null &&
        record.status === 'active' &&
        this.#byPatient.has(record.patientId),
    );
    if (streams.length === 0 && written.length === 0) return;
    setImmediate(() => {
      streams.forEach((stream) => void stream.flush());
      for (const record of written)
        this.#byPatient.get(record.patientId!)?.forEach((stream) => stream.recordChanged(record));
    });
  }
}

/** One client's stream of one patient's trail. */
class TrailStream {
  #last: number;
  #flushing = false;
  #again = false;
  #ended = false;
  readonly #endListeners: (() => void)[] = [];
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly node: NodeFacade,
    readonly patientId: string,
    after: number,
    private readonly raw: ServerResponse,
    private readonly options: { readonly keepAliveMs: number; readonly endsAt: number },
  ) {
    this.#last = after;
  }

  /** Sends the head (with `headers`, the security headers the app's hooks set), then everything after the start. */
  open(headers: OutgoingHttpHeaders): void {
    this.raw.on('close', () => this.end());
    this.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    this.raw.flushHeaders();
    this.#timers.push(setInterval(() => this.#write(': keep-alive\n\n'), this.options.keepAliveMs));
    this.#timers.push(
      setTimeout(
        () => this.end(),
        Math.min(Math.max(this.options.endsAt - Date.now(), 0), TIMER_MAX_MS),
      ),
    );
    void this.flush();
  }

  onEnd(listener: () => void): void {
    this.#endListeners.push(listener);
  }

  /** Writes every entry after the last one sent, a page at a time, waiting for a slow client to drain; one flush at a time. */
  async flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = true;
    try {
      do {
        this.#again = false;
        while (!this.#ended && this.#writePage()) await this.#drained();
      } while (this.#again && !this.#ended);
    } catch {
      this.end(); // the client resumes from the last id it saw
    } finally {
      this.#flushing = false;
    }
  }

  /** Writes the next page; false when there was nothing left to write. */
  #writePage(): boolean {
    const items = trailItems(this.node, this.patientId, { fromSeq: this.#last + 1, limit: PAGE });
    for (const item of items) {
      this.raw.write(`event: entry\nid: ${item.entry.seq}\ndata: ${JSON.stringify(item)}\n\n`);
      this.#last = item.entry.seq;
    }
    return items.length > 0;
  }

  /** Tells the client that `record`, one of the patient's, has a new version: ids only; it reads the record like any other. */
  recordChanged(record: RecordRow): void {
    if (this.#ended) return;
    this.#write(
      `event: record\ndata: ${JSON.stringify({ record: fhirReferenceOf(this.node, record.recordId) ?? null, version: record.latestVersion })}\n\n`,
    );
  }

  /** Writes `frame` unless the client has left more than TRAIL_STREAM_UNREAD_BYTES_MAX unread, which ends the stream instead. */
  #write(frame: string): void {
    if (this.raw.writableLength > TRAIL_STREAM_UNREAD_BYTES_MAX) this.end();
    else this.raw.write(frame);
  }

  async #drained(): Promise<void> {
    if (!this.raw.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.raw.off('drain', done).off('close', done);
        resolve();
      };
      this.raw.on('drain', done).on('close', done);
    });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (!this.raw.writableEnded) this.raw.end();
    for (const listener of this.#endListeners) listener();
  }
}
