/**
 * Signing in with the node's own SMART App Launch flow: authorization code with PKCE (S256),
 * as a public client (`chartchain-web`, redirect URI = this page). The session lives in
 * sessionStorage, so it ends with the tab; tokens are refreshed with the rotating refresh
 * token the node issues for `offline_access`.
 */
export const CLIENT_ID = 'chartchain-web';

export type Role = 'patient' | 'clinician' | 'auditor';

/** The scopes each role asks for: what the node grants that role, no more. */
const SCOPES: Record<Role, string> = {
  patient: 'launch/patient patient/*.rs patient/Consent.cud offline_access',
  clinician: 'user/*.cruds offline_access',
  auditor: 'user/AuditEvent.rs user/Consent.rs offline_access',
};

/** Who is signed in, from the token's claims (shown, never trusted: the node checks the token). */
export interface Session {
  readonly role: Role;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly expiresAt: number;
  /** The FHIR Patient id of a patient's session. */
  readonly patient: string | undefined;
  /** `Practitioner/dr-ada`, `Patient/…`. */
  readonly fhirUser: string | undefined;
  readonly org: string | undefined;
}

const SESSION_KEY = 'chartchain:session';
const PENDING_KEY = 'chartchain:pending-login';

const redirectUri = (): string => `${location.origin}/`;

interface SmartConfiguration {
  authorization_endpoint: string;
  token_endpoint: string;
}

async function smartConfiguration(): Promise<SmartConfiguration> {
  const response = await fetch('/.well-known/smart-configuration');
  if (!response.ok) throw new Error('the node did not answer its SMART configuration');
  return (await response.json()) as SmartConfiguration;
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** Leaves for the node's login page; comes back to this page with a code. `returnTo` is the view to reopen. */
export async function signIn(role: Role, returnTo: string): Promise<void> {
  const config = await smartConfiguration();
  const verifier = randomText(32);
  const state = randomText(16);
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ role, verifier, state, returnTo }));
  const url = new URL(config.authorization_endpoint, location.origin);
  const params = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: SCOPES[role],
    state,
    aud: `${location.origin}/fhir`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  location.assign(url.toString());
}

interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  patient?: string;
}

function sessionOf(role: Role, token: TokenResponse): Session {
  const claims = JSON.parse(
    atob(token.access_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')),
  ) as { fhirUser?: string; chartchain_principal?: { org?: string } };
  return {
    role,
    accessToken: token.access_token,
    refreshToken: token.refresh_token,
    expiresAt: Date.now() + token.expires_in * 1000,
    patient: token.patient,
    fhirUser: claims.fhirUser,
    org: claims.chartchain_principal?.org,
  };
}

async function tokenRequest(body: Record<string, string>): Promise<TokenResponse> {
  const config = await smartConfiguration();
  const response = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  const answer = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & {
    error?: string;
    error_description?: string;
  };
  if (!response.ok || answer.access_token === undefined)
    throw new Error(
      answer.error_description ??
        answer.error ??
        `the node refused the sign-in (${response.status})`,
    );
  return answer as TokenResponse;
}

/**
 * Finishes a sign-in when this page is the redirect back from the login page: checks `state`,
 * trades the code for tokens and clears the code from the address bar. Resolves with the view
 * to reopen, or undefined when this page load is not a redirect.
 */
export async function completeSignIn(): Promise<string | undefined> {
  const query = new URLSearchParams(location.search);
  if (!query.has('code') && !query.has('error')) return undefined;
  history.replaceState(null, '', '/' + location.hash);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as {
    role: Role;
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (query.has('error')) throw new Error(`the sign-in was not completed (${query.get('error')})`);
  if (pending === null || pending.state !== query.get('state'))
    throw new Error('this sign-in did not start here; please sign in again');
  const token = await tokenRequest({
    grant_type: 'authorization_code',
    code: query.get('code')!,
    redirect_uri: redirectUri(),
    client_id: CLIENT_ID,
    code_verifier: pending.verifier,
  });
  save(sessionOf(pending.role, token));
  return pending.returnTo;
}

export function currentSession(): Session | undefined {
  const text = sessionStorage.getItem(SESSION_KEY);
  return text === null ? undefined : (JSON.parse(text) as Session);
}

function save(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** A fresh access token: the current one, or one from the refresh token. Resolves undefined when the session is over. */
export async function freshSession(): Promise<Session | undefined> {
  const session = currentSession();
  if (session === undefined) return undefined;
  if (session.expiresAt - Date.now() > 20_000) return session;
  return refresh(session);
}

/** The refresh under way, if any: refresh tokens rotate and a reused one ends the whole session, so concurrent requests share one. */
let refreshing:
  { readonly token: string | undefined; readonly done: Promise<Session | undefined> } | undefined;

/** Trades the refresh token for new tokens, once however many requests ask at the same time; undefined (and the session cleared) when the node refuses. */
export function refresh(session: Session): Promise<Session | undefined> {
  const current = currentSession();
  // Another request already renewed the session this one started with.
  if (
    current !== undefined &&
    current.accessToken !== session.accessToken &&
    current.expiresAt - Date.now() > 20_000
  )
    return Promise.resolve(current);
  if (refreshing?.token !== session.refreshToken) {
    const done = renew(session).finally(() => (refreshing = undefined));
    refreshing = { token: session.refreshToken, done };
  }
  return refreshing!.done;
}

async function renew(session: Session): Promise<Session | undefined> {
  if (session.refreshToken === undefined) return endSession();
  try {
    const next = sessionOf(
      session.role,
      await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: session.refreshToken,
        client_id: CLIENT_ID,
      }),
    );
    save(next);
    return next;
  } catch {
    return endSession();
  }
}

function endSession(): undefined {
  sessionStorage.removeItem(SESSION_KEY);
  return undefined;
}

/** Signs out: revokes the refresh token at the node, then forgets the session. */
export async function signOut(): Promise<void> {
  const session = currentSession();
  endSession();
  if (session?.refreshToken !== undefined) {
    await fetch('/auth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: session.refreshToken, client_id: CLIENT_ID }),
    }).catch(() => undefined);
  }
}
