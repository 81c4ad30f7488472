/**
 * The authorization server's HTTP routes. They live in their own Fastify encapsulation context
 * with their own body parser (raw bytes, read here as form data), so the app's parsers,
 * whatever they are, neither see these bodies nor change.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_PATHS, type AuthServer } from './auth-server.js';
import { activateGet, activatePost } from './activate.js';
import { registerAdminRoutes } from './admin-routes.js';
import { authorizeGet, authorizePost, errorResponse, type AuthorizeResponse } from './authorize.js';
import { OAuthError } from './errors.js';
import { parseForm, parseQuery } from './form.js';
import { smartConfiguration } from './smart-configuration.js';
import { handleTokenRequest, revokeToken } from './token-endpoint.js';
import { FORM_BYTES_MAX } from '../../ledger/index.js';

/** The login page may not be framed, load anything, or leak the request's URL onward. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

/** Adds the smart-configuration, JWKS, token and authorization routes for `auth` to `app`. */
export function registerAuthRoutes(app: FastifyInstance, auth: AuthServer): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: FORM_BYTES_MAX },
      (_request, body, done) => done(null, body),
    );
    scope.get(AUTH_PATHS.smartConfiguration, async (_request, reply) =>
      reply.header('access-control-allow-origin', '*').send(smartConfiguration(auth)),
    );
    scope.get(AUTH_PATHS.jwks, async (_request, reply) =>
      reply.header('access-control-allow-origin', '*').send(auth.tokens.jwks()),
    );
    scope.post(AUTH_PATHS.token, { bodyLimit: FORM_BYTES_MAX }, async (request, reply) =>
      token(auth, request, reply, (form) => handleTokenRequest(auth, form)),
    );
    scope.post(AUTH_PATHS.revoke, { bodyLimit: FORM_BYTES_MAX }, async (request, reply) =>
      token(auth, request, reply, async (form) => {
        revokeToken(auth, form);
        return {};
      }),
    );
    scope.get(AUTH_PATHS.authorize, async (request, reply) =>
      sendAuthorize(reply, await authorizeGet(auth, parseQuery(request.url))),
    );
    scope.post(AUTH_PATHS.authorize, { bodyLimit: FORM_BYTES_MAX }, async (request, reply) =>
      sendAuthorize(
        reply,
        await authorizeSubmission(auth, request, reply, (form) => authorizePost(auth, form)),
      ),
    );
    registerAdminRoutes(scope, auth);
    scope.get(AUTH_PATHS.activate, async (_request, reply) =>
      sendAuthorize(reply, activateGet(auth)),
    );
    scope.post(AUTH_PATHS.activate, { bodyLimit: FORM_BYTES_MAX }, async (request, reply) =>
      sendAuthorize(
        reply,
        await authorizeSubmission(auth, request, reply, (form) => activatePost(auth, form)),
      ),
    );
  });
}

/** A token or revocation request: form in, JSON out, throttled per address, refusals as RFC 6749 §5.2 errors. */
async function token(
  auth: AuthServer,
  request: FastifyRequest,
  reply: FastifyReply,
  handle: (form: URLSearchParams) => Promise<unknown>,
): Promise<unknown> {
  void reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('access-control-allow-origin', '*');
  try {
    throttle(auth, `token ${request.ip}`);
    return await handle(parseForm(request.headers['content-type'], request.body));
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    if (error.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.code(error.statusCode).send(error.body());
  }
}

/** Throws OAuthError (429, with Retry-After) once `key` has spent its budget. */
function throttle(auth: AuthServer, key: string): void {
  const decision = auth.limiter.take(key);
  if (!decision.allowed)
    throw new OAuthError(
      'temporarily_unavailable',
      'too many requests from this address',
      429,
      decision.retryAfterSeconds,
    );
}

/** A login or activation form's submission, throttled per address with the login budget. */
async function authorizeSubmission(
  auth: AuthServer,
  request: FastifyRequest,
  reply: FastifyReply,
  handle: (form: URLSearchParams) => Promise<AuthorizeResponse>,
): Promise<AuthorizeResponse> {
  try {
    throttle(auth, `login ${request.ip}`);
    return await handle(parseForm(request.headers['content-type'], request.body));
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    if (error.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(error.retryAfterSeconds));
    return errorResponse(error.statusCode, error.message);
  }
}

function sendAuthorize(reply: FastifyReply, response: AuthorizeResponse): FastifyReply {
  void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
  if (response.kind === 'redirect')
    return reply.code(302).header('location', response.location).send();
  return reply.code(response.statusCode).headers(PAGE_HEADERS).send(response.html);
}
