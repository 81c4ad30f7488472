import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createAccount } from './account-admin.js';
import { AccountDirectory } from './account-directory.js';
import { AccountStore } from './account-store.js';
import {
  APP_ID,
  authFixture,
  FHIR_BASE,
  OTHER_APP_ID,
  pkcePair,
  postForm,
  REDIRECT_URI,
  type AuthFixture,
} from '../testonly/auth-fixture.js';
import { DEMO_PASSWORD } from './demo-users.js';
import { REFRESH_FAMILY_MAX_MS, REFRESH_TOKEN_IDLE_MS, RefreshTokens } from './refresh-tokens.js';
import { parseScopes } from './scopes.js';

type TokenBody = {
  access_token?: string;
  refresh_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
};

const grant = {
  principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
  scopes: parseScopes('patient/*.rs offline_access'),
  fhirUser: 'Patient/p-1',
  patient: 'p-1',
  clientId: APP_ID,
} as const;

function tokens(): { store: RefreshTokens; clock: { now: number } } {
  const clock = { now: 1_800_000_000_000 };
  return { store: new RefreshTokens({ clock: () => clock.now }), clock };
}

test('a refresh token is redeemed once for its grant; a second use revokes its whole family', () => {
  const { store } = tokens();
  const first = store.issue(grant, APP_ID);
  const redeemed = store.redeem(first, APP_ID);
  assert.deepEqual(redeemed.grant, grant);
  const second = store.issue(redeemed.grant, APP_ID, redeemed.family);
  assert.throws(() => store.redeem(first, APP_ID), /used before, so its session is revoked/);
  assert.throws(
    () => store.redeem(second, APP_ID),
    /unknown or expired/,
    'the successor went with the family',
  );
});

test('a refresh token lapses when idle or when its family is old, and is no good to another client; revoking ends the family', () => {
  const { store, clock } = tokens();
  const idle = store.issue(grant, APP_ID);
  clock.now += REFRESH_TOKEN_IDLE_MS;
  assert.throws(() => store.redeem(idle, APP_ID), /unknown or expired/);
  let token = store.issue(grant, APP_ID);
  assert.throws(() => store.redeem(token, OTHER_APP_ID), /another client/);
  const startedAt = clock.now;
  while (clock.now < startedAt + REFRESH_FAMILY_MAX_MS) {
    clock.now += REFRESH_TOKEN_IDLE_MS - 1;
    if (clock.now >= startedAt + REFRESH_FAMILY_MAX_MS) break;
    const { family } = store.redeem(token, APP_ID);
    token = store.issue(grant, APP_ID, family);
  }
  assert.throws(
    () => store.redeem(token, APP_ID),
    /unknown or expired/,
    'thirty days after the sign-in, however often refreshed',
  );
  const revoked = store.issue(grant, APP_ID);
  store.revoke(revoked, OTHER_APP_ID);
  store.redeem(store.issue(grant, APP_ID), APP_ID);
  const kept = store.issue(grant, APP_ID);
  store.revoke(kept, APP_ID);
  assert.throws(() => store.redeem(kept, APP_ID), /unknown or expired/);
  assert.throws(() => store.redeem('not-a-token', APP_ID), /unknown or expired/);
});

/** Signs in at the authorization endpoint and redeems the code; resolves with the token response. */
async function signInForTokens(
  fixture: AuthFixture,
  username: string,
  password: string,
  scope: string,
): Promise<TokenBody> {
  const { verifier, challenge } = pkcePair();
  const authorize = {
    response_type: 'code',
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    scope,
    state: 's',
    aud: FHIR_BASE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  const redirect = await postForm(fixture.app, '/auth/authorize', {
    ...authorize,
    username,
    password,
  });
  assert.equal(redirect.statusCode, 302, redirect.body);
  const code = new URL(String(redirect.headers['location'])).searchParams.get('code')!;
  const response = await postForm(fixture.app, '/auth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: APP_ID,
    code_verifier: verifier,
  });
  return response.json() as TokenBody;
}

const refresh = async (fixture: AuthFixture, token: string, extra: Record<string, string> = {}) => {
  const response = await postForm(fixture.app, '/auth/token', {
    grant_type: 'refresh_token',
    refresh_token: token,
    client_id: APP_ID,
    ...extra,
  });
  return { status: response.statusCode, body: response.json() as TokenBody };
};

test('over HTTP: offline_access brings a refresh token; each refresh rotates it; a replayed one is refused and ends the session', async (t) => {
  const fixture = await authFixture(t);
  assert.equal(
    (await signInForTokens(fixture, 'patient-0001', DEMO_PASSWORD, 'patient/*.rs')).refresh_token,
    undefined,
    'no offline_access, no refresh token',
  );
  const first = await signInForTokens(
    fixture,
    'patient-0001',
    DEMO_PASSWORD,
    'patient/*.rs offline_access',
  );
  assert.match(first.refresh_token!, /^[A-Za-z0-9_-]{43}$/);
  const renewed = await refresh(fixture, first.refresh_token!, {
    scope: 'patient/Observation.rs offline_access',
  });
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  assert.equal(renewed.body.scope, 'patient/Observation.rs offline_access', 'narrowed as asked');
  assert.deepEqual((await fixture.auth.tokens.verify(renewed.body.access_token!)).principal, {
    kind: 'patient',
    id: 'patient-0001',
    org: 'practice-a',
  });
  assert.notEqual(renewed.body.refresh_token, first.refresh_token);
  const widened = await refresh(fixture, renewed.body.refresh_token!, { scope: 'patient/*.cruds' });
  assert.deepEqual(
    [widened.status, widened.body.error],
    [400, 'invalid_scope'],
    'never wider than first granted',
  );
  const replayed = await refresh(fixture, first.refresh_token!);
  assert.deepEqual([replayed.status, replayed.body.error], [400, 'invalid_grant']);
  assert.equal(
    (await refresh(fixture, renewed.body.refresh_token!)).status,
    400,
    'the replay ended the session',
  );
});

test('over HTTP: a refresh refused for its scope leaves the refresh token unused', async (t) => {
  const fixture = await authFixture(t);
  const signedIn = await signInForTokens(
    fixture,
    'patient-0001',
    DEMO_PASSWORD,
    'patient/*.rs offline_access',
  );
  for (const scope of ['patient/*.rs offline_acess', 'patient/*.cruds']) {
    const refused = await refresh(fixture, signedIn.refresh_token!, { scope });
    assert.deepEqual([refused.status, refused.body.error], [400, 'invalid_scope'], scope);
  }
  const renewed = await refresh(fixture, signedIn.refresh_token!);
  assert.equal(renewed.status, 200, `still good: ${JSON.stringify(renewed.body)}`);
});

test('over HTTP: POST /auth/revoke logs out (RFC 7009); an ended or disabled account cannot refresh', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-refresh-'));
  const store = new AccountStore(join(dir, 'users.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const password = 'a long patient password';
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-0001', password },
    Date.now(),
  );
  const fixture = await authFixture(t, {
    users: new AccountDirectory(store, { org: 'practice-a' }),
  });
  const loggedIn = await signInForTokens(fixture, 'pat', password, 'patient/*.rs offline_access');
  const revoke = await postForm(fixture.app, '/auth/revoke', {
    token: loggedIn.refresh_token!,
    client_id: APP_ID,
  });
  assert.equal(revoke.statusCode, 200);
  assert.equal((await refresh(fixture, loggedIn.refresh_token!)).body.error, 'invalid_grant');
  assert.equal(
    (await postForm(fixture.app, '/auth/revoke', { token: 'unknown', client_id: APP_ID }))
      .statusCode,
    200,
    'an unknown token is no error',
  );
  assert.equal(
    (await postForm(fixture.app, '/auth/revoke', { client_id: APP_ID })).statusCode,
    400,
  );

  const again = await signInForTokens(fixture, 'pat', password, 'patient/*.rs offline_access');
  fixture.clock.advance(1000);
  store.endSessions('pat', fixture.clock.now);
  const ended = await refresh(fixture, again.refresh_token!);
  assert.deepEqual([ended.status, ended.body.error], [400, 'invalid_grant']);
  assert.match(ended.body.error_description!, /session has ended/);
});

test('a code issued before the sessions ended cannot be redeemed after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-code-'));
  const store = new AccountStore(join(dir, 'users.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const password = 'a long patient password';
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-0001', password },
    Date.now(),
  );
  const fixture = await authFixture(t, {
    users: new AccountDirectory(store, { org: 'practice-a' }),
  });
  const { verifier, challenge } = pkcePair();
  const authorize = {
    response_type: 'code',
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'patient/*.rs offline_access',
    state: 's',
    aud: FHIR_BASE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  const redirect = await postForm(fixture.app, '/auth/authorize', {
    ...authorize,
    username: 'pat',
    password,
  });
  const code = new URL(String(redirect.headers['location'])).searchParams.get('code')!;
  fixture.clock.advance(1000);
  store.endSessions('pat', fixture.clock.now);
  const exchanged = await postForm(fixture.app, '/auth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: APP_ID,
    code_verifier: verifier,
  });
  assert.equal(exchanged.statusCode, 400);
  assert.match((exchanged.json() as TokenBody).error_description!, /session has ended/);
});
