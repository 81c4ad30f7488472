/**
 * Response headers every answer carries. Health data must not sit in shared or browser caches
 * (`Cache-Control: no-store` on /fhir, /auth, /ledger and /peer), no answer may be sniffed into another
 * content type, and a client that reached the node over TLS is told to keep using it (HSTS,
 * RFC 6797 §7.2: sent only over a secure transport).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_PATHS } from './auth/index.js';

/** HSTS max-age: one year, as the HSTS preload list asks. */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;
/** How long the public, key-free discovery documents may be cached. */
export const DISCOVERY_MAX_AGE_SECONDS = 300;

// A /peer answer depends on which organisation signed the request, so no cache may keep it either.
const PRIVATE_PREFIXES = ['/fhir', '/auth', '/ledger', '/peer'];
/** Public documents that hold no health data and may be cached briefly. */
const DISCOVERY_PATHS: readonly string[] = [AUTH_PATHS.smartConfiguration, AUTH_PATHS.jwks];

/** Adds the headers to every answer of `app`, errors and 404s included. */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    applySecurityHeaders(request, reply);
  });
}

function applySecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  void reply.headers(securityHeaders(request.url.split('?')[0]!, request.protocol));
}

/** The security headers of an answer to `path` (no query) over `protocol`. */
export function securityHeaders(path: string, protocol: 'http' | 'https'): Record<string, string> {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff' };
  if (protocol === 'https')
    headers['strict-transport-security'] = `max-age=${HSTS_MAX_AGE_SECONDS}`;
  if (DISCOVERY_PATHS.includes(path))
    headers['cache-control'] = `public, max-age=${DISCOVERY_MAX_AGE_SECONDS}`;
  else if (PRIVATE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`)))
    headers['cache-control'] = 'no-store';
  return headers;
}
