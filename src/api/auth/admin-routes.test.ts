import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Fastify from 'fastify';
import { generateSync } from 'otplib';
import { createAccount, resetSecondFactor } from './account-admin.js';
import { AccountDirectory } from './account-directory.js';
import { AccountStore } from './account-store.js';
import { AuthServer } from './auth-server.js';
import { FHIR_BASE, ISSUER } from '../testonly/auth-fixture.js';
import { registerAuthRoutes } from './plugin.js';

const PASSWORD = 'an administrator password';

const adminSecret = (store: AccountStore) => store.get('root')!.totpSecret!;

/** A node's auth routes over a fresh accounts file holding one administrator, `root`. */
async function adminApi(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-admin-'));
  const store = new AccountStore(join(dir, 'users.db'));
  const auth = await AuthServer.create({
    issuer: ISSUER,
    fhirBaseUrl: FHIR_BASE,
    accounts: new AccountDirectory(store, { org: 'practice-a' }),
    rateLimit: { capacity: 1000 },
  });
  const app = Fastify();
  registerAuthRoutes(app, auth);
  t.after(async () => {
    await app.close();
    auth.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { totpSecret } = await createAccount(
    store,
    { username: 'root', role: 'admin', subjectId: 'root', password: PASSWORD },
    Date.now(),
  );
  const call = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    options: { token?: string; body?: unknown } = {},
  ) =>
    app.inject({
      method,
      url: `/auth/admin${url}`,
      headers: {
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    });
  const signIn = async (username = 'root', password = PASSWORD, secret = totpSecret!) =>
    call('POST', '/session', { body: { username, password, code: generateSync({ secret }) } });
  return { store, call, signIn, totpSecret: totpSecret! };
}

test('an administrator signs in with password and TOTP code, then creates, lists and disables accounts', async (t) => {
  const { call, signIn } = await adminApi(t);
  assert.equal(
    (await call('POST', '/session', { body: { username: 'root', password: PASSWORD } })).statusCode,
    401,
    'no code',
  );
  const session = await signIn();
  assert.equal(session.statusCode, 200, session.body);
  assert.equal(session.headers['cache-control'], 'no-store');
  const { token } = session.json() as { token: string };
  assert.equal((await call('GET', '/users')).statusCode, 401);
  assert.equal((await call('GET', '/users', { token: 'forged' })).statusCode, 401);

  const created = await call('POST', '/users', {
    token,
    body: { username: 'dr-c', role: 'practitioner', id: 'dr-c' },
  });
  assert.equal(created.statusCode, 201, created.body);
  const secrets = created.json() as { password: string; totpSecret: string; totpUri: string };
  assert.match(secrets.password, /^[A-Za-z0-9_-]{20}$/);
  assert.match(secrets.totpUri, /^otpauth:\/\/totp\/ChartChain:dr-c%40practice-a\?/);
  const patient = await call('POST', '/users', {
    token,
    body: { username: 'pat', role: 'patient', id: 'patient-1', activation: true },
  });
  assert.match(
    (patient.json() as { activationCode: string }).activationCode,
    /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/,
  );

  assert.equal(
    (
      await call('POST', '/users', {
        token,
        body: { username: 'dr-c', role: 'practitioner', id: 'dr-x' },
      })
    ).statusCode,
    409,
  );
  assert.equal(
    (await call('POST', '/users', { token, body: { username: 'x', role: 'superuser', id: 'x' } }))
      .statusCode,
    400,
  );
  assert.equal(
    (
      await call('POST', '/users', {
        token,
        body: { username: 'x', role: 'patient', id: 'not a FHIR id' },
      })
    ).statusCode,
    400,
  );
  assert.equal((await call('POST', '/users', { token, body: [] })).statusCode, 400);

  const disabled = await call('POST', '/users/dr-c/disable', { token });
  assert.equal(disabled.statusCode, 200, disabled.body);
  assert.equal((await call('POST', '/users/nobody/disable', { token })).statusCode, 404);
  assert.equal((await call('POST', '/users/dr-c/__proto__', { token })).statusCode, 404);
  const listed = (await call('GET', '/users', { token })).json() as {
    accounts: { username: string; state: string; secondFactor: boolean }[];
  };
  assert.deepEqual(
    listed.accounts.map((account) => [account.username, account.state, account.secondFactor]),
    [
      ['dr-c', 'disabled', true],
      ['pat', 'awaiting activation', false],
      ['root', 'active', true],
    ],
  );
  assert.doesNotMatch(
    JSON.stringify(listed),
    /scrypt|password|totpSecret/,
    'no secret is ever listed',
  );

  const reset = (await call('POST', '/users/dr-c/reset-password', { token })).json() as {
    password: string;
  };
  assert.notEqual(reset.password, secrets.password);
  assert.equal((await call('DELETE', '/session', { token })).statusCode, 200);
  assert.equal((await call('GET', '/users', { token })).statusCode, 401, 'signed out');
});

test('only administrators open admin sessions, and a disabled one loses theirs at once', async (t) => {
  const { store, call, signIn } = await adminApi(t);
  const practitioner = await createAccount(
    store,
    { username: 'dr-d', role: 'practitioner', subjectId: 'dr-d' },
    Date.now(),
  );
  assert.equal(
    (await signIn('dr-d', practitioner.password!, practitioner.totpSecret!)).statusCode,
    401,
    'a practitioner is no administrator',
  );
  const fhirSignIn = await new AccountDirectory(store, { org: 'practice-a' }).signIn({
    username: 'root',
    password: PASSWORD,
    code: generateSync({ secret: adminSecret(store) }),
  });
  assert.deepEqual(
    fhirSignIn,
    { refused: 'credentials' },
    'an administrator signs in to no FHIR app',
  );
  const { token } = (await signIn()).json() as { token: string };
  store.setDisabled('root', true, Date.now());
  assert.equal((await call('GET', '/users', { token })).statusCode, 401);
  store.setDisabled('root', false, Date.now());
  assert.equal(
    (await call('GET', '/users', { token })).statusCode,
    401,
    'enabling again does not bring back a session',
  );
  // A new authenticator, so the sign-in below does not replay the code used above.
  const { totpSecret } = resetSecondFactor(store, 'root', Date.now())!;
  const { token: fresh } = (await signIn('root', PASSWORD, totpSecret)).json() as { token: string };
  assert.equal((await call('GET', '/users', { token: fresh })).statusCode, 200);
  await new Promise((resolve) => setTimeout(resolve, 5));
  store.endSessions('root', Date.now());
  assert.equal(
    (await call('GET', '/users', { token: fresh })).statusCode,
    401,
    'end-sessions ends admin sessions too',
  );
  assert.equal((await call('POST', '/session', { body: 'x' })).statusCode, 400);
});
