/** The HTTP server: Fastify with one error vocabulary, raw JSON bodies and the /ledger routes. */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { ChartChainNode } from '../node/index.js';
import { ApiError } from './api-error.js';
import { registerLedgerRoutes } from './ledger-routes.js';

/** Largest request body the server reads at all; routes may set lower limits. */
export const HTTP_BODY_BYTES_MAX = 16 * 1024 * 1024;

/** Builds (but does not start) the HTTP app for `node`. */
export function buildServer(node: ChartChainNode, options: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: HTTP_BODY_BYTES_MAX });
  // Bodies arrive as bytes: the ledger parses and canonicalises transactions itself, so the
  // reason for a malformed one is ours, not a framework's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, new Uint8Array(body as Buffer)));
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send({ error: error.code, reason: error.message });
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const reason = statusCode === 500 ? 'internal error' : error.message;
    if (statusCode === 500) app.log.error(error);
    return reply.code(statusCode).send({ error: statusCode === 500 ? 'internal' : 'bad-request', reason });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', reason: `no route ${request.method} ${request.url.split('?')[0]}` }));
  registerLedgerRoutes(app, node);
  return app;
}
