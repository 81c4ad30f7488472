import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AuthServer } from './auth-server.js';
import { bearerPrincipal, requireScope } from './bearer.js';
import { AuthError } from './errors.js';
import { parseScopes } from './scopes.js';
import { authFixture, FHIR_BASE, ISSUER } from '../testonly/auth-fixture.js';

test('GET /.well-known/smart-configuration lists the endpoints and only the capabilities that work', async (t) => {
  const { app } = await authFixture(t);
  const response = await app.inject('/.well-known/smart-configuration');
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  assert.equal(response.headers['access-control-allow-origin'], '*');
  assert.deepEqual(response.json(), {
    authorization_endpoint: `${ISSUER}/auth/authorize`,
    token_endpoint: `${ISSUER}/auth/token`,
    jwks_uri: `${ISSUER}/auth/jwks`,
    revocation_endpoint: `${ISSUER}/auth/revoke`,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['ES384', 'RS384', 'EdDSA'],
    scopes_supported: [
      'patient/*.rs',
      'user/*.cruds',
      'system/*.rs',
      'launch/patient',
      'offline_access',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'permission-patient',
      'permission-user',
      'permission-v2',
      'permission-offline',
    ],
  });
});

test('GET /auth/jwks publishes the public key that verifies issued tokens', async (t) => {
  const { app, auth, clock } = await authFixture(t);
  const response = await app.inject('/auth/jwks');
  assert.equal(response.statusCode, 200);
  const jwks = response.json() as { keys: Record<string, unknown>[] };
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0]!['d'], undefined);
  const token = await auth.tokens.issue({
    principal: { kind: 'auditor', id: 'au-1', org: 'practice-a' },
    scopes: parseScopes('user/AuditEvent.rs'),
    fhirUser: 'Person/au-1',
  });
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
    issuer: ISSUER,
    audience: FHIR_BASE,
    currentDate: new Date(clock.now),
  });
  assert.equal(payload['scope'], 'user/AuditEvent.rs');
});

test('bearerPrincipal reads the Bearer token; requireScope refuses interactions outside its scopes', async (t) => {
  const fixture = await authFixture(t);
  const { auth } = fixture;
  const fhir = Fastify();
  t.after(() => fhir.close());
  fhir.get('/fhir/Observation', async (request, reply) => {
    try {
      const grant = await bearerPrincipal(request, auth);
      requireScope(grant, { resourceType: 'Observation', interaction: 'search' });
      return { principal: grant.principal, patient: grant.patient ?? null };
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      return reply
        .code(error.statusCode)
        .header('www-authenticate', error.challenge())
        .send({ error: error.code });
    }
  });
  const call = (authorization?: string) =>
    fhir.inject({
      url: '/fhir/Observation',
      headers: authorization === undefined ? {} : { authorization },
    });
  const token = await auth.tokens.issue({
    principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
    scopes: parseScopes('patient/Observation.rs'),
    fhirUser: 'Patient/p-1',
    patient: 'p-1',
  });
  const ok = await call(`Bearer ${token}`);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json(), {
    principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
    patient: 'p-1',
  });
  assert.equal((await call(`bearer  ${token}`)).statusCode, 200, 'the scheme is case-insensitive');

  const missing = await call();
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="chartchain"');
  for (const header of [
    `Basic ${token}`,
    'Bearer',
    `Bearer ${token}x`,
    `Bearer ${token} extra`,
    token,
  ]) {
    const refused = await call(header);
    assert.equal(refused.statusCode, 401, header);
    assert.match(String(refused.headers['www-authenticate']), /error="invalid_token"/);
  }
  const narrow = await auth.tokens.issue({
    principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
    scopes: parseScopes('patient/Observation.r'),
    fhirUser: 'Patient/p-1',
  });
  const forbidden = await call(`Bearer ${narrow}`);
  assert.equal(forbidden.statusCode, 403);
  assert.match(String(forbidden.headers['www-authenticate']), /error="insufficient_scope"/);
  fixture.clock.advance(331_000);
  assert.deepEqual((await call(`Bearer ${token}`)).json(), { error: 'expired_token' });
});

test('AuthServer.create checks its URLs', async () => {
  await assert.rejects(
    AuthServer.create({ issuer: 'node-a', fhirBaseUrl: FHIR_BASE }),
    /issuer must be an absolute URL/,
  );
  await assert.rejects(
    AuthServer.create({ issuer: `${ISSUER}?x=1`, fhirBaseUrl: FHIR_BASE }),
    /without query/,
  );
  await assert.rejects(
    AuthServer.create({ issuer: ISSUER, fhirBaseUrl: 'ftp://node-a.example/fhir' }),
    /fhirBaseUrl must be an http/,
  );
  const auth = await AuthServer.create({ issuer: `${ISSUER}/`, fhirBaseUrl: `${FHIR_BASE}/` });
  assert.deepEqual(auth.urls, {
    issuer: ISSUER,
    fhirBase: FHIR_BASE,
    authorize: `${ISSUER}/auth/authorize`,
    token: `${ISSUER}/auth/token`,
    jwks: `${ISSUER}/auth/jwks`,
    revoke: `${ISSUER}/auth/revoke`,
    activate: `${ISSUER}/auth/activate`,
  });
});
