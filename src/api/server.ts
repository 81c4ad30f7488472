/** The HTTP server: Fastify with raw bodies, the /ledger routes with one {error, reason} vocabulary, and optionally SMART auth and /fhir. */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { FhirService, STORAGE_RETRY_AFTER_SECONDS, type RecordLedger } from '../fhir/index.js';
import { RecordIntegrityError, type NodeFacade } from '../node/index.js';
import type { Principal } from '../contracts/index.js';
import { reportDamage, storageFaultOf } from '../storage/index.js';
import { ApiError } from './api-error.js';
import { OAuthError, registerAuthRoutes, type AuthServer } from './auth/index.js';
import { registerFhirRoutes, sendError } from './fhir-routes.js';
import { registerHealthRoutes, type ReadinessCheck } from './health-routes.js';
import { registerLedgerRoutes } from './ledger-routes.js';
import { registerMetrics } from './metrics.js';
import { registerPeerRoutes } from './peer-routes.js';
import { smartFhirAuth } from './smart-fhir-auth.js';
import {
  HTTP_BODY_BYTES_MAX,
  type FhirRateLimit,
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_KEEP_ALIVE_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_TIMEOUT_CHECK_INTERVAL_MS,
  URL_PARAM_LENGTH_MAX,
} from '../ledger/index.js';
import { loggerOptions, type ServerLogger } from './logging.js';
import { registerSecurityHeaders, securityHeaders } from './security-headers.js';
import { registerTransportGuard } from './transport-guard.js';
import { registerWebApp } from './web-app.js';
import { V2Ingest } from './v2/ingest.js';
import { MllpServer } from './v2/mllp-server.js';

export { HTTP_BODY_BYTES_MAX } from '../ledger/index.js';
export type { ServerLogger } from './logging.js';

/** How long the server waits for a client, in milliseconds (limits.ts has the defaults). */
export interface HttpTimeouts {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly keepAliveMs: number;
  readonly checkIntervalMs: number;
}

const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headersMs: HTTP_HEADERS_TIMEOUT_MS,
  requestMs: HTTP_REQUEST_TIMEOUT_MS,
  keepAliveMs: HTTP_KEEP_ALIVE_TIMEOUT_MS,
  checkIntervalMs: HTTP_TIMEOUT_CHECK_INTERVAL_MS,
};

/** A PEM certificate chain and its private key, for serving HTTPS. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
}

/** What buildServer serves besides the node; every field is optional. */
export interface ServerOptions {
  readonly logger?: ServerLogger;
  readonly auth?: AuthServer;
  /** The ledger FHIR writes commit through: the node's own unless a benchmark passes another. */
  readonly ledger?: RecordLedger;
  readonly readiness?: readonly ReadinessCheck[];
  readonly timeouts?: Partial<HttpTimeouts>;
  readonly fhirRateLimit?: FhirRateLimit;
  readonly tls?: TlsCredentials;
  /** An HL7 v2 MLLP listener (needs `auth`, which brings the FHIR service it writes through). */
  readonly mllp?: MllpServerOptions;
}

/** Where the MLLP listener binds, and whom its writes are signed by. */
export interface MllpServerOptions {
  readonly host: string;
  readonly port: number;
  /** The practitioner id of this organisation's interface engine, registered on first start. */
  readonly practitionerId: string;
  /** Hears the bound port once listening (the port is 0 in tests). */
  readonly onListening?: (port: number) => void;
}

/**
 * Builds (but does not start) the HTTP app for `node`: /ledger, /peer, /healthz, /readyz and
 * /metrics always; with `auth`, also the SMART authorization endpoints and the FHIR API at /fhir (and
 * token-gated /ledger reads). `logger` turns on structured JSON logs (see logging.ts for what
 * they leave out); off by default, so tests stay quiet. `timeouts` shortens the waits for tests.
 * With `tls` it serves HTTPS. Over plain HTTP only loopback clients reach health data, logins and
 * tokens (transport-guard.ts).
 */
export function buildServer(node: NodeFacade, options: ServerOptions = {}): FastifyInstance {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  // Node cuts off a client that is slower than these (408, or the socket closed): a client
  // trickling its headers or body would otherwise hold a connection for ever.
  const http = {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  };
  // Fastify hands `http` to http.createServer only; an HTTPS server takes the same limits with its
  // key. Typed as the HTTP variant: no route or hook here depends on which server carries it.
  const transport =
    options.tls === undefined
      ? { http }
      : { https: { ...http, cert: options.tls.cert, key: options.tls.key } };
  const app = Fastify({
    ...(transport as { http: typeof http }),
    logger: loggerOptions(options.logger ?? false),
    bodyLimit: HTTP_BODY_BYTES_MAX,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Path parameters longer than this are refused by the router; shorter ones reach the route,
    // which names what is wrong with them (a FHIR id longer than 64 characters is a 422).
    routerOptions: { maxParamLength: URL_PARAM_LENGTH_MAX },
    // The router refuses some URLs (a malformed percent escape, a path parameter past the limit)
    // before any route or error handler runs; without this they get Fastify's own body, which
    // quotes the path (a FHIR id may name a patient).
    frameworkErrors: (error, request, reply) => {
      const path = request.url.split('?')[0]!;
      const headed = (reply as FastifyReply).headers(securityHeaders(path, request.protocol));
      if (path === '/fhir' || path.startsWith('/fhir/')) return void sendError(headed, error);
      const statusCode = error.statusCode === 414 ? 414 : 400;
      void headed.code(statusCode).send({
        error: 'bad-request',
        reason:
          statusCode === 414
            ? `a path segment is longer than ${URL_PARAM_LENGTH_MAX} characters`
            : 'the URL is malformed',
      });
    },
  });
  // Bodies arrive as bytes: the ledger parses and canonicalises transactions itself, so the
  // reason for a malformed one is ours, not a framework's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, new Uint8Array(body as Buffer)),
  );
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const { statusCode, ...body } = refusalOf(error);
    if (statusCode >= 500) reply.log.error({ err: error }, body.reason);
    if (statusCode === 503) void reply.header('retry-after', String(STORAGE_RETRY_AFTER_SECONDS));
    return reply.code(statusCode).send(body);
  });
  registerSecurityHeaders(app);
  registerTransportGuard(app);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: 'not-found',
      reason: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
  registerMetrics(app, node);
  registerLedgerRoutes(app, node, options.auth);
  registerPeerRoutes(app, node);
  const service =
    options.auth === undefined ? undefined : registerFhirService(app, node, options.auth, options);
  registerHealthRoutes(app, node, [...(options.readiness ?? []), () => service?.notReady]);
  return app;
}

/**
 * Sign-in, the web app, /fhir and the HL7 v2 listener, over one FHIR service closed with the
 * server; returns the service.
 */
function registerFhirService(
  app: FastifyInstance,
  node: NodeFacade,
  auth: AuthServer,
  options: ServerOptions,
): FhirService {
  registerAuthRoutes(app, auth);
  registerWebApp(app);
  const service = new FhirService(node, {
    ledger: options.ledger,
    sessionActive: (principal, sinceMs) => sessionStands(auth, principal, sinceMs),
  });
  registerFhirRoutes(app, node, smartFhirAuth(auth), {
    rateLimit: options.fhirRateLimit,
    ledger: options.ledger,
    service,
  });
  if (options.mllp !== undefined) registerMllp(app, node, service, options.mllp);
  app.addHook('onClose', async () => service.close());
  return service;
}

/** Whether `principal`'s sessions begun at `sinceMs` stand; undefined while that cannot be told yet (see UserDirectory.sessionActive). */
function sessionStands(
  auth: AuthServer,
  principal: Principal,
  sinceMs: number,
): boolean | undefined {
  try {
    return auth.users.sessionActive?.(principal, sinceMs) !== false;
  } catch (error) {
    if (error instanceof OAuthError && error.statusCode === 503) return undefined;
    throw error;
  }
}

/** An HL7 v2 listener beside the HTTP server, on the same FHIR service: it starts and stops with it. */
function registerMllp(
  app: FastifyInstance,
  node: NodeFacade,
  service: FhirService,
  options: MllpServerOptions,
): void {
  const ingest = new V2Ingest(node, service, options.practitionerId);
  const server = new MllpServer(
    (message) => ingest.take(message),
    options,
    (error) => app.log.error({ err: error }, 'v2 message not taken: node fault'),
  );
  app.addHook('onReady', async () => {
    await ingest.ready();
    options.onListening?.(await server.listen());
  });
  app.addHook('onClose', async () => {
    await server.close();
    ingest.close();
  });
}

/**
 * The one {error, reason} vocabulary for every failure: a full disk is 503 (retry later), a
 * record failing its integrity checks or a damaged store a named 500; anything else not a 4xx
 * is an opaque 500.
 */
function refusalOf(error: FastifyError | ApiError): {
  statusCode: number;
  error: string;
  reason: string;
} {
  if (error instanceof ApiError)
    return { statusCode: error.statusCode, error: error.code, reason: error.message };
  const statusCode =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 500;
  if (statusCode === 500)
    return storageRefusal(error) ?? { statusCode, error: 'internal', reason: 'internal error' };
  return {
    statusCode,
    error: statusCode === 413 ? 'payload-too-large' : 'bad-request',
    reason: error.message,
  };
}

function storageRefusal(
  error: unknown,
): { statusCode: number; error: string; reason: string } | undefined {
  if (error instanceof RecordIntegrityError)
    return {
      statusCode: 500,
      error: 'integrity',
      reason: `record ${error.recordId} version ${error.version} failed its ${error.stage} integrity check`,
    };
  const fault = storageFaultOf(error);
  if (fault === 'disk-full')
    return {
      statusCode: 503,
      error: 'disk-full',
      reason: "the node's disk is full; nothing acknowledged was lost; retry later",
    };
  if (fault === 'damaged') {
    reportDamage();
    return {
      statusCode: 500,
      error: 'storage-damaged',
      reason: 'a node store failed its integrity check',
    };
  }
  return undefined;
}
