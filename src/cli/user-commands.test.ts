import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSync } from 'otplib';
import { ChartChainNode } from '../node/index.js';
import { login } from './login.js';
import { startNode } from './testonly/start-node.js';
import { chartchain } from './testonly/run-cli.js';

const field = (printed: string, name: string) =>
  new RegExp(`^${name}: (\\S+)$`, 'm').exec(printed)?.[1];

test('users add, then sign-in needs the password and the TOTP code; a disable ends the session of a running node at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-users-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const added = await chartchain(
    'users',
    'add',
    'dr-b',
    '--role',
    'practitioner',
    '--id',
    'dr-b',
    '--data',
    dir,
  );
  const password = field(added, 'password');
  const secret = field(added, 'authenticator secret');
  assert.ok(password !== undefined && secret !== undefined, added);
  assert.match(added, /^authenticator URI: otpauth:\/\/totp\/ChartChain:dr-b%40practice-a\?/m);
  assert.equal(statSync(join(dir, 'users.db')).mode & 0o077, 0, 'the accounts file is owner-only');

  const started = await startNode(t, dir);
  await assert.rejects(
    login(started.origin, 'dr-b', password, 'user/*.cruds'),
    /login refused \(HTTP 401\)/,
    'no code',
  );
  await assert.rejects(
    login(started.origin, 'dr-b', password, 'user/*.cruds', '000000'),
    /login refused \(HTTP 401\)/,
    'a wrong code',
  );
  const { access_token: token } = await login(
    started.origin,
    'dr-b',
    password,
    'user/*.cruds',
    generateSync({ secret }),
  );
  const search = () =>
    fetch(`${started.origin}/fhir/Patient?_count=1`, {
      headers: { authorization: `Bearer ${token}` },
    });
  assert.equal((await search()).status, 200);

  assert.match(await chartchain('users', 'disable', 'dr-b', '--data', dir), /dr-b: disabled/);
  const refused = await search();
  assert.equal(refused.status, 401);
  assert.match(JSON.stringify(await refused.json()), /session has ended/);
  assert.match(
    await chartchain('users', 'list', '--data', dir),
    /^dr-b\tpractitioner\tdr-b\tdisabled\tTOTP$/m,
  );
});

test('users commands name what is wrong: no node, an unknown role, an unknown account', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'chartchain-users-empty-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  await assert.rejects(
    chartchain('users', 'list', '--data', empty),
    /holds no node: run chartchain init first/,
  );
  ChartChainNode.init(empty, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  await assert.rejects(
    chartchain('users', 'add', 'x', '--role', 'nurse', '--id', 'x', '--data', empty),
    /--role must be one of practitioner, patient, auditor, admin/,
  );
  await assert.rejects(
    chartchain('users', 'disable', 'nobody', '--data', empty),
    /no account named nobody/,
  );
  assert.equal(await chartchain('users', 'list', '--data', empty), '');
});

test('a patient account made with --activation is activated at /auth/activate with the code, then signs in with the chosen password', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-activate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const added = await chartchain(
    'users',
    'add',
    'pat',
    '--role',
    'patient',
    '--id',
    'patient-0001',
    '--activation',
    '--data',
    dir,
  );
  const code = field(added, 'activation code');
  assert.ok(code !== undefined && field(added, 'password') === undefined, added);
  assert.match(
    await chartchain('users', 'list', '--data', dir),
    /^pat\tpatient\tpatient-0001\tawaiting activation\tno second factor$/m,
  );

  const started = await startNode(t, dir);
  const form = (fields: Record<string, string>) =>
    fetch(`${started.origin}/auth/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  const page = await fetch(`${started.origin}/auth/activate`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /name="code"/);
  const chosen = 'my own long password';
  const mismatch = await form({
    username: 'pat',
    code,
    password: chosen,
    confirm: 'something else!!',
  });
  assert.equal(mismatch.status, 400);
  assert.match(await mismatch.text(), /The two passwords differ/);
  const wrong = await form({
    username: 'pat',
    code: 'AAAA-AAAA-AAAA',
    password: chosen,
    confirm: chosen,
  });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /wrong, used or expired/);
  const activated = await form({ username: 'pat', code, password: chosen, confirm: chosen });
  assert.equal(activated.status, 200);
  assert.match(await activated.text(), /Your account is active/);
  const { access_token: token } = await login(
    started.origin,
    'pat',
    chosen,
    'patient/*.rs launch/patient',
  );
  const own = await fetch(`${started.origin}/fhir/Patient/patient-0001`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(
    own.status,
    404,
    'the token is accepted: the patient is signed in, and has no record here yet',
  );
});
