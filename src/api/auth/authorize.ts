/**
 * The authorization endpoint (RFC 6749 §4.1.1–4.1.2, SMART standalone launch), without HTTP.
 * GET shows a login form; POST checks the user and redirects to the client with a code. An
 * unknown client or an unregistered redirect URI gets an error page, never a redirect
 * (RFC 6749 §4.1.2.1); every other refusal goes back to the client's redirect URI.
 */
import type { AuthServer } from './auth-server.js';
import type { PublicClient } from './clients.js';
import { OAuthError } from './errors.js';
import { parameter, requiredParameter } from './form.js';
import { errorPage, loginPage, type LoginView } from './login-page.js';
import {
  formatScope,
  hasNamedScope,
  narrowScopes,
  parseScopes,
  ScopeError,
  type Scope,
} from './scopes.js';
import type { AccessGrant } from './tokens.js';
import type { User } from './users.js';

/** What the authorization endpoint answers: an HTML page, or a redirect back to the client. */
export type AuthorizeResponse =
  | { readonly kind: 'page'; readonly statusCode: number; readonly html: string }
  | { readonly kind: 'redirect'; readonly location: string };

/** The parameters of an authorization request, carried through the login form. */
export const AUTHORIZATION_REQUEST_PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'aud',
  'code_challenge',
  'code_challenge_method',
] as const;
/** A S256 code_challenge: BASE64URL of a SHA-256 digest, unpadded (RFC 7636 §4.2). */
const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What the login form says when sign-in is refused: never which credential was wrong, nor whether the name exists (so nor whether it is locked). */
const SIGN_IN_REFUSED =
  'Unknown username, wrong password or wrong authentication code. After repeated failures an account is locked for a while.';

interface RedirectTarget {
  readonly client: PublicClient;
  readonly redirectUri: string;
}

interface AuthorizationRequest extends RedirectTarget {
  readonly state: string;
  readonly scopes: readonly Scope[];
  readonly codeChallenge: string;
  readonly params: URLSearchParams;
}

/** GET /auth/authorize: the login form for the request in `query`, or why there is none. */
export async function authorizeGet(
  auth: AuthServer,
  query: URLSearchParams,
): Promise<AuthorizeResponse> {
  return withRequest(auth, query, async (request) => page(200, loginPage(viewOf(auth, request))));
}

/** POST /auth/authorize: the login form's submission; redirects with a code if the user is who they say. */
export async function authorizePost(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<AuthorizeResponse> {
  return withRequest(auth, form, (request) => login(auth, request, form));
}

/** An HTML error page as an AuthorizeResponse. */
export function errorResponse(statusCode: number, message: string): AuthorizeResponse {
  return page(statusCode, errorPage(message));
}

function page(statusCode: number, html: string): AuthorizeResponse {
  return { kind: 'page', statusCode, html };
}

async function withRequest(
  auth: AuthServer,
  params: URLSearchParams,
  then: (request: AuthorizationRequest) => Promise<AuthorizeResponse>,
): Promise<AuthorizeResponse> {
  let target: RedirectTarget;
  try {
    target = await redirectTarget(auth, params);
  } catch (error) {
    if (error instanceof OAuthError) return errorResponse(400, error.message);
    throw error;
  }
  try {
    return await then(readRequest(auth, params, target));
  } catch (error) {
    if (error instanceof OAuthError) return errorRedirect(target.redirectUri, error, params);
    throw error;
  }
}

/** The client and redirect URI: until both are known to be genuine, nothing may redirect. */
async function redirectTarget(auth: AuthServer, params: URLSearchParams): Promise<RedirectTarget> {
  const client = await auth.clients.find(requiredParameter(params, 'client_id'));
  if (client === undefined) throw new OAuthError('invalid_request', 'unknown client_id');
  if (client.kind !== 'public')
    throw new OAuthError(
      'unauthorized_client',
      'this client may not use the authorization endpoint',
    );
  const redirectUri = requiredParameter(params, 'redirect_uri');
  if (!client.redirectUris.includes(redirectUri))
    throw new OAuthError('invalid_request', 'redirect_uri is not registered for this client');
  return { client, redirectUri };
}

function readRequest(
  auth: AuthServer,
  params: URLSearchParams,
  target: RedirectTarget,
): AuthorizationRequest {
  const responseType = requiredParameter(params, 'response_type');
  if (responseType !== 'code')
    throw new OAuthError('unsupported_response_type', 'response_type must be code');
  const state = requiredParameter(params, 'state');
  if (requiredParameter(params, 'aud').replace(/\/+$/, '') !== auth.urls.fhirBase)
    throw new OAuthError('invalid_request', `aud must be ${auth.urls.fhirBase}`);
  if (requiredParameter(params, 'code_challenge_method') !== 'S256')
    throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
  const codeChallenge = requiredParameter(params, 'code_challenge');
  if (!CODE_CHALLENGE_PATTERN.test(codeChallenge))
    throw new OAuthError('invalid_request', 'code_challenge must be 43 characters of base64url');
  return { ...target, state, scopes: requestedScopes(params), codeChallenge, params };
}

function requestedScopes(params: URLSearchParams): Scope[] {
  try {
    return parseScopes(requiredParameter(params, 'scope'));
  } catch (error) {
    if (error instanceof ScopeError) throw new OAuthError('invalid_scope', error.message);
    throw error;
  }
}

function viewOf(auth: AuthServer, request: AuthorizationRequest, error?: string): LoginView {
  const hidden = AUTHORIZATION_REQUEST_PARAMETERS.map(
    (name) => [name, parameter(request.params, name) ?? ''] as const,
  );
  const view = {
    action: auth.urls.authorize,
    clientId: request.client.clientId,
    scopes: request.scopes.map(formatScope),
    hidden,
  };
  return error === undefined ? view : { ...view, error };
}

async function login(
  auth: AuthServer,
  request: AuthorizationRequest,
  form: URLSearchParams,
): Promise<AuthorizeResponse> {
  const username = parameter(form, 'username');
  const password = parameter(form, 'password');
  const oneTimeCode = parameter(form, 'code');
  const signIn =
    username === undefined || password === undefined
      ? { refused: 'credentials' as const }
      : await auth.users.signIn({
          username,
          password,
          ...(oneTimeCode === undefined ? {} : { code: oneTimeCode }),
        });
  if ('refused' in signIn) return page(401, loginPage(viewOf(auth, request, SIGN_IN_REFUSED)));
  const { user } = signIn;
  const code = auth.codes.issue({
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    grant: grantFor(request, user),
    signedInAt: auth.clock(),
  });
  if (code === undefined)
    throw new OAuthError(
      'temporarily_unavailable',
      'too many sign-ins in progress; try again shortly',
    );
  return {
    kind: 'redirect',
    location: withParameters(request.redirectUri, { code, state: request.state }),
  };
}

/**
 * requested ∩ what the user holds ∩ what the client may get. Patient context goes only to a
 * patient, who is it; with no patient picker, nobody else gets patient/ scopes or launch/patient.
 */
function grantFor(request: AuthorizationRequest, user: User): AccessGrant {
  const allowed =
    request.client.scopes === undefined
      ? user.scopes
      : narrowScopes(user.scopes, request.client.scopes);
  const patient =
    user.principal.kind === 'patient' ? (user.patient ?? user.principal.id) : undefined;
  const scopes = narrowScopes(request.scopes, allowed).filter(
    (scope) => patient !== undefined || !needsPatientContext(scope),
  );
  if (!scopes.some((scope) => scope.kind === 'resource'))
    throw new OAuthError(
      'invalid_scope',
      'none of the requested scopes can be granted to this user',
    );
  const grant: AccessGrant = {
    principal: user.principal,
    scopes,
    fhirUser: user.fhirUser,
    clientId: request.client.clientId,
  };
  const inContext =
    patient !== undefined &&
    (hasNamedScope(scopes, 'launch/patient') || scopes.some(needsPatientContext));
  return inContext ? { ...grant, patient } : grant;
}

function needsPatientContext(scope: Scope): boolean {
  return scope.kind === 'resource' ? scope.context === 'patient' : scope.name === 'launch/patient';
}

function errorRedirect(
  redirectUri: string,
  error: OAuthError,
  params: URLSearchParams,
): AuthorizeResponse {
  const states = params.getAll('state');
  const parameters: Record<string, string> = {
    error: error.code,
    error_description: error.message,
  };
  if (states.length === 1 && states[0] !== '') parameters['state'] = states[0]!;
  return { kind: 'redirect', location: withParameters(redirectUri, parameters) };
}

/** `uri` with `parameters` added to its query, keeping any query it had (RFC 6749 §3.1.2). */
function withParameters(uri: string, parameters: Record<string, string>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(parameters)) url.searchParams.append(name, value);
  return url.toString();
}
