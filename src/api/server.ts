/** The HTTP server: Fastify with raw bodies, the /ledger routes with one {error, reason} vocabulary, and optionally SMART auth and /fhir. */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { STORAGE_RETRY_AFTER_SECONDS } from '../fhir/index.js';
import { RecordIntegrityError, type ChartChainNode } from '../node/index.js';
import { storageFaultOf } from '../storage/index.js';
import { ApiError } from './api-error.js';
import { registerAuthRoutes, type AuthServer } from './auth/index.js';
import { registerFhirRoutes } from './fhir-routes.js';
import { registerHealthRoutes, type ReadinessCheck } from './health-routes.js';
import { registerLedgerRoutes } from './ledger-routes.js';
import { registerMetrics } from './metrics.js';
import { smartFhirAuth } from './smart-fhir-auth.js';
import { HTTP_BODY_BYTES_MAX } from './limits.js';
import { loggerOptions, type ServerLogger } from './logging.js';

export { HTTP_BODY_BYTES_MAX } from './limits.js';
export type { ServerLogger } from './logging.js';

/**
 * Builds (but does not start) the HTTP app for `node`: /ledger, /healthz, /readyz and /metrics
 * always; with `auth`, also the SMART authorization endpoints and the FHIR API at /fhir.
 * `logger` turns on structured JSON logs (see logging.ts for what they leave out); off by
 * default, so tests stay quiet.
 */
export function buildServer(node: ChartChainNode, options: { logger?: ServerLogger; auth?: AuthServer; ledger?: 'on' | 'off-for-benchmarks'; readiness?: readonly ReadinessCheck[] } = {}): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions(options.logger ?? false),
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
    if (statusCode >= 500) reply.log.error({ err: error }, body.reason);
    if (statusCode === 503) void reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS));
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not-found', reason: `no route ${request.method} ${request.url.split('?')[0]}` }));
  registerMetrics(app, node);
  registerHealthRoutes(app, node, options.readiness);
  registerLedgerRoutes(app, node);
  if (options.auth !== undefined) {
    registerAuthRoutes(app, options.auth);
    registerFhirRoutes(app, node, smartFhirAuth(options.auth), options.ledger);
  }
  return app;
}

/**
 * The one {error, reason} vocabulary for every failure: a full disk is 503 (retry later), a
 * record failing its integrity checks or a damaged store a named 500; anything else not a 4xx
 * is an opaque 500.
 */
function refusalOf(error: FastifyError | ApiError): { statusCode: number; error: string; reason: string } {
  if (error instanceof ApiError) return { statusCode: error.statusCode, error: error.code, reason: error.message };
  const statusCode = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (statusCode === 500) return storageRefusal(error) ?? { statusCode, error: 'internal', reason: 'internal error' };
  return { statusCode, error: 'bad-request', reason: error.message };
}

function storageRefusal(error: unknown): { statusCode: number; error: string; reason: string } | undefined {
  if (error instanceof RecordIntegrityError) return { statusCode: 500, error: 'integrity', reason: `record ${error.recordId} version ${error.version} failed its ${error.stage} integrity check` };
  const fault = storageFaultOf(error);
  if (fault === 'disk-full') return { statusCode: 503, error: 'disk-full', reason: 'the node\'s disk is full; nothing acknowledged was lost; retry later' };
  if (fault === 'damaged') return { statusCode: 500, error: 'storage-damaged', reason: 'a node store failed its integrity check' };
  return undefined;
}
