/**
 * The ledger API at /ledger: status, transaction submission and lookup, blocks and RFC 9162
 * proofs. Paths are fixed so that others can script against them. Who may read which route is
 * ledger-auth.ts's to decide.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isHex } from '../crypto/index.js';
import { AGREEMENT_TABLE, AGREEMENTS } from '../contracts/index.js';
import { blockHashOfHeight, nodeStatus } from './status.js';
import { ProofRequestError, type NodeFacade, type SubmitRejection } from '../node/index.js';
import { ApiError } from './api-error.js';
import { STORAGE_RETRY_AFTER_SECONDS } from '../fhir/index.js';
import type { AuthServer } from './auth/index.js';
import { ledgerGrant, ledgerGuard, trailPatientOf } from './ledger-auth.js';
import { registerBreakTheGlassRoutes } from './ledger-break-the-glass.js';
import { registerAccessSearch } from './access-search.js';
import { trailItems } from './trail-items.js';
import { registerTrailStream } from './trail-stream.js';
import { treeHeadDocument } from './tree-head.js';
import { TRAIL_PAGE_MAX, TX_WIRE_BYTES_MAX } from '../ledger/index.js';

const HEIGHT_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** Parses a non-negative integer path or query parameter; throws ApiError naming it. */
function parseCount(value: unknown, name: string): number {
  if (
    typeof value !== 'string' ||
    !HEIGHT_PATTERN.test(value) ||
    !Number.isSafeInteger(Number(value))
  ) {
    throw new ApiError(400, 'bad-request', `${name} must be a non-negative integer`);
  }
  return Number(value);
}

function optionalCount(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : parseCount(value, name);
}

const SUBMIT_STATUS: Record<SubmitRejection, number> = {
  'invalid:malformed': 400,
  'invalid:oversized': 413,
  'invalid:unknown-type': 400,
  'invalid:unknown-signer': 403,
  'invalid:bad-signature': 403,
  'invalid:duplicate-txid': 409,
  'invalid:stale-nonce': 409,
  'denied:signer-inactive': 403,
  'unavailable:queue-full': 503,
  'unavailable:halted': 503,
  'unavailable:disk-full': 503,
  'unavailable:ordering': 503,
};

async function submit(node: NodeFacade, body: unknown, reply: FastifyReply): Promise<unknown> {
  if (!(body instanceof Uint8Array))
    throw new ApiError(400, 'bad-request', 'body must be a JSON transaction');
  const result = await node.submit(body);
  if (result.ok) return reply.code(202).send({ txId: result.txId });
  if (result.status === 'unavailable:queue-full' || result.status === 'unavailable:ordering')
    void reply.header('retry-after', '1');
  if (result.status === 'unavailable:disk-full')
    void reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS));
  return reply
    .code(SUBMIT_STATUS[result.status])
    .send({ error: result.status, reason: result.reason });
}

function proofError(error: unknown): never {
  if (error instanceof ProofRequestError)
    throw new ApiError(error.kind === 'not-found' ? 404 : 400, error.kind, error.message);
  throw error;
}

/**
 * Registers the /ledger routes for `node`. Reads other than the status and signed tree heads
 * need a bearer token from `auth`; without `auth` they are refused (401).
 */
export function registerLedgerRoutes(
  app: FastifyInstance,
  node: NodeFacade,
  auth?: AuthServer,
): void {
  const audit = { onRequest: ledgerGuard(node, auth, 'audit') };
  const proof = { onRequest: ledgerGuard(node, auth, 'proof') };
  app.get('/ledger/status', async () => nodeStatus(node));

  app.get<{ Querystring: Record<string, unknown> }>('/ledger/tree-head', async (request) => {
    const treeSize = optionalCount(request.query['treeSize'], 'treeSize') ?? node.head().logSize;
    const document = treeHeadDocument(node, treeSize);
    if (document === undefined)
      throw new ApiError(
        404,
        'not-found',
        'treeSize must be the logSize of a committed block (a signed tree head)',
      );
    return document;
  });

  app.post('/ledger/tx', { bodyLimit: TX_WIRE_BYTES_MAX }, async (request, reply) =>
    submit(node, request.body, reply),
  );

  app.get<{ Params: { txId: string } }>('/ledger/tx/:txId', audit, async (request) => {
    const { txId } = request.params;
    if (!isHex(txId, 32))
      throw new ApiError(400, 'bad-request', 'txId must be 32 bytes of lowercase hex');
    const found = node.lookupTx(txId);
    if (found === undefined) throw new ApiError(404, 'not-found', 'no transaction has that txId');
    return found;
  });

  app.get<{ Params: { height: string } }>('/ledger/blocks/:height', audit, async (request) => {
    const height = parseCount(request.params.height, 'height');
    const block = node.block(height);
    if (block === undefined) throw new ApiError(404, 'not-found', `no block at height ${height}`);
    return { hash: blockHashOfHeight(node, height), ...block };
  });

  app.get<{ Querystring: Record<string, unknown> }>(
    '/ledger/proof/inclusion',
    proof,
    async (request) => {
      const { txId, treeSize } = request.query;
      if (!isHex(txId, 32))
        throw new ApiError(400, 'bad-request', 'txId must be 32 bytes of lowercase hex');
      const size = optionalCount(treeSize, 'treeSize');
      try {
        return node.ledger.inclusionProof(txId, size);
      } catch (error) {
        return proofError(error);
      }
    },
  );

  app.get<{ Params: { height: string } }>('/ledger/checkpoints/:height', async (request) => {
    const height = parseCount(request.params.height, 'height');
    if (height > node.head().height && node.checkpoints.at(height).checkpoints.length === 0)
      throw new ApiError(404, 'not-found', `no checkpoint at height ${height}`);
    return node.checkpoints.at(height);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/ledger/trail', async (request, reply) => {
    const patientId = trailPatientOf(
      node,
      await ledgerGrant(auth, request, reply),
      request.query['patient'],
    );
    const fromSeq = optionalCount(request.query['fromSeq'], 'fromSeq') ?? 1;
    if (fromSeq < 1) throw new ApiError(400, 'bad-request', 'fromSeq counts from 1');
    const limit = Math.min(
      optionalCount(request.query['limit'], 'limit') ?? TRAIL_PAGE_MAX,
      TRAIL_PAGE_MAX,
    );
    return { patient: patientId, entries: trailItems(node, patientId, { fromSeq, limit }) };
  });

  registerTrailStream(app, node, auth);
  registerBreakTheGlassRoutes(app, node, auth);

  app.get('/ledger/erasures', audit, async () => ({ erasures: node.erasures() }));

  registerAccessSearch(app, node, auth);

  // The registry of data-sharing agreements, terminated ones included: terms between organisations, no patient in them.
  app.get('/ledger/agreements', audit, async () => ({
    agreements: node.ledger
      .stateKeys(AGREEMENT_TABLE)
      .map((id) => AGREEMENTS.get(node.ledger.state, id)!),
  }));

  app.get<{ Params: { recordId: string } }>(
    '/ledger/erasures/:recordId',
    audit,
    async (request) => {
      const status = node.erasure(request.params.recordId);
      if (status === undefined)
        throw new ApiError(404, 'not-found', 'that record has not been erased');
      return status;
    },
  );

  app.get<{ Querystring: Record<string, unknown> }>(
    '/ledger/proof/consistency',
    proof,
    async (request) => {
      const first = parseCount(request.query['first'], 'first');
      const second = parseCount(request.query['second'], 'second');
      try {
        return node.ledger.consistencyProof(first, second);
      } catch (error) {
        return proofError(error);
      }
    },
  );
}
