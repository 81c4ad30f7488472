/**
 * Routes other organisations' nodes call, authenticated by a signature with their on-chain
 * organisation key (src/node/peer-auth.ts), never by a user token. `GET /peer/blobs/:hash`
 * serves a ciphertext (never plaintext, never keys) to a member organisation holding a key
 * envelope on a version with that hash; to anyone else it is a 404, as if absent.
 * `GET /peer/blocks?from=H&count=N` serves committed blocks from height H, canonical JSON one
 * per line, to any active member organisation: every member holds the whole chain, and a node
 * joining late syncs the blocks the ordering service no longer keeps from here.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isHex } from '../crypto/index.js';
import { type NodeFacade } from '../node/index.js';
import { ApiError } from './api-error.js';
import { PEER_BLOCKS_COUNT_MAX } from '../ledger/index.js';

/** The organisation that signed `request`; a 401 when the signature does not hold. */
function peerOf(node: NodeFacade, request: FastifyRequest): string {
  const auth = node.peerAuth.verify(request.method, request.url, request.headers);
  if (!auth.ok) throw new ApiError(401, 'unauthorized', `peer request refused: ${auth.reason}`);
  return auth.orgId;
}

/** A whole number in [min, max] from a query parameter, or a 400 naming it. */
function boundedInteger(name: string, text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^[0-9]{1,15}$/.test(text) || value < min || value > max)
    throw new ApiError(400, 'bad-request', `${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** Registers the /peer routes for `node`. */
export function registerPeerRoutes(app: FastifyInstance, node: NodeFacade): void {
  app.get<{ Querystring: { from?: string; count?: string } }>(
    '/peer/blocks',
    async (request, reply) => {
      peerOf(node, request);
      const from = boundedInteger('from', request.query.from, 0, Number.MAX_SAFE_INTEGER);
      const count = boundedInteger(
        'count',
        request.query.count ?? String(PEER_BLOCKS_COUNT_MAX),
        1,
        PEER_BLOCKS_COUNT_MAX,
      );
      return reply
        .type('application/x-ndjson')
        .send(Buffer.from(node.ledger.blockPage(from, count)));
    },
  );

  app.get<{ Params: { hash: string } }>('/peer/blobs/:hash', async (request, reply) => {
    const orgId = peerOf(node, request);
    const { hash } = request.params;
    if (!isHex(hash, 32))
      throw new ApiError(400, 'bad-request', 'hash must be 32 bytes of lowercase hex');
    const bytes = node.peerBlobs.serve(orgId, hash);
    if (bytes === undefined)
      throw new ApiError(404, 'not-found', 'no such blob for this organisation');
    return reply
      .type('application/octet-stream')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
