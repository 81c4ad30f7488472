/**
 * Break-the-glass under /ledger: the privacy officer's list of this organisation's events and
 * their verdict on each, and a patient's view of the events that concern them, each with the
 * practitioner's reads while the glass was broken. Who sees what is break-the-glass-view.ts's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AccessLogUnavailableError,
  BreakTheGlassRefusedError,
  isNoteText,
  type NodeFacade,
} from '../node/index.js';
import { ApiError } from './api-error.js';
import type { AuthServer } from './auth/index.js';
import { refusalWords } from './break-the-glass-refusals.js';
import {
  BTG_STATUSES,
  eventFor,
  eventReaderOf,
  eventsFor,
  itemOf,
  readsDuring,
  type BreakTheGlassStatus,
} from './break-the-glass-view.js';
import { ledgerGrant } from './ledger-auth.js';
import { BTG_REASON_LENGTH_MAX, BTG_REVIEW_BODY_BYTES_MAX } from '../ledger/index.js';

type Params = { btgId: string };

/** Registers the /ledger/break-the-glass routes. */
export function registerBreakTheGlassRoutes(
  app: FastifyInstance,
  node: NodeFacade,
  auth: AuthServer | undefined,
): void {
  app.get<{ Querystring: Record<string, unknown> }>(
    '/ledger/break-the-glass',
    async (request, reply) => {
      const reader = eventReaderOf(node, await ledgerGrant(auth, request, reply));
      const rows = eventsFor(node, reader, statusOf(request.query['status']));
      return { events: await Promise.all(rows.map((row) => itemOf(node, reader, row))) };
    },
  );

  app.get<{ Params: Params }>('/ledger/break-the-glass/:btgId', async (request, reply) => {
    const reader = eventReaderOf(node, await ledgerGrant(auth, request, reply));
    const row = eventFor(node, reader, request.params.btgId);
    if (row === undefined)
      throw new ApiError(404, 'not-found', 'no break-the-glass event of yours has that id');
    return { ...(await itemOf(node, reader, row)), reads: readsDuring(node, row) };
  });

  app.post<{ Params: Params }>(
    '/ledger/break-the-glass/:btgId/review',
    { bodyLimit: BTG_REVIEW_BODY_BYTES_MAX },
    async (request, reply) => {
      const grant = await ledgerGrant(auth, request, reply);
      if (grant.principal.kind !== 'auditor' || grant.principal.org !== node.config.orgId)
        throw new ApiError(
          403,
          'forbidden',
          'only a privacy officer (auditor) of the organisation that broke the glass reviews it',
        );
      const { btgId } = request.params;
      if (eventFor(node, { kind: 'organisation' }, btgId) === undefined)
        throw new ApiError(
          404,
          'not-found',
          'no break-the-glass event of this organisation has that id',
        );
      const verdict = reviewBody(request);
      await review(node, btgId, verdict);
      return { btgId, justified: verdict.justified };
    },
  );
}

function statusOf(value: unknown): BreakTheGlassStatus {
  if (value === undefined) return 'all';
  if (typeof value === 'string' && (BTG_STATUSES as readonly string[]).includes(value))
    return value as BreakTheGlassStatus;
  throw new ApiError(400, 'bad-request', `status must be one of ${BTG_STATUSES.join(', ')}`);
}

/** Submits the verdict; the contract's refusal (already reviewed, a denied event, …) is a 409 in plain words. */
async function review(
  node: NodeFacade,
  btgId: string,
  verdict: { justified: boolean; note?: string },
): Promise<void> {
  try {
    await node.breakTheGlass.review(btgId, verdict.justified, verdict.note);
  } catch (error) {
    if (error instanceof BreakTheGlassRefusedError)
      throw new ApiError(409, error.status, refusalWords(error.status));
    if (error instanceof AccessLogUnavailableError)
      throw new ApiError(
        503,
        error.status,
        'the review could not be submitted to the ledger; retry later',
      );
    throw error;
  }
}

/** `{justified: boolean, note?: string}` as JSON; a 415 or 400 naming what is wrong. */
function reviewBody(request: FastifyRequest): { justified: boolean; note?: string } {
  const mediaType = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (mediaType !== 'application/json' || !(request.body instanceof Uint8Array))
    throw new ApiError(415, 'unsupported-media-type', 'the body must be application/json');
  const body = parseObject(request.body);
  const extra = Object.keys(body).find((key) => key !== 'justified' && key !== 'note');
  if (extra !== undefined)
    throw new ApiError(
      400,
      'bad-request',
      `unknown field ${extra}: a review is {justified, note?}`,
    );
  if (typeof body['justified'] !== 'boolean')
    throw new ApiError(400, 'bad-request', 'justified must be true or false');
  const note = body['note'];
  if (note === undefined) return { justified: body['justified'] };
  if (typeof note !== 'string' || !isNoteText(note)) {
    throw new ApiError(
      400,
      'bad-request',
      `note must be one line of 1 to ${BTG_REASON_LENGTH_MAX} characters`,
    );
  }
  return { justified: body['justified'], note };
}

function parseObject(bytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, 'bad-request', 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ApiError(400, 'bad-request', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}
