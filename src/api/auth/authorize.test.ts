import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { DEMO_PASSWORD } from './demo-users.js';
import { parseScopes } from './scopes.js';
import { hashPassword, InMemoryUserDirectory } from './users.js';
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

type Params = Record<string, string>;

function authorizeParams(challenge: string, overrides: Params = {}): Params {
  return {
    response_type: 'code',
    client_id: APP_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'launch/patient openid fhirUser patient/*.rs',
    state: 'st-123',
    aud: FHIR_BASE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
}

const getAuthorize = (fixture: AuthFixture, params: Params) =>
  fixture.app.inject({ method: 'GET', url: `/auth/authorize?${new URLSearchParams(params)}` });

/** The query of a 302 to the client's redirect URI. */
function redirectedTo(
  response: LightMyRequestResponse,
  redirectUri = REDIRECT_URI,
): URLSearchParams {
  assert.equal(response.statusCode, 302, response.body);
  const location = new URL(String(response.headers['location']));
  assert.equal(`${location.origin}${location.pathname}`, redirectUri);
  return location.searchParams;
}

function htmlPage(response: LightMyRequestResponse, statusCode: number): string {
  assert.equal(response.statusCode, statusCode, response.body);
  assert.equal(response.headers['location'], undefined, 'never redirects');
  assert.match(String(response.headers['content-type']), /^text\/html; charset=utf-8/);
  assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(response.headers['cache-control'], 'no-store');
  return response.body;
}

/** Logs in as `username` and returns the code from the redirect. */
async function signIn(
  fixture: AuthFixture,
  challenge: string,
  username = 'patient-0001',
  overrides: Params = {},
): Promise<string> {
  const query = redirectedTo(
    await postForm(fixture.app, '/auth/authorize', {
      ...authorizeParams(challenge, overrides),
      username,
      password: DEMO_PASSWORD,
    }),
  );
  assert.equal(query.get('state'), overrides['state'] ?? 'st-123');
  assert.equal(query.get('error'), null, query.get('error_description') ?? '');
  return query.get('code')!;
}

function exchange(
  fixture: AuthFixture,
  code: string,
  verifier: string,
  overrides: Params = {},
): Promise<LightMyRequestResponse> {
  return postForm(fixture.app, '/auth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: APP_ID,
    code_verifier: verifier,
    ...overrides,
  });
}

function invalidGrant(response: LightMyRequestResponse, reason: RegExp): void {
  assert.equal(response.statusCode, 400, response.body);
  const body = response.json() as { error: string; error_description: string };
  assert.equal(body.error, 'invalid_grant');
  assert.match(body.error_description, reason);
}

test('GET /auth/authorize shows a login form carrying the request, with everything escaped', async (t) => {
  const fixture = await authFixture(t);
  const { challenge } = pkcePair();
  const hostile = '"><script>alert(1)</script>\'&`';
  const html = htmlPage(
    await getAuthorize(fixture, authorizeParams(challenge, { state: hostile })),
    200,
  );
  assert.match(html, /<form method="post" action="https:\/\/node-a\.example\/auth\/authorize">/);
  assert.match(html, /name="username"/);
  assert.match(html, /type="password" name="password"/);
  assert.match(
    html,
    new RegExp(`<input type="hidden" name="code_challenge" value="${challenge}">`),
  );
  assert.match(html, /<code>patient\/\*\.rs<\/code>/);
  assert.ok(!html.includes('<script>'), 'the state is not markup');
  assert.ok(
    html.includes('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&amp;&#96;"'),
    html,
  );
});

test('an unknown client or an unregistered redirect URI gets an error page, never a redirect', async (t) => {
  const fixture = await authFixture(t);
  const { challenge } = pkcePair();
  const cases: [Params, RegExp][] = [
    [{ client_id: 'nobody' }, /unknown client_id/],
    [{ client_id: '' }, /client_id is required/],
    [{ client_id: 'lab-system' }, /may not use the authorization endpoint/],
    [{ redirect_uri: 'https://evil.example/callback' }, /redirect_uri is not registered/],
    [{ redirect_uri: `${REDIRECT_URI}/more` }, /redirect_uri is not registered/],
    [{ redirect_uri: `${REDIRECT_URI}?x=1` }, /redirect_uri is not registered/],
    [{ redirect_uri: 'https://other.example/cb' }, /redirect_uri is not registered/],
    [{ redirect_uri: '' }, /redirect_uri is required/],
  ];
  for (const [overrides, reason] of cases) {
    for (const response of [
      await getAuthorize(fixture, authorizeParams(challenge, overrides)),
      await postForm(fixture.app, '/auth/authorize', {
        ...authorizeParams(challenge, overrides),
        username: 'patient-0001',
        password: DEMO_PASSWORD,
      }),
    ]) {
      assert.match(htmlPage(response, 400), reason);
    }
  }
});

test('other bad authorization requests redirect back with an error and the state', async (t) => {
  const fixture = await authFixture(t);
  const { challenge } = pkcePair();
  const cases: [Params, string, RegExp][] = [
    [{ response_type: 'token' }, 'unsupported_response_type', /response_type must be code/],
    [{ code_challenge_method: 'plain', code_challenge: 'x'.repeat(43) }, 'invalid_request', /S256/],
    [{ code_challenge_method: '' }, 'invalid_request', /code_challenge_method is required/],
    [{ code_challenge: '' }, 'invalid_request', /code_challenge is required/],
    [{ code_challenge: `${challenge}=` }, 'invalid_request', /43 characters/],
    [{ aud: 'https://node-b.example/fhir' }, 'invalid_request', /aud must be/],
    [{ aud: '' }, 'invalid_request', /aud is required/],
    [{ scope: 'patient/*.rs patient/Nothing.rs' }, 'invalid_scope', /not a FHIR R4 resource type/],
    [{ scope: '' }, 'invalid_request', /scope is required/],
  ];
  for (const [overrides, error, reason] of cases) {
    const query = redirectedTo(await getAuthorize(fixture, authorizeParams(challenge, overrides)));
    assert.equal(query.get('error'), error, JSON.stringify(overrides));
    assert.match(query.get('error_description')!, reason);
    assert.equal(query.get('state'), 'st-123');
    assert.equal(query.get('code'), null);
  }
  const stateless = redirectedTo(
    await getAuthorize(fixture, authorizeParams(challenge, { state: '' })),
  );
  assert.deepEqual([stateless.get('error'), stateless.get('state')], ['invalid_request', null]);
});

test('authorization code with PKCE: a patient signs in, the app redeems the code for a patient-context token', async (t) => {
  const fixture = await authFixture(t);
  const { verifier, challenge } = pkcePair();
  const code = await signIn(fixture, challenge);
  assert.match(code, /^[A-Za-z0-9_-]{43}$/);
  const response = await exchange(fixture, code, verifier);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['cache-control'], 'no-store');
  const body = response.json() as {
    access_token: string;
    scope: string;
    patient: string;
    token_type: string;
    expires_in: number;
  };
  assert.deepEqual(
    { ...body, access_token: undefined },
    {
      access_token: undefined,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'launch/patient patient/*.rs',
      patient: 'patient-0001',
    },
  );
  assert.deepEqual(await fixture.auth.tokens.verify(body.access_token), {
    principal: { kind: 'patient', id: 'patient-0001', org: 'practice-a' },
    scopes: [
      { kind: 'named', name: 'launch/patient' },
      { kind: 'resource', context: 'patient', resourceType: '*', permissions: 'rs' },
    ],
    fhirUser: 'Patient/patient-0001',
    patient: 'patient-0001',
    clientId: APP_ID,
  });
});

test('a practitioner gets only user scopes and no patient context', async (t) => {
  const fixture = await authFixture(t);
  const { verifier, challenge } = pkcePair();
  const code = await signIn(fixture, challenge, 'dr-ada', {
    scope: 'openid fhirUser launch/patient patient/*.rs user/Observation.rs user/Patient.cruds',
  });
  const body = (await exchange(fixture, code, verifier)).json() as {
    access_token: string;
    scope: string;
    patient?: string;
  };
  assert.equal(body.scope, 'user/Observation.rs user/Patient.cruds');
  assert.equal(body.patient, undefined);
  const grant = await fixture.auth.tokens.verify(body.access_token);
  assert.deepEqual(grant.principal, { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' });
  assert.equal(grant.fhirUser, 'Practitioner/dr-ada');
  assert.equal(grant.patient, undefined);
  // Asking a practitioner's login for patient scopes only leaves nothing to grant.
  const refused = redirectedTo(
    await postForm(fixture.app, '/auth/authorize', {
      ...authorizeParams(challenge),
      username: 'dr-ada',
      password: DEMO_PASSWORD,
    }),
  );
  assert.equal(refused.get('error'), 'invalid_scope');
});

test('patient context goes only to a patient: a practitioner holding patient/ scopes still gets none', async (t) => {
  const users = new InMemoryUserDirectory([
    {
      username: 'dr-bo',
      principal: { kind: 'practitioner', id: 'dr-bo', org: 'practice-a' },
      fhirUser: 'Practitioner/dr-bo',
      scopes: parseScopes('patient/*.rs launch/patient user/Observation.rs'),
      passwordHash: await hashPassword('pw-bo'),
    },
  ]);
  const fixture = await authFixture(t, { users });
  const { verifier, challenge } = pkcePair();
  const query = redirectedTo(
    await postForm(fixture.app, '/auth/authorize', {
      ...authorizeParams(challenge, { scope: 'patient/*.rs launch/patient user/Observation.rs' }),
      username: 'dr-bo',
      password: 'pw-bo',
    }),
  );
  const body = (await exchange(fixture, query.get('code')!, verifier)).json() as {
    scope: string;
    patient?: string;
  };
  assert.deepEqual(body.scope, 'user/Observation.rs');
  assert.equal(body.patient, undefined);
});

test('a wrong password re-shows the form with an error and issues no code', async (t) => {
  const fixture = await authFixture(t);
  const { challenge } = pkcePair();
  for (const [username, password] of [
    ['patient-0001', 'wrong'],
    ['nobody', DEMO_PASSWORD],
    ['patient-0001', ''],
    ['', ''],
  ]) {
    const html = htmlPage(
      await postForm(fixture.app, '/auth/authorize', {
        ...authorizeParams(challenge),
        username: username!,
        password: password!,
      }),
      401,
    );
    assert.match(html, /Unknown username, wrong password or wrong authentication code/);
    assert.match(html, /<form method="post"/);
  }
});

test('the code is refused for a wrong verifier, a second use, another redirect URI or client, or after 60 seconds', async (t) => {
  const fixture = await authFixture(t);
  const { verifier, challenge } = pkcePair();

  const wrongVerifier = await signIn(fixture, challenge);
  invalidGrant(
    await exchange(fixture, wrongVerifier, pkcePair().verifier),
    /code_verifier does not match/,
  );
  invalidGrant(
    await exchange(fixture, wrongVerifier, verifier),
    /unknown, expired or already used/,
  );

  const reused = await signIn(fixture, challenge);
  assert.equal((await exchange(fixture, reused, verifier)).statusCode, 200);
  invalidGrant(await exchange(fixture, reused, verifier), /already used/);

  const wrongRedirect = await signIn(fixture, challenge);
  invalidGrant(
    await exchange(fixture, wrongRedirect, verifier, { redirect_uri: 'http://127.0.0.1:8400/cb' }),
    /redirect_uri differs/,
  );

  const otherClient = await signIn(fixture, challenge);
  invalidGrant(
    await exchange(fixture, otherClient, verifier, {
      client_id: OTHER_APP_ID,
      redirect_uri: 'https://other.example/cb',
    }),
    /another client/,
  );

  const expired = await signIn(fixture, challenge);
  fixture.clock.advance(60_000);
  invalidGrant(await exchange(fixture, expired, verifier), /expired/);

  const justInTime = await signIn(fixture, challenge);
  fixture.clock.advance(59_000);
  assert.equal((await exchange(fixture, justInTime, verifier)).statusCode, 200);

  invalidGrant(await exchange(fixture, 'made-up-code', verifier), /unknown/);
});

test('authorization_code requests themselves are checked: client, verifier syntax, required parameters', async (t) => {
  const fixture = await authFixture(t);
  const { verifier, challenge } = pkcePair();
  const code = await signIn(fixture, challenge);
  const refusal = async (overrides: Params, statusCode: number, error: string) => {
    const response = await exchange(fixture, code, verifier, overrides);
    assert.equal(response.statusCode, statusCode, response.body);
    assert.equal((response.json() as { error: string }).error, error, JSON.stringify(overrides));
  };
  await refusal({ client_id: 'nobody' }, 401, 'invalid_client');
  await refusal({ client_id: 'lab-system' }, 400, 'unauthorized_client');
  await refusal({ code_verifier: 'short' }, 400, 'invalid_request');
  await refusal({ code_verifier: `${'a'.repeat(42)}!` }, 400, 'invalid_request');
  await refusal({ code_verifier: 'a'.repeat(129) }, 400, 'invalid_request');
  await refusal({ code_verifier: '' }, 400, 'invalid_request');
  await refusal({ redirect_uri: '' }, 400, 'invalid_request');
  await refusal({ client_id: '' }, 400, 'invalid_request');
  // None of those consumed the code.
  assert.equal((await exchange(fixture, code, verifier)).statusCode, 200);
  // Verifiers of 43 and 128 characters, using every kind of unreserved character, are good syntax.
  for (const edgeVerifier of [
    'AZaz09-._~'.repeat(5).slice(0, 43),
    'AZaz09-._~'.repeat(13).slice(0, 128),
  ]) {
    const edgeCode = await signIn(
      fixture,
      createHash('sha256').update(edgeVerifier).digest('base64url'),
    );
    assert.equal((await exchange(fixture, edgeCode, edgeVerifier)).statusCode, 200, edgeVerifier);
  }
});
