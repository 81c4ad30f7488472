/**
 * Checking the bearer token of a request to a protected resource (RFC 6750 §2.1): the FHIR
 * routes call bearerPrincipal, then requireScope for each interaction they perform.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthServer } from './auth-server.js';
import { AuthError } from './errors.js';
import { allows, formatScopes, type Interaction, type ScopeContext } from './scopes.js';
import type { AccessGrant } from './tokens.js';

/** credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1). */
const BEARER_PATTERN = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The grant of the request's bearer token; throws AuthError (401) if it is missing, invalid or expired, or its session was ended. */
export async function bearerPrincipal(
  request: FastifyRequest,
  auth: AuthServer,
): Promise<AccessGrant> {
  const { grant, issuedAtMs } = await auth.tokens.verifyToken(
    bearerToken(request.headers.authorization),
  );
  if (auth.users.sessionActive?.(grant.principal, issuedAtMs) === false) {
    throw new AuthError(
      'invalid_token',
      'this session has ended: the account was disabled or all its sessions were ended; log in again',
    );
  }
  return grant;
}

/** The token in an Authorization header value; throws AuthError if there is none. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '')
    throw new AuthError('invalid_token', 'no bearer token was presented', false);
  const match = BEARER_PATTERN.exec(header);
  if (match === null)
    throw new AuthError('invalid_token', 'the Authorization header does not hold a Bearer token');
  return match[1]!;
}

/** Throws AuthError insufficient_scope (403) unless `grant`'s scopes permit the interaction. */
export function requireScope(
  grant: AccessGrant,
  access: { resourceType: string; interaction: Interaction; context?: ScopeContext },
): void {
  if (!allows(grant.scopes, access)) {
    throw new AuthError(
      'insufficient_scope',
      `${access.interaction} on ${access.resourceType} is not within the granted scopes (${formatScopes(grant.scopes)})`,
    );
  }
}
