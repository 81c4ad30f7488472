import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type GenerateKeyPairResult,
  type JWTPayload,
} from 'jose';
import { generateJoseKeyPair } from './jose-keys.js';
import { AuthError } from './errors.js';
import { parseScopes } from './scopes.js';
import { TokenIssuer, type AccessGrant } from './tokens.js';
import { FHIR_BASE, ISSUER, TestClock } from '../testonly/auth-fixture.js';

const grant: AccessGrant = {
  principal: { kind: 'practitioner', id: 'dr-a', org: 'practice-a' },
  scopes: parseScopes('user/*.cruds openid'),
  fhirUser: 'Practitioner/dr-a',
  clientId: 'ehr-app',
};

async function issuer(
  options: {
    keyPair?: GenerateKeyPairResult;
    audience?: string;
    issuer?: string;
    lifetimeSeconds?: number;
  } = {},
) {
  const clock = new TestClock();
  const keyPair = options.keyPair ?? (await generateJoseKeyPair('EdDSA'));
  const tokens = await TokenIssuer.create({
    issuer: options.issuer ?? ISSUER,
    audience: options.audience ?? FHIR_BASE,
    keyPair,
    clock: clock.read,
    lifetimeSeconds: options.lifetimeSeconds,
  });
  return { tokens, clock, keyPair };
}

async function refusal(promise: Promise<unknown>, code: AuthError['code']): Promise<AuthError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof AuthError, String(caught));
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** A JWT with our header conventions and `payload`, signed with `key` by `alg`. */
function without(payload: JWTPayload, claim: string): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([name]) => name !== claim));
}

function forge(
  payload: JWTPayload,
  key: Parameters<SignJWT['sign']>[0],
  alg = 'EdDSA',
  typ = 'at+jwt',
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ }).sign(key);
}

test('an issued token carries iss, sub, aud, exp, iat (and its milliseconds), jti, scope, fhirUser and the principal, and verifies to its grant', async () => {
  const { tokens, clock } = await issuer();
  const token = await tokens.issue(grant);
  const header = decodeProtectedHeader(token);
  assert.deepEqual(header, { alg: 'EdDSA', typ: 'at+jwt', kid: tokens.keyId });
  const claims = decodeJwt(token);
  const now = Math.floor(clock.now / 1000);
  assert.deepEqual(
    { ...claims, jti: undefined },
    {
      iss: ISSUER,
      sub: 'practice-a/practitioner/dr-a',
      aud: FHIR_BASE,
      iat: now,
      exp: now + 300,
      jti: undefined,
      scope: 'user/*.cruds openid',
      fhirUser: 'Practitioner/dr-a',
      client_id: 'ehr-app',
      chartchain_principal: { kind: 'practitioner', id: 'dr-a', org: 'practice-a' },
      chartchain_issued_ms: clock.now,
    },
  );
  assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);
  assert.notEqual(decodeJwt(await tokens.issue(grant)).jti, claims.jti, 'jti is unique');
  assert.deepEqual(await tokens.verify(token), grant);
  const patientGrant: AccessGrant = {
    principal: { kind: 'patient', id: 'p-1', org: 'practice-a' },
    scopes: parseScopes('patient/*.rs'),
    fhirUser: 'Patient/p-1',
    patient: 'p-1',
  };
  assert.deepEqual(await tokens.verify(await tokens.issue(patientGrant)), patientGrant);
  const systemGrant: AccessGrant = {
    principal: { kind: 'system', id: 'practice-a', org: 'practice-a' },
    scopes: parseScopes('system/*.rs'),
  };
  assert.deepEqual(
    await tokens.verify(await tokens.issue(systemGrant)),
    systemGrant,
    'a backend grant has no fhirUser',
  );
  const labGrant: AccessGrant = { ...systemGrant, clientId: 'lab-feed' };
  assert.deepEqual(
    await tokens.verify(await tokens.issue(labGrant)),
    { ...labGrant, principal: { ...systemGrant.principal, client: 'lab-feed' } },
    "a system principal acts through its client, which the ledger then names; a user's app is not named",
  );
});

test('the JWK set holds only the public key, and verifies the tokens', async () => {
  const { tokens, clock } = await issuer();
  const jwks = tokens.jwks();
  assert.equal(jwks.keys.length, 1);
  const [key] = jwks.keys;
  assert.deepEqual(Object.keys(key!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  assert.deepEqual(
    [key!.kty, key!.crv, key!.alg, key!.use, key!.kid],
    ['OKP', 'Ed25519', 'EdDSA', 'sig', tokens.keyId],
  );
  const { payload } = await jwtVerify(await tokens.issue(grant), createLocalJWKSet(jwks), {
    algorithms: ['EdDSA'],
    currentDate: new Date(clock.now),
  });
  assert.equal(payload.sub, 'practice-a/practitioner/dr-a');
});

test('a token expires after its lifetime, give or take 30 seconds of clock skew', async () => {
  const { tokens, clock } = await issuer();
  const token = await tokens.issue(grant);
  clock.advance((300 + 29) * 1000);
  assert.deepEqual(await tokens.verify(token), grant, 'within the tolerance');
  clock.advance(2000);
  const error = await refusal(tokens.verify(token), 'expired_token');
  assert.equal(error.statusCode, 401);
  assert.match(
    error.challenge(),
    /^Bearer realm="chartchain", error="invalid_token", error_description="/,
  );
});

test('a token says when it was issued to the millisecond, so a session ended earlier in the same second does not void it', async () => {
  const { tokens, clock } = await issuer();
  clock.advance(640); // within a second: iat alone would say 360 ms earlier
  const token = await tokens.issue(grant);
  assert.equal((await tokens.verifyToken(token)).issuedAtMs, clock.now);
});

test('a token verified once is remembered, yet still expires on time, and hands every request the same frozen grant', async () => {
  const { tokens, clock } = await issuer();
  const token = await tokens.issue(grant);
  const first = await tokens.verifyToken(token);
  const again = await tokens.verifyToken(token);
  assert.equal(again.grant, first.grant, 'remembered, not verified again');
  assert.throws(() => {
    (first.grant.principal as { id: string }).id = 'someone-else';
  }, TypeError);
  assert.throws(() => (first.grant.scopes as unknown[]).push('x'), TypeError);
  clock.advance((300 + 31) * 1000);
  await refusal(tokens.verify(token), 'expired_token');
});

test('only EdDSA is accepted: an HS256 token keyed with the public key, or an unsecured one, is invalid', async () => {
  const { tokens, keyPair } = await issuer();
  const claims = decodeJwt(await tokens.issue(grant));
  const jwk = await exportJWK(keyPair.publicKey);
  const secrets = [
    base64url.decode(jwk.x!),
    new TextEncoder().encode(jwk.x!),
    new TextEncoder().encode(JSON.stringify(jwk)),
    new TextEncoder().encode(JSON.stringify(tokens.jwks())),
  ];
  for (const secret of secrets) {
    const error = await refusal(
      tokens.verify(await forge(claims, secret, 'HS256')),
      'invalid_token',
    );
    assert.match(error.message, /alg/);
  }
  await refusal(tokens.verify(new UnsecuredJWT(claims).encode()), 'invalid_token');
  const es256 = await generateJoseKeyPair('ES256');
  await refusal(tokens.verify(await forge(claims, es256.privateKey, 'ES256')), 'invalid_token');
});

test('a token for another audience or from another issuer or key is invalid', async () => {
  const { tokens, keyPair } = await issuer();
  const otherAudience = await issuer({ keyPair, audience: 'https://node-b.example/fhir' });
  const otherIssuer = await issuer({ keyPair, issuer: 'https://node-b.example' });
  const otherKey = await issuer();
  assert.match(
    (await refusal(tokens.verify(await otherAudience.tokens.issue(grant)), 'invalid_token'))
      .message,
    /aud/,
  );
  assert.match(
    (await refusal(tokens.verify(await otherIssuer.tokens.issue(grant)), 'invalid_token')).message,
    /iss/,
  );
  // A token from a key this node does not hold (say, before a key change) is told to log in
  // again, not suspected of tampering.
  const unknownKey = await refusal(
    tokens.verify(await otherKey.tokens.issue(grant)),
    'invalid_token',
  );
  assert.match(unknownKey.message, /not valid for this node.*log in again/);
  assert.doesNotMatch(unknownKey.message, /signature/);
  // The control: the same key, issuer and audience verify.
  assert.deepEqual(
    await tokens.verify(await (await issuer({ keyPair })).tokens.issue(grant)),
    grant,
  );
});

test('a tampered token is invalid: payload, signature or header changed', async () => {
  const { tokens } = await issuer();
  const token = await tokens.issue(grant);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<
    string,
    unknown
  >;
  const widened = base64url.encode(JSON.stringify({ ...claims, scope: 'system/*.cruds' }));
  const promoted = base64url.encode(
    JSON.stringify({
      ...claims,
      chartchain_principal: { kind: 'system', id: 'practice-a', org: 'practice-a' },
    }),
  );
  const flipped = base64url.encode(
    base64url.decode(signature).map((byte, i) => (i === 0 ? byte ^ 1 : byte)),
  );
  const retyped = base64url.encode(
    JSON.stringify({
      ...JSON.parse(new TextDecoder().decode(base64url.decode(header))),
      kid: 'other',
    }),
  );
  for (const tampered of [
    `${header}.${widened}.${signature}`,
    `${header}.${promoted}.${signature}`,
    `${header}.${payload}.${flipped}`,
    `${retyped}.${payload}.${signature}`,
  ]) {
    await refusal(tokens.verify(tampered), 'invalid_token');
  }
  // Under this node's own key id, a bad signature still reads as one.
  assert.match(
    (await refusal(tokens.verify(`${header}.${payload}.${flipped}`), 'invalid_token')).message,
    /signature/,
  );
  for (const garbage of ['', 'abc', 'a.b.c', `${header}.${payload}`, `${token}.x`])
    await refusal(tokens.verify(garbage), 'invalid_token');
});

test('a well-signed JWT that is not an access token of ours is invalid', async () => {
  const { tokens, keyPair, clock } = await issuer();
  const claims = decodeJwt(await tokens.issue(grant));
  const now = Math.floor(clock.now / 1000);
  assert.deepEqual(
    await tokens.verify(await forge(claims, keyPair.privateKey)),
    grant,
    'the control passes',
  );
  const cases: [string, Promise<string>][] = [
    ['typ JWT', forge(claims, keyPair.privateKey, 'EdDSA', 'JWT')],
    ['no principal', forge({ ...claims, chartchain_principal: undefined }, keyPair.privateKey)],
    [
      'bad principal kind',
      forge(
        { ...claims, chartchain_principal: { kind: 'root', id: 'x', org: 'y' } },
        keyPair.privateKey,
      ),
    ],
    ['sub mismatch', forge({ ...claims, sub: 'practice-b/practitioner/dr-a' }, keyPair.privateKey)],
    ['malformed scope', forge({ ...claims, scope: 'user/*.all' }, keyPair.privateKey)],
    ['no jti', forge(without(claims, 'jti'), keyPair.privateKey)],
    ['no exp', forge(without(claims, 'exp'), keyPair.privateKey)],
    ['not yet valid', forge({ ...claims, nbf: now + 120 }, keyPair.privateKey)],
    ['numeric fhirUser', forge({ ...claims, fhirUser: 7 }, keyPair.privateKey)],
  ];
  for (const [name, token] of cases)
    await refusal(tokens.verify(await token), 'invalid_token').catch((error: unknown) =>
      assert.fail(`${name}: ${String(error)}`),
    );
});

test('the lifetime is 1 to 3600 whole seconds, and the key must be Ed25519', async () => {
  for (const lifetimeSeconds of [0, 3601, 1.5, -1])
    await assert.rejects(issuer({ lifetimeSeconds }), RangeError);
  const { tokens, clock } = await issuer({ lifetimeSeconds: 3600 });
  const claims = decodeJwt(await tokens.issue(grant));
  assert.equal(claims.exp! - claims.iat!, 3600);
  assert.equal(claims.iat, Math.floor(clock.now / 1000));
  await assert.rejects(issuer({ keyPair: await generateJoseKeyPair('ES256') }), /Ed25519/);
  const generated = await TokenIssuer.create({ issuer: ISSUER, audience: FHIR_BASE });
  assert.equal(generated.lifetimeSeconds, 300);
  assert.deepEqual(await generated.verify(await generated.issue(grant)), grant);
});

test('AuthError: 401 with an RFC 6750 challenge, 403 for insufficient_scope, no error code when no token came', () => {
  assert.equal(new AuthError('invalid_token', 'x').statusCode, 401);
  assert.equal(new AuthError('insufficient_scope', 'x').statusCode, 403);
  assert.equal(
    new AuthError('insufficient_scope', 'needs "r"\n').challenge(),
    'Bearer realm="chartchain", error="insufficient_scope", error_description="needs ?r??"',
  );
  assert.equal(
    new AuthError('invalid_token', 'none', false).challenge(),
    'Bearer realm="chartchain"',
  );
});
