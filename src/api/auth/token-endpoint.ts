/**
 * The token endpoint's grants, without HTTP: `client_credentials` authenticated by a private
 * key JWT (RFC 7523 §2.2, §3; SMART Backend Services), `authorization_code` with PKCE S256
 * (RFC 6749 §4.1.3, RFC 7636 §4.6), and `refresh_token` (RFC 6749 §6), for a user's app that
 * was granted `offline_access`. Every refusal is an OAuthError (RFC 6749 §5.2).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import type { AuthServer } from './auth-server.js';
import { CLIENT_ASSERTION_ALGS, type BackendClient, type Client } from './clients.js';
import { OAuthError } from './errors.js';
import { parameter, requiredParameter } from './form.js';
import type { RefreshFamily } from './refresh-tokens.js';
import {
  formatScopes,
  hasNamedScope,
  narrowScopes,
  parseScopes,
  ScopeError,
  type Scope,
} from './scopes.js';
import { CLOCK_TOLERANCE_SECONDS, type AccessGrant } from './tokens.js';
import { CLIENT_ASSERTION_JTI_LENGTH_MAX } from '../../ledger/index.js';

/** The only client_assertion_type accepted (RFC 7523 §2.2). */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** How far ahead a client assertion's `exp` may be (SMART Backend Services: five minutes). */
export const CLIENT_ASSERTION_LIFETIME_MAX_SECONDS = 300;
/** code_verifier = 43*128unreserved (RFC 7636 §4.1). */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A successful token response (RFC 6749 §5.1), with SMART's `patient` launch context. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  /** A rotating refresh token, when `offline_access` was granted to a user's app. */
  refresh_token?: string;
}

/** Answers a token request whose form parameters are `form`; throws OAuthError on refusal. */
export async function handleTokenRequest(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<TokenResponse> {
  const grantType = requiredParameter(form, 'grant_type');
  if (grantType === 'client_credentials') return clientCredentialsGrant(auth, form);
  if (grantType === 'authorization_code') return authorizationCodeGrant(auth, form);
  if (grantType === 'refresh_token') return refreshTokenGrant(auth, form);
  throw new OAuthError(
    'unsupported_grant_type',
    'grant_type must be client_credentials, authorization_code or refresh_token',
  );
}

/** grant_type=client_credentials: a backend client authenticated by its assertion gets requested ∩ allowed scopes. */
export async function clientCredentialsGrant(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<TokenResponse> {
  const client = await authenticateBackendClient(auth, form);
  const scopes = grantedScopes(requestedScopes(form), client.scopes);
  return respond(auth, { principal: client.principal, scopes, clientId: client.clientId });
}

/** grant_type=authorization_code: a public client redeems its code with the PKCE verifier. */
export async function authorizationCodeGrant(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<TokenResponse> {
  const clientId = requiredParameter(form, 'client_id');
  const code = requiredParameter(form, 'code');
  const redirectUri = requiredParameter(form, 'redirect_uri');
  const verifier = requiredParameter(form, 'code_verifier');
  await publicClientOf(auth, clientId);
  if (!CODE_VERIFIER_PATTERN.test(verifier))
    throw new OAuthError(
      'invalid_request',
      'code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~',
    );
  const pending = auth.codes.redeem(code);
  if (pending === undefined)
    throw new OAuthError('invalid_grant', 'the code is unknown, expired or already used');
  if (pending.clientId !== clientId)
    throw new OAuthError('invalid_grant', 'the code was issued to another client');
  if (pending.redirectUri !== redirectUri)
    throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request');
  if (!challengeMatches(verifier, pending.codeChallenge))
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
  endedSession(auth, pending.grant, pending.signedInAt);
  return respond(auth, pending.grant, { clientId, family: { startedAt: pending.signedInAt } });
}

/**
 * grant_type=refresh_token: the token's successor and a fresh access token, within the scopes
 * first granted (narrowed by `scope` if given); refused once the account's sessions have ended.
 */
export async function refreshTokenGrant(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<TokenResponse> {
  const clientId = requiredParameter(form, 'client_id');
  await publicClientOf(auth, clientId);
  const scopesOf = (grant: AccessGrant): Scope[] =>
    parameter(form, 'scope') === undefined
      ? [...grant.scopes]
      : scopesWithin(requestedScopes(form), grant.scopes);
  const actingNow = (grant: AccessGrant): AccessGrant => ({
    ...grant,
    principal: auth.users.actingAs?.(grant.principal, grant.patient) ?? grant.principal,
  });
  // Refused before the token is used up: a scope the grant cannot honour (a client's typo), or
  // a session that cannot be told yet (503 while ids are relearnt), must not cost the session.
  const { grant, family } = auth.refreshTokens.redeem(
    requiredParameter(form, 'refresh_token'),
    clientId,
    (stored, family) => {
      void scopesOf(stored);
      endedSession(auth, actingNow(stored), family.startedAt, () =>
        auth.refreshTokens.revokeFamily(family.id),
      );
    },
  );
  const acting = actingNow(grant);
  return respond(auth, { ...acting, scopes: scopesOf(acting) }, { clientId, family });
}

/** `requested`, if all of it was granted before; throws invalid_scope otherwise (RFC 6749 §6). */
function scopesWithin(requested: readonly Scope[], granted: readonly Scope[]): Scope[] {
  const within = narrowScopes(requested, granted);
  if (formatScopes(within) !== formatScopes(narrowScopes(requested, requested)))
    throw new OAuthError(
      'invalid_scope',
      'a refresh may not ask for more than the sign-in granted',
    );
  return within;
}

/** Throws invalid_grant, after `cleanUp`, if the account's sessions ended after `signedInAt` (or it was disabled). */
function endedSession(
  auth: AuthServer,
  grant: AccessGrant,
  signedInAt: number,
  cleanUp: () => void = () => undefined,
): void {
  if (auth.users.sessionActive?.(grant.principal, signedInAt) !== false) return;
  cleanUp();
  throw new OAuthError(
    'invalid_grant',
    'this session has ended: the account was disabled or all its sessions were ended; sign in again',
  );
}

async function publicClientOf(auth: AuthServer, clientId: string): Promise<void> {
  const client = await auth.clients.find(clientId);
  if (client === undefined) throw new OAuthError('invalid_client', 'unknown client_id');
  if (client.kind !== 'public')
    throw new OAuthError('unauthorized_client', 'this client may use client_credentials only');
}

/** True if BASE64URL(SHA-256(verifier)) is `challenge` (RFC 7636 §4.6), compared in constant time. */
export function challengeMatches(verifier: string, challenge: string): boolean {
  const actual = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The access token for `grant`; for a user's app granted offline_access, also the next refresh token of the session. */
async function respond(
  auth: AuthServer,
  grant: AccessGrant,
  session?: { clientId: string; family: RefreshFamily | { readonly startedAt: number } },
): Promise<TokenResponse> {
  const response: TokenResponse = {
    access_token: await auth.tokens.issue(grant),
    token_type: 'Bearer',
    expires_in: auth.tokens.lifetimeSeconds,
    scope: formatScopes(grant.scopes),
  };
  if (grant.patient !== undefined) response.patient = grant.patient;
  if (session !== undefined && hasNamedScope(grant.scopes, 'offline_access'))
    response.refresh_token = auth.refreshTokens.issue(grant, session.clientId, session.family);
  return response;
}

/** POST /auth/revoke (RFC 7009): revokes a refresh token's session if it was issued to `client_id`; always succeeds. */
export function revokeToken(auth: AuthServer, form: URLSearchParams): void {
  auth.refreshTokens.revoke(requiredParameter(form, 'token'), requiredParameter(form, 'client_id'));
}

function requestedScopes(form: URLSearchParams): Scope[] {
  const scope = requiredParameter(form, 'scope');
  try {
    return parseScopes(scope);
  } catch (error) {
    if (error instanceof ScopeError) throw new OAuthError('invalid_scope', error.message);
    throw error;
  }
}

function grantedScopes(requested: readonly Scope[], allowed: readonly Scope[]): Scope[] {
  const granted = narrowScopes(requested, allowed);
  if (granted.length === 0)
    throw new OAuthError(
      'invalid_scope',
      'none of the requested scopes is allowed for this client',
    );
  return granted;
}

/** Authenticates the client by private_key_jwt (RFC 7523 §3): signature, iss, sub, aud, exp and a fresh jti. */
async function authenticateBackendClient(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<BackendClient> {
  const assertion = assertionOf(form);
  const clientId = claimedIssuer(assertion);
  const named = parameter(form, 'client_id');
  if (named !== undefined && named !== clientId)
    throw new OAuthError('invalid_client', 'client_id differs from the assertion issuer');
  const client = await auth.clients.find(clientId);
  if (client?.kind !== 'backend')
    throw new OAuthError(
      'invalid_client',
      'the assertion issuer is not a registered backend client',
    );
  const payload = await verifyAssertion(auth, client, assertion);
  checkLifetime(auth, payload);
  rememberJti(auth, client, payload);
  return client;
}

function assertionOf(form: URLSearchParams): string {
  const type = parameter(form, 'client_assertion_type');
  const assertion = parameter(form, 'client_assertion');
  if (type === undefined || assertion === undefined)
    throw new OAuthError(
      'invalid_client',
      'client authentication by private_key_jwt (client_assertion_type, client_assertion) is required',
    );
  if (type !== CLIENT_ASSERTION_TYPE)
    throw new OAuthError(
      'invalid_client',
      `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`,
    );
  return assertion;
}

/** The unverified `iss`, only to find whose keys to verify with. */
function claimedIssuer(assertion: string): string {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
  }
  if (typeof claims.iss !== 'string' || claims.iss === '')
    throw new OAuthError('invalid_client', 'client_assertion has no iss');
  return claims.iss;
}

const keySets = new WeakMap<Client, ReturnType<typeof createLocalJWKSet>>();

function keySetOf(client: BackendClient): ReturnType<typeof createLocalJWKSet> {
  let keySet = keySets.get(client);
  if (keySet === undefined) keySets.set(client, (keySet = createLocalJWKSet(client.jwks)));
  return keySet;
}

async function verifyAssertion(
  auth: AuthServer,
  client: BackendClient,
  assertion: string,
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(assertion, keySetOf(client), {
      algorithms: [...CLIENT_ASSERTION_ALGS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: auth.urls.token,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(auth.clock()),
      requiredClaims: ['exp', 'jti'],
    });
    return payload;
  } catch (error) {
    if (error instanceof errors.JOSEError)
      throw new OAuthError('invalid_client', `client_assertion rejected: ${error.message}`);
    throw error;
  }
}

function checkLifetime(auth: AuthServer, payload: JWTPayload): void {
  const now = auth.clock() / 1000;
  if (payload.exp! > now + CLIENT_ASSERTION_LIFETIME_MAX_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw new OAuthError(
      'invalid_client',
      'client_assertion exp must be no more than five minutes ahead',
    );
  }
  if (payload.iat !== undefined && payload.iat > now + CLOCK_TOLERANCE_SECONDS)
    throw new OAuthError('invalid_client', 'client_assertion iat is in the future');
}

/** Records the assertion's jti until it expires; a second use is refused (RFC 7523 §3 item 7). */
function rememberJti(auth: AuthServer, client: BackendClient, payload: JWTPayload): void {
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > CLIENT_ASSERTION_JTI_LENGTH_MAX)
    throw new OAuthError(
      'invalid_client',
      `client_assertion jti must be 1 to ${CLIENT_ASSERTION_JTI_LENGTH_MAX} characters`,
    );
  const check = auth.replay.remember(
    `${client.clientId} ${jti}`,
    (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000,
  );
  if (check === 'replayed')
    throw new OAuthError('invalid_client', 'client_assertion jti has been used before');
  if (check === 'full')
    throw new OAuthError(
      'temporarily_unavailable',
      'too many client assertions outstanding; retry shortly',
      503,
      60,
    );
}
