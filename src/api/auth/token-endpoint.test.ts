import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { generateJoseKeyPair } from './jose-keys.js';
import { backendClient } from './clients.js';
import { registerAuthRoutes } from './plugin.js';
import { OAuthError } from './errors.js';
import { parseScopes } from './scopes.js';
import type { UserDirectory } from './users.js';
import {
  APP_ID,
  ASSERTION_TYPE,
  authFixture,
  BACKEND_ID,
  BACKEND_KID,
  clientCredentials,
  postForm,
  signAssertion,
  TOKEN_URL,
  type AuthFixture,
} from '../testonly/auth-fixture.js';

/** Checks an RFC 6749 §5.2 refusal and returns its description. */
function oauthRefusal(response: LightMyRequestResponse, statusCode: number, error: string): string {
  assert.equal(response.statusCode, statusCode, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  assert.equal(response.headers['cache-control'], 'no-store');
  const body = response.json() as { error: string; error_description: string };
  assert.equal(body.error, error, response.body);
  assert.ok(body.error_description.length > 0);
  return body.error_description;
}

async function granted(
  fixture: AuthFixture,
  response: LightMyRequestResponse,
): Promise<{ scope: string; expires_in: number; token_type: string; access_token: string }> {
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['cache-control'], 'no-store');
  assert.equal(response.headers['pragma'], 'no-cache');
  return response.json();
}

test('client_credentials: a signed assertion gets a system token for the requested scopes', async (t) => {
  const fixture = await authFixture(t);
  const body = await granted(
    fixture,
    await clientCredentials(fixture.app, await signAssertion(fixture)),
  );
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 300);
  assert.equal(body.scope, 'system/Observation.rs');
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  const grant = await fixture.auth.tokens.verify(body.access_token);
  assert.deepEqual(grant.principal, {
    kind: 'system',
    id: 'practice-a',
    org: 'practice-a',
    client: 'lab-system',
  });
  assert.equal(grant.clientId, BACKEND_ID);
  assert.equal(grant.fhirUser, undefined);
  // client_id may accompany the assertion if it names the same client (RFC 7521 §4.2).
  await granted(
    fixture,
    await clientCredentials(fixture.app, await signAssertion(fixture), { client_id: BACKEND_ID }),
  );
});

test('client_credentials: scopes are narrowed to what the client is allowed, or refused when nothing is left', async (t) => {
  const fixture = await authFixture(t);
  const ask = async (scope: string) =>
    clientCredentials(fixture.app, await signAssertion(fixture), { scope });
  assert.equal(
    (await granted(fixture, await ask('system/*.cruds'))).scope,
    'system/Observation.cruds system/Patient.rs',
  );
  assert.equal(
    (await granted(fixture, await ask('system/Patient.cruds system/Consent.rs'))).scope,
    'system/Patient.rs',
  );
  assert.equal(
    (await granted(fixture, await ask('system/Observation.read openid'))).scope,
    'system/Observation.rs',
  );
  assert.match(
    oauthRefusal(await ask('system/Consent.rs'), 400, 'invalid_scope'),
    /none of the requested scopes/,
  );
  assert.match(
    oauthRefusal(await ask('patient/*.rs'), 400, 'invalid_scope'),
    /none of the requested scopes/,
  );
  assert.match(
    oauthRefusal(await ask('system/Observation.rsx'), 400, 'invalid_scope'),
    /in that order/,
  );
  oauthRefusal(
    await postForm(fixture.app, '/auth/token', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signAssertion(fixture),
    }),
    400,
    'invalid_request',
  );
});

test('client_credentials: every bad assertion is invalid_client (401)', async (t) => {
  const fixture = await authFixture(t);
  const now = Math.floor(fixture.clock.now / 1000);
  const stranger = await generateJoseKeyPair('EdDSA');
  const cases: [string, Promise<string>, RegExp][] = [
    [
      'signed by another key under the registered kid',
      signAssertion(fixture, {}, {}, stranger.privateKey),
      /signature/,
    ],
    [
      'signed by another key under another kid',
      signAssertion(fixture, {}, { kid: 'other' }, stranger.privateKey),
      /no applicable key|matching/i,
    ],
    [
      'aud is the issuer, not the token endpoint',
      signAssertion(fixture, { aud: 'https://node-a.example' }),
      /aud/,
    ],
    [
      'aud is another server',
      signAssertion(fixture, { aud: 'https://node-b.example/auth/token' }),
      /aud/,
    ],
    ['expired', signAssertion(fixture, { iat: now - 400, exp: now - 60 }), /exp/],
    [
      'exp more than five minutes ahead',
      signAssertion(fixture, { exp: now + 600 }),
      /five minutes/,
    ],
    ['no exp', signAssertion(fixture, { exp: undefined }), /exp/],
    ['no jti', signAssertion(fixture, { jti: undefined }), /jti/],
    ['empty jti', signAssertion(fixture, { jti: '' }), /jti/],
    ['iat in the future', signAssertion(fixture, { iat: now + 120 }), /iat/],
    ['sub is not the client', signAssertion(fixture, { sub: 'someone-else' }), /sub/],
    [
      'unknown client',
      signAssertion(fixture, { iss: 'nobody', sub: 'nobody' }),
      /not a registered backend client/,
    ],
    [
      'a public client',
      signAssertion(fixture, { iss: 'patient-app', sub: 'patient-app' }),
      /not a registered backend client/,
    ],
    ['HS256 keyed with the public key', hs256Assertion(fixture), /alg/],
    [
      'unsecured',
      Promise.resolve(
        new UnsecuredJWT({
          iss: BACKEND_ID,
          sub: BACKEND_ID,
          aud: TOKEN_URL,
          exp: now + 60,
          jti: 'u-1',
        }).encode(),
      ),
      /alg|JWS|Invalid/i,
    ],
    ['not a JWT', Promise.resolve('not-a-jwt'), /not a JWT/],
  ];
  for (const [name, assertion, reason] of cases) {
    const description = oauthRefusal(
      await clientCredentials(fixture.app, await assertion),
      401,
      'invalid_client',
    );
    assert.match(description, reason, `${name}: ${description}`);
  }
  // The control: a correct assertion at the same moment succeeds.
  await granted(fixture, await clientCredentials(fixture.app, await signAssertion(fixture)));
});

async function hs256Assertion(fixture: AuthFixture): Promise<string> {
  const jwk = await exportJWK(fixture.backendKeys.publicKey);
  const now = Math.floor(fixture.clock.now / 1000);
  return new SignJWT({
    iss: BACKEND_ID,
    sub: BACKEND_ID,
    aud: TOKEN_URL,
    exp: now + 60,
    jti: 'hs-1',
  })
    .setProtectedHeader({ alg: 'HS256', kid: BACKEND_KID })
    .sign(new TextEncoder().encode(JSON.stringify(jwk)));
}

test('client_credentials: an assertion is good once; its jti is refused until it expires', async (t) => {
  const fixture = await authFixture(t);
  const assertion = await signAssertion(fixture, { jti: 'once' });
  await granted(fixture, await clientCredentials(fixture.app, assertion));
  assert.match(
    oauthRefusal(await clientCredentials(fixture.app, assertion), 401, 'invalid_client'),
    /jti has been used/,
  );
  assert.match(
    oauthRefusal(
      await clientCredentials(fixture.app, await signAssertion(fixture, { jti: 'once' })),
      401,
      'invalid_client',
    ),
    /jti has been used/,
    'a new assertion reusing the jti',
  );
  // Forgetting a jti is safe only once an assertion bearing it would be refused as expired anyway.
  fixture.clock.advance((240 + 31) * 1000);
  await granted(
    fixture,
    await clientCredentials(fixture.app, await signAssertion(fixture, { jti: 'once' })),
  );
});

test('client_credentials: an assertion used before a restart is refused after it, until it expires', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const replayCachePath = join(dir, 'auth.db');
  const before = await authFixture(t, { replayCachePath });
  const assertion = await signAssertion(before, { jti: 'before-restart' });
  await granted(before, await clientCredentials(before.app, assertion));
  await before.app.close();
  before.auth.close();

  // The same client key and the same file, in a new authorization server: a restart.
  const after = await authFixture(t, { replayCachePath, backendKeys: before.backendKeys });
  assert.match(
    oauthRefusal(await clientCredentials(after.app, assertion), 401, 'invalid_client'),
    /jti has been used/,
  );
  after.clock.advance((240 + 31) * 1000);
  await granted(
    after,
    await clientCredentials(after.app, await signAssertion(after, { jti: 'before-restart' })),
  );
});

test('client_credentials: the client authentication method must be private_key_jwt', async (t) => {
  const fixture = await authFixture(t);
  const assertion = await signAssertion(fixture);
  const base = { grant_type: 'client_credentials', scope: 'system/Observation.rs' };
  assert.match(
    oauthRefusal(await postForm(fixture.app, '/auth/token', base), 401, 'invalid_client'),
    /private_key_jwt/,
  );
  assert.match(
    oauthRefusal(
      await postForm(fixture.app, '/auth/token', { ...base, client_assertion: assertion }),
      401,
      'invalid_client',
    ),
    /private_key_jwt/,
  );
  const wrongType = {
    ...base,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
    client_assertion: assertion,
  };
  assert.match(
    oauthRefusal(await postForm(fixture.app, '/auth/token', wrongType), 401, 'invalid_client'),
    /client_assertion_type/,
  );
  assert.match(
    oauthRefusal(
      await clientCredentials(fixture.app, assertion, { client_id: 'patient-app' }),
      401,
      'invalid_client',
    ),
    /client_id differs/,
  );
});

test('an ES384 client key works too (SMART requires RS384 and ES384)', async (t) => {
  const fixture = await authFixture(t);
  const keys = await generateJoseKeyPair('ES384');
  await fixture.auth.clients.register(
    backendClient({
      clientId: 'es-client',
      org: 'lab-b',
      jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'es-1', alg: 'ES384' }] },
      scope: 'system/*.rs',
    }),
  );
  const assertion = await signAssertion(
    fixture,
    { iss: 'es-client', sub: 'es-client' },
    { alg: 'ES384', kid: 'es-1' },
    keys.privateKey,
  );
  const body = await granted(
    fixture,
    await clientCredentials(fixture.app, assertion, { scope: 'system/Patient.read' }),
  );
  assert.equal(body.scope, 'system/Patient.rs');
  assert.deepEqual((await fixture.auth.tokens.verify(body.access_token)).principal, {
    kind: 'system',
    id: 'lab-b',
    org: 'lab-b',
    client: 'es-client',
  });
});

test('the token endpoint refuses malformed requests with RFC 6749 errors', async (t) => {
  const fixture = await authFixture(t);
  const assertion = await signAssertion(fixture);
  const post = (payload: string, contentType = 'application/x-www-form-urlencoded') =>
    fixture.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': contentType },
      payload,
    });
  assert.match(
    oauthRefusal(
      await postForm(fixture.app, '/auth/token', { scope: 'x' }),
      400,
      'invalid_request',
    ),
    /grant_type is required/,
  );
  assert.match(
    oauthRefusal(
      await postForm(fixture.app, '/auth/token', {
        grant_type: 'password',
        username: 'a',
        password: 'b',
      }),
      400,
      'unsupported_grant_type',
    ),
    /client_credentials/,
  );
  assert.match(
    oauthRefusal(
      await postForm(fixture.app, '/auth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'x',
      }),
      400,
      'invalid_request',
    ),
    /client_id is required/,
  );
  assert.match(
    oauthRefusal(
      await postForm(fixture.app, '/auth/token', {
        grant_type: 'refresh_token',
        refresh_token: 'x',
        client_id: APP_ID,
      }),
      400,
      'invalid_grant',
    ),
    /unknown or expired/,
  );
  const twice = `grant_type=client_credentials&scope=system%2FObservation.rs&client_assertion_type=${encodeURIComponent(ASSERTION_TYPE)}&client_assertion=${assertion}&client_assertion=${assertion}`;
  assert.match(oauthRefusal(await post(twice), 400, 'invalid_request'), /more than once/);
  assert.match(
    oauthRefusal(
      await post(JSON.stringify({ grant_type: 'client_credentials' }), 'application/json'),
      400,
      'invalid_request',
    ),
    /x-www-form-urlencoded/,
  );
  assert.match(
    oauthRefusal(
      await fixture.app.inject({ method: 'POST', url: '/auth/token' }),
      400,
      'invalid_request',
    ),
    /x-www-form-urlencoded/,
  );
  assert.match(oauthRefusal(await post(''), 400, 'invalid_request'), /grant_type is required/);
  assert.match(
    oauthRefusal(
      await fixture.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: Buffer.from([0x67, 0x3d, 0xff]),
      }),
      400,
      'invalid_request',
    ),
    /UTF-8/,
  );
  const huge = await post(`grant_type=client_credentials&pad=${'a'.repeat(70 * 1024)}`);
  assert.equal(huge.statusCode, 413);
});

test('the routes work inside an app that reads every body as raw bytes, and leave its parser alone', async (t) => {
  const fixture = await authFixture(t);
  const app = Fastify();
  t.after(() => app.close());
  // As src/api/server.ts configures the real server.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, new Uint8Array(body as Buffer)),
  );
  app.post('/echo', async (request) => ({
    bytes: request.body instanceof Uint8Array && !Buffer.isBuffer(request.body),
  }));
  registerAuthRoutes(app, fixture.auth);
  await app.ready();
  const response = await clientCredentials(app, await signAssertion(fixture));
  assert.equal(response.statusCode, 200, response.body);
  const echo = await app.inject({
    method: 'POST',
    url: '/echo',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'a=1',
  });
  assert.deepEqual(echo.json(), { bytes: true });
});

test('a refresh while the session cannot be told yet (ids being relearnt) is a 503 that leaves the token usable', async (t) => {
  let relearnt = false;
  const users: UserDirectory = {
    signIn: () => Promise.resolve({ refused: 'credentials' }),
    sessionActive: () => {
      if (!relearnt)
        throw new OAuthError('temporarily_unavailable', 'relearning patient ids', 503, 5);
      return true;
    },
  };
  const fixture = await authFixture(t, { users });
  const token = fixture.auth.refreshTokens.issue(
    {
      principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
      scopes: parseScopes('patient/*.rs offline_access'),
      patient: 'patient-0001',
    },
    APP_ID,
  );
  const refresh = () =>
    postForm(fixture.app, '/auth/token', {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: APP_ID,
    });
  const early = await refresh();
  oauthRefusal(early, 503, 'temporarily_unavailable');
  assert.equal(early.headers['retry-after'], '5');
  relearnt = true;
  await granted(fixture, await refresh());
});
