/** The HTTP server: Fastify with raw bodies, the /ledger routes with one {error, reason} vocabulary, and optionally SMART auth and /fhir. */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { ChartChainNode } from '../node/index.js';
import { ApiError } from './api-error.js';
import { registerAuthRoutes, type AuthServer } from './auth/index.js';
import { registerFhirRoutes } from './fhir-routes.js';
import { registerLedgerRoutes } from './ledger-routes.js';
import { registerPeerRoutes } from './peer-routes.js';
import { smartFhirAuth } from './smart-fhir-auth.js';
import { HTTP_BODY_BYTES_MAX } from './limits.js';

export { HTTP_BODY_BYTES_MAX } from './limits.js';

/**
 * Builds (but does not start) the HTTP app for `node`: /ledger and /peer always; with `auth`, also the
 * SMART authorization endpoints and the FHIR API at /fhir.
 */
export function buildServer(node: ChartChainNode, options: { logger?: boolean; auth?: AuthServer; ledger?: 'on' | 'off-for-benchmarks' } = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: HTTP_BODY_BYTES_MAX,
    // The router refuses some URLs (a malformed percent escape, an over-long path parameter)
    // before any route or error handler runs; without this they get Fastify's own body.
    frameworkErrors: (error, _request, reply) => {
      const { statusCode, ...body } = refusalOf(error);
      void (reply as FastifyReply).code(statusCode).send(body);
    },
  });
  // Bodies arrive as bytes: the ledger parses and canonicalises transactions itself, so the
  // reason for a malformed one is ours, not a framework's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, new Uint8Array(body as Buffer)));
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const { statusCode, ...body } = refusalOf(error);
    if (statusCode === 500) app.log.error(error);
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', reason: `no route ${request.method} ${request.url.split('?')[0]}` }));
  registerLedgerRoutes(app, node);
  registerPeerRoutes(app, node);
  if (options.auth !== undefined) {
    registerAuthRoutes(app, options.auth);
    registerFhirRoutes(app, node, smartFhirAuth(options.auth), options.ledger);
  }
  return app;
}

/** The one {error, reason} vocabulary for every failure; anything not a 4xx is an opaque 500. */
function refusalOf(error: FastifyError | ApiError): { statusCode: number; error: string; reason: string } {
  if (error instanceof ApiError) return { statusCode: error.statusCode, error: error.code, reason: error.message };
  const statusCode = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (statusCode === 500) return { statusCode, error: 'internal', reason: 'internal error' };
  return { statusCode, error: 'bad-request', reason: error.message };
}
