/**
 * Health data, logins and tokens never cross a network in clear. Over plain HTTP the node
 * answers them only to this machine (loopback); from anywhere else, every route under /fhir,
 * /auth, /ledger and /peer is a 403 saying to use HTTPS, except the few that hold no health data
 * and no credentials: the CapabilityStatement, the JWKS, the ledger's status, signed tree heads
 * and checkpoints, and transaction submission (a signed transaction authenticates itself). The
 * SMART configuration, probes and metrics lie outside these prefixes. The rule is one onRequest
 * hook, run before any route's own hooks, so no body is read and no token checked first.
 *
 * The connection decides, never a header: `X-Forwarded-Proto` and `X-Forwarded-For` are not
 * trusted (the app does not set Fastify's trustProxy), so a TLS-terminating proxy in front must
 * run on the same machine and reach the node over loopback.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/index.js';

/** The path prefixes whose routes carry health data, logins, tokens or peer traffic. */
export const GUARDED_PREFIXES: readonly string[] = ['/fhir', '/auth', '/ledger', '/peer'];

/** Routes under the guarded prefixes that stay public over plain HTTP, as `METHOD pattern`. */
export const PLAIN_HTTP_ROUTES: ReadonlySet<string> = new Set([
  'GET /fhir/metadata',
  'GET /auth/jwks',
  'GET /ledger/status',
  'GET /ledger/tree-head',
  'GET /ledger/checkpoints/:height',
]);

const REASON =
  'health data, logins and tokens are served only over HTTPS (or to this machine over loopback): use https://';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Adds the hook that refuses guarded routes over plain HTTP from off this machine. */
export function registerTransportGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (secureOrLoopback(request) || !isGuarded(request)) return;
    return refuse(request, reply);
  });
}

/** True when the connection is TLS or comes from a loopback address (127.0.0.0/8, ::1). */
export function secureOrLoopback(request: FastifyRequest): boolean {
  if (request.protocol === 'https') return true;
  return isLoopbackHost(request.socket.remoteAddress ?? '');
}

/** True for a loopback address (127.0.0.0/8, ::1, either IPv4-mapped) or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\./.test(host);
}

/**
 * True for a route under a guarded prefix that is not public. The route's pattern decides, not
 * the raw URL, so no spelling of a path (percent escapes, a query) slips a guarded route past;
 * a URL no route matches is judged by its path.
 */
function isGuarded(request: FastifyRequest): boolean {
  const pattern = request.routeOptions.url ?? request.url.split('?')[0]!;
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (PLAIN_HTTP_ROUTES.has(`${method} ${pattern}`)) return false;
  return GUARDED_PREFIXES.some((prefix) => pattern === prefix || pattern.startsWith(`${prefix}/`));
}

/** A 403: an OperationOutcome (code `security`) under /fhir, the {error, reason} shape elsewhere. */
function refuse(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const pattern = request.routeOptions.url ?? request.url;
  if (pattern === '/fhir' || pattern.startsWith('/fhir/')) {
    return reply
      .code(403)
      .header('content-type', FHIR_JSON)
      .send(JSON.stringify(FhirError.of(403, 'security', REASON).outcome));
  }
  return reply.code(403).send({ error: 'forbidden', reason: REASON });
}
