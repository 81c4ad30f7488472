/**
 * Routes other organisations' nodes call, authenticated by a signature with their on-chain
 * organisation key (src/node/peer-auth.ts), never by a user token. `GET /peer/blobs/:hash`
 * serves a ciphertext (never plaintext, never keys) to a member organisation holding a key
 * envelope on a version with that hash; to anyone else it is a 404, as if absent.
 */
import type { FastifyInstance } from 'fastify';
import { isHex } from '../crypto/index.js';
import type { ChartChainNode } from '../node/index.js';
import { ApiError } from './api-error.js';

/** Registers the /peer routes for `node`. */
export function registerPeerRoutes(app: FastifyInstance, node: ChartChainNode): void {
  app.get<{ Params: { hash: string } }>('/peer/blobs/:hash', async (request, reply) => {
    const auth = node.peerAuth.verify(request.method, request.url, request.headers);
    if (!auth.ok) throw new ApiError(401, 'unauthorized', `peer request refused: ${auth.reason}`);
    const { hash } = request.params;
    if (!isHex(hash, 32)) throw new ApiError(400, 'bad-request', 'hash must be 32 bytes of lowercase hex');
    const bytes = node.peerBlobs.serve(auth.orgId, hash);
    if (bytes === undefined) throw new ApiError(404, 'not-found', 'no such blob for this organisation');
    return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
