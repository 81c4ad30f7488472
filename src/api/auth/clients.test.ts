import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateSecret } from 'jose';
import { generateJoseKeyPair } from './jose-keys.js';
import { backendClient, InMemoryClientRegistry, publicClient } from './clients.js';
import { createDemoUsers, DEMO_PASSWORD } from './demo-users.js';
import { hashPassword, InMemoryUserDirectory, verifyPassword } from './users.js';

test('a backend client acts as its organisation with system/ scopes and public keys only', async () => {
  const keys = await generateJoseKeyPair('EdDSA');
  const publicJwk = await exportJWK(keys.publicKey);
  const client = backendClient({
    clientId: 'lab',
    org: 'lab-org',
    jwks: { keys: [publicJwk] },
    scope: 'system/Observation.cruds',
  });
  assert.deepEqual(client.principal, { kind: 'system', id: 'lab-org', org: 'lab-org' });
  assert.equal(client.kind, 'backend');
  const cases: [Parameters<typeof backendClient>[0], RegExp][] = [
    [
      {
        clientId: 'lab',
        org: 'lab-org',
        jwks: { keys: [await exportJWK(keys.privateKey)] },
        scope: 'system/*.rs',
      },
      /public keys only/,
    ],
    [
      {
        clientId: 'lab',
        org: 'lab-org',
        jwks: { keys: [await exportJWK(await generateSecret('HS256', { extractable: true }))] },
        scope: 'system/*.rs',
      },
      /RSA, EC or OKP/,
    ],
    [
      {
        clientId: 'lab',
        org: 'lab-org',
        jwks: { keys: [{ ...publicJwk, alg: 'HS256' }] },
        scope: 'system/*.rs',
      },
      /not accepted/,
    ],
    [{ clientId: 'lab', org: 'lab-org', jwks: { keys: [] }, scope: 'system/*.rs' }, /non-empty/],
    [
      { clientId: 'lab', org: 'lab-org', jwks: { keys: [publicJwk] }, scope: 'user/*.rs' },
      /system\/ scopes only/,
    ],
    [
      { clientId: 'lab', org: 'lab-org', jwks: { keys: [publicJwk] }, scope: 'system/*.rs openid' },
      /system\/ scopes only/,
    ],
    [
      { clientId: 'lab', org: '', jwks: { keys: [publicJwk] }, scope: 'system/*.rs' },
      /organisation/,
    ],
    [
      { clientId: 'lab client', org: 'lab-org', jwks: { keys: [publicJwk] }, scope: 'system/*.rs' },
      /client_id/,
    ],
  ];
  for (const [options, reason] of cases) assert.throws(() => backendClient(options), reason);
  assert.throws(
    () =>
      backendClient({
        clientId: 'lab',
        org: 'lab-org',
        jwks: { keys: [publicJwk] },
        scope: 'system/Nope.rs',
      }),
    /not a FHIR R4 resource type/,
  );
});

test('a public client needs absolute, fragment-free https (or loopback http) redirect URIs', () => {
  assert.deepEqual(
    publicClient({
      clientId: 'app',
      redirectUris: ['https://app.example/cb', 'http://localhost:3000/cb', 'http://[::1]/cb'],
    }).redirectUris.length,
    3,
  );
  for (const uri of [
    '/cb',
    'https://app.example/cb#frag',
    'http://app.example/cb',
    'javascript:alert(1)',
    'custom',
  ]) {
    assert.throws(() => publicClient({ clientId: 'app', redirectUris: [uri] }), TypeError, uri);
  }
  assert.throws(() => publicClient({ clientId: 'app', redirectUris: [] }), /at least one/);
  assert.equal(
    publicClient({ clientId: 'app', redirectUris: ['https://a.example/cb'], scope: 'patient/*.rs' })
      .scopes?.length,
    1,
  );
});

test('the registry finds registered clients and refuses a taken client_id', async () => {
  const app = publicClient({ clientId: 'app', redirectUris: ['https://app.example/cb'] });
  const registry = new InMemoryClientRegistry([app]);
  assert.equal(await registry.find('app'), app);
  assert.equal(await registry.find('other'), undefined);
  assert.equal(await registry.find('__proto__'), undefined);
  await assert.rejects(registry.register(app), /already registered/);
});

test('passwords are stored as salted scrypt hashes and checked in full', async () => {
  const hash = await hashPassword('correct horse');
  assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(await hashPassword('correct horse'), hash, 'salted');
  assert.equal(await verifyPassword('correct horse', hash), true);
  assert.equal(await verifyPassword('correct horsE', hash), false);
  assert.equal(await verifyPassword('', hash), false);
  for (const corrupt of [
    '',
    'plain',
    hash.replace('scrypt', 'bcrypt'),
    hash.replace('$32768$', '$1000$'),
    hash.replace('$32768$', '$1073741824$'),
    `${hash}$x`,
  ]) {
    assert.equal(await verifyPassword('correct horse', corrupt), false, corrupt);
  }
});

test('the demo users log in with the demo password, as who they say, and never expose the hash; the patient acts under their pseudonym', async () => {
  const pseudonyms = {
    patientIdOf: (id: string) => (id === 'patient-0001' ? '5e'.repeat(16) : undefined),
    fhirPatientIdOf: () => undefined,
  };
  const users = await createDemoUsers('practice-z', pseudonyms);
  const userOf = async (username: string, password: string) => {
    const result = await users.signIn({ username, password });
    return 'user' in result ? result.user : undefined;
  };
  const ada = await userOf('dr-ada', DEMO_PASSWORD);
  assert.deepEqual(ada?.principal, { kind: 'practitioner', id: 'dr-ada', org: 'practice-z' });
  assert.equal(ada?.fhirUser, 'Practitioner/dr-ada');
  assert.equal((ada as unknown as Record<string, unknown>)['passwordHash'], undefined);
  const patient = await userOf('patient-0001', DEMO_PASSWORD);
  assert.deepEqual(
    [patient?.principal.id, patient?.patient, patient?.fhirUser],
    ['5e'.repeat(16), 'patient-0001', 'Patient/patient-0001'],
  );
  assert.equal((await userOf('auditor-ann', DEMO_PASSWORD))?.principal.kind, 'auditor');
  assert.equal(await userOf('dr-ada', 'nope'), undefined);
  assert.equal(await userOf('nobody', DEMO_PASSWORD), undefined);
  assert.equal(await userOf('dr-ada', DEMO_PASSWORD.repeat(100)), undefined);
  assert.equal(
    await new InMemoryUserDirectory([]).authenticate('dr-ada', DEMO_PASSWORD),
    undefined,
  );
});
