import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { generateSync } from 'otplib';
import {
  ACTIVATION_LIFETIME_MS,
  AccountInputError,
  createAccount,
  reissueActivation,
  resetPassword,
  resetSecondFactor,
} from './account-admin.js';
import { AccountDirectory } from './account-directory.js';
import { AccountConflictError, AccountStore } from './account-store.js';
import { createDemoUsers, DEMO_PASSWORD } from './demo-users.js';
import { LOCKOUT_FIRST_MS, LOCKOUT_FREE_FAILURES } from './lockout.js';
import type { PatientNames } from '../../node/index.js';
import type { SignIn } from './users.js';
import { OAuthError } from './errors.js';

const PASSWORD = 'correct horse battery';

/** A fresh accounts file and a directory over it on a clock the test moves. */
function accounts(t: TestContext, options: { fallback?: boolean; patients?: PatientNames } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-accounts-'));
  const store = new AccountStore(join(dir, 'users.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = { now: 1_800_000_000_000 };
  const make = async () =>
    new AccountDirectory(store, {
      org: 'practice-a',
      clock: () => clock.now,
      ...(options.fallback === true ? { fallback: await createDemoUsers('practice-a') } : {}),
      ...(options.patients === undefined ? {} : { patients: options.patients }),
    });
  return { dir, store, clock, make };
}

const codeAt = (secret: string, nowMs: number) =>
  generateSync({ secret, epoch: Math.floor(nowMs / 1000) });
const userOf = (signIn: SignIn) => ('user' in signIn ? signIn.user : undefined);

test('a practitioner signs in with password and TOTP code: never with the password alone, never with a code used before', async (t) => {
  const { store, clock, make } = accounts(t);
  const secrets = await createAccount(
    store,
    { username: 'dr-a', role: 'practitioner', subjectId: 'dr-a', password: PASSWORD },
    clock.now,
  );
  assert.equal(secrets.password, undefined, 'a given password is not echoed');
  const directory = await make();
  assert.deepEqual(await directory.signIn({ username: 'dr-a', password: PASSWORD }), {
    refused: 'credentials',
  });
  const code = codeAt(secrets.totpSecret!, clock.now);
  assert.deepEqual(
    await directory.signIn({ username: 'dr-a', password: 'wrong password!', code }),
    { refused: 'credentials' },
  );
  const user = userOf(await directory.signIn({ username: 'dr-a', password: PASSWORD, code }));
  assert.deepEqual(user?.principal, { kind: 'practitioner', id: 'dr-a', org: 'practice-a' });
  assert.equal(user?.fhirUser, 'Practitioner/dr-a');
  assert.ok(user?.scopes.some((scope) => scope.kind === 'resource' && scope.context === 'user'));
  assert.deepEqual(
    await directory.signIn({ username: 'dr-a', password: PASSWORD, code }),
    { refused: 'credentials' },
    'the same code twice',
  );
  clock.now += 30_000;
  assert.ok(
    userOf(
      await directory.signIn({
        username: 'dr-a',
        password: PASSWORD,
        code: codeAt(secrets.totpSecret!, clock.now),
      }),
    ),
  );
});

test('a patient without a second factor signs in with the password; a generated password is returned once and works', async (t) => {
  const { store, clock, make } = accounts(t);
  const secrets = await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-7' },
    clock.now,
  );
  assert.equal(secrets.totpSecret, undefined);
  assert.match(secrets.password!, /^[A-Za-z0-9_-]{20}$/);
  const user = userOf(
    await (await make()).signIn({ username: 'pat', password: secrets.password! }),
  );
  assert.deepEqual(user?.principal, { kind: 'patient', id: 'patient-7', org: 'practice-a' });
  assert.equal(user?.fhirUser, 'Patient/patient-7');
});

test('repeated failures lock the account, even against the right password; the lock lifts with time and backs off', async (t) => {
  const { store, clock, make } = accounts(t);
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-7', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  for (let i = 0; i < LOCKOUT_FREE_FAILURES; i++)
    assert.deepEqual(await directory.signIn({ username: 'pat', password: `wrong password ${i}` }), {
      refused: 'credentials',
    });
  assert.deepEqual(await directory.signIn({ username: 'pat', password: PASSWORD }), {
    refused: 'locked',
  });
  clock.now += LOCKOUT_FIRST_MS + 1;
  assert.deepEqual(await directory.signIn({ username: 'pat', password: 'still wrong!!' }), {
    refused: 'credentials',
  });
  clock.now += LOCKOUT_FIRST_MS + 1;
  assert.deepEqual(
    await directory.signIn({ username: 'pat', password: PASSWORD }),
    { refused: 'locked' },
    'the second lock is twice as long',
  );
  clock.now += LOCKOUT_FIRST_MS;
  assert.ok(userOf(await directory.signIn({ username: 'pat', password: PASSWORD })));
  assert.equal(store.get('pat')?.failures, 0, 'a success clears the count');
});

test('a disabled account cannot sign in, and its tokens stop working; ending sessions voids tokens issued before', async (t) => {
  const { store, clock, make } = accounts(t);
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-7', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  const principal = { kind: 'patient', id: 'patient-7', org: 'practice-a' } as const;
  assert.equal(directory.sessionActive(principal, clock.now - 1000), true);
  store.endSessions('pat', clock.now);
  assert.equal(
    directory.sessionActive(principal, clock.now - 1000),
    false,
    'issued before the end',
  );
  assert.equal(directory.sessionActive(principal, clock.now), true, 'issued after');
  store.setDisabled('pat', true, clock.now);
  assert.deepEqual(await directory.signIn({ username: 'pat', password: PASSWORD }), {
    refused: 'credentials',
  });
  assert.equal(directory.sessionActive(principal, clock.now + 5000), false);
  store.setDisabled('pat', false, clock.now);
  assert.ok(userOf(await directory.signIn({ username: 'pat', password: PASSWORD })));
  assert.equal(
    directory.sessionActive({ ...principal, org: 'hospital-b' }, 0),
    true,
    "another organisation's principal is not this directory's",
  );
  assert.equal(directory.sessionActive({ kind: 'system', id: 'lab', org: 'practice-a' }, 0), true);
});

test('names without an account go to the fallback (the demo users); without one they are refused like a wrong password', async (t) => {
  const withDemo = accounts(t, { fallback: true });
  assert.equal(
    userOf(await (await withDemo.make()).signIn({ username: 'dr-ada', password: DEMO_PASSWORD }))
      ?.principal.id,
    'dr-ada',
  );
  const without = accounts(t);
  assert.deepEqual(
    await (await without.make()).signIn({ username: 'dr-ada', password: DEMO_PASSWORD }),
    { refused: 'credentials' },
  );
});

test('a principal with no account holds a session only while the demo users are served: ending the demo ends theirs', async (t) => {
  const demoUser = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' } as const;
  const withDemo = accounts(t, { fallback: true });
  assert.equal((await withDemo.make()).sessionActive(demoUser, withDemo.clock.now), true);
  const without = accounts(t);
  assert.equal(
    (await without.make()).sessionActive(demoUser, without.clock.now),
    false,
    'a node started without the demo honours no demo token, nor its refresh',
  );
});

test("a patient account naming another patient's pseudonym as its FHIR id does not act as that patient, and disabling it ends its sessions", async (t) => {
  const pseudonym = '040dca6b0283c933e2144a7656e1497d';
  const patients: PatientNames = {
    patientIdOf: (fhirId) => (fhirId === 'patient-0001' ? pseudonym : undefined),
    fhirPatientIdOf: (patientId) => (patientId === pseudonym ? 'patient-0001' : undefined),
  };
  const { store, clock, make } = accounts(t, { patients });
  await createAccount(
    store,
    { username: 'evil', role: 'patient', subjectId: pseudonym, password: PASSWORD },
    clock.now,
  );
  await createAccount(
    store,
    { username: 'real', role: 'patient', subjectId: 'patient-0001', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  const evil = userOf(await directory.signIn({ username: 'evil', password: PASSWORD }))!;
  assert.notEqual(evil.principal.id, pseudonym, 'not the patient the pseudonym names');
  assert.equal(evil.patient, pseudonym, 'its FHIR id, as its account has it');
  const real = userOf(await directory.signIn({ username: 'real', password: PASSWORD }))!;
  assert.equal(real.principal.id, pseudonym, "the real patient's account does act as them");
  assert.equal(directory.sessionActive(evil.principal, clock.now), true);
  // A session begun before this rule carries the victim's pseudonym: a refresh acts as the account says now.
  const before = { kind: 'patient', id: pseudonym, org: 'practice-a' } as const;
  assert.deepEqual(directory.actingAs(before, evil.patient), evil.principal);
  assert.deepEqual(directory.actingAs(before, real.patient), before);
  store.setDisabled('evil', true, clock.now);
  assert.equal(directory.sessionActive(evil.principal, clock.now + 1000), false);
  assert.equal(directory.sessionActive(real.principal, clock.now + 1000), true);
});

test('reset-password and reset-mfa issue new secrets, clear the lock and end sessions; the old ones stop working', async (t) => {
  const { store, clock, make } = accounts(t);
  const first = await createAccount(
    store,
    { username: 'dr-a', role: 'practitioner', subjectId: 'dr-a', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  const reset = await resetPassword(store, 'dr-a', clock.now + 1);
  const mfa = resetSecondFactor(store, 'dr-a', clock.now + 1);
  assert.notEqual(mfa?.totpSecret, first.totpSecret);
  assert.deepEqual(
    await directory.signIn({
      username: 'dr-a',
      password: PASSWORD,
      code: codeAt(first.totpSecret!, clock.now),
    }),
    { refused: 'credentials' },
  );
  assert.ok(
    userOf(
      await directory.signIn({
        username: 'dr-a',
        password: reset!.password!,
        code: codeAt(mfa!.totpSecret!, clock.now),
      }),
    ),
  );
  assert.equal(
    directory.sessionActive({ kind: 'practitioner', id: 'dr-a', org: 'practice-a' }, clock.now),
    false,
  );
  assert.equal(await resetPassword(store, 'nobody', clock.now), undefined);
  assert.equal(resetSecondFactor(store, 'nobody', clock.now), undefined);
});

test('bad account requests are refused with a reason; a taken name or subject conflicts', async (t) => {
  const { store, clock } = accounts(t);
  await createAccount(
    store,
    { username: 'dr-a', role: 'practitioner', subjectId: 'dr-a' },
    clock.now,
  );
  await assert.rejects(
    createAccount(store, { username: 'dr-a', role: 'patient', subjectId: 'p-1' }, clock.now),
    AccountConflictError,
  );
  await assert.rejects(
    createAccount(store, { username: 'dr-a2', role: 'practitioner', subjectId: 'dr-a' }, clock.now),
    AccountConflictError,
  );
  await assert.rejects(
    createAccount(
      store,
      { username: 'x', role: 'patient', subjectId: 'p-1', password: 'short' },
      clock.now,
    ),
    /12 to 1024 characters/,
  );
  await assert.rejects(
    createAccount(store, { username: '../x', role: 'patient', subjectId: 'p-1' }, clock.now),
    AccountInputError,
  );
  await assert.rejects(
    createAccount(store, { username: 'x', role: 'patient', subjectId: 'p 1' }, clock.now),
    /FHIR id/,
  );
  assert.deepEqual(
    store.list().map((account) => account.username),
    ['dr-a'],
  );
});

test('a patient activates with the one-time code and a password they choose; the code works once, before it lapses, in any case', async (t) => {
  const { store, clock, make } = accounts(t);
  const { activationCode, password } = await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-7', activation: true },
    clock.now,
  );
  assert.equal(password, undefined);
  assert.match(
    activationCode!,
    /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/,
  );
  const directory = await make();
  assert.deepEqual(
    await directory.signIn({ username: 'pat', password: activationCode! }),
    { refused: 'credentials' },
    'the code is no password',
  );
  assert.equal(
    await directory.activate({ username: 'pat', code: activationCode!, password: 'short' }),
    'weak-password',
  );
  assert.equal(
    await directory.activate({ username: 'pat', code: 'AAAA-BBBB-CCCC', password: PASSWORD }),
    'refused',
  );
  assert.equal(
    await directory.activate({ username: 'nobody', code: activationCode!, password: PASSWORD }),
    'refused',
  );
  assert.equal(store.get('pat')?.failures, 1, 'a wrong code counts toward the lock');
  assert.equal(
    await directory.activate({
      username: 'pat',
      code: activationCode!.toLowerCase().replaceAll('-', ''),
      password: PASSWORD,
    }),
    'activated',
  );
  assert.equal(
    await directory.activate({
      username: 'pat',
      code: activationCode!,
      password: 'another long password',
    }),
    'refused',
    'once only',
  );
  assert.ok(userOf(await directory.signIn({ username: 'pat', password: PASSWORD })));

  const reissued = reissueActivation(store, 'pat', clock.now);
  assert.deepEqual(
    await directory.signIn({ username: 'pat', password: PASSWORD }),
    { refused: 'credentials' },
    'a new code voids the password',
  );
  clock.now += ACTIVATION_LIFETIME_MS;
  assert.equal(
    await directory.activate({
      username: 'pat',
      code: reissued!.activationCode!,
      password: PASSWORD,
    }),
    'refused',
    'lapsed',
  );
  await assert.rejects(
    createAccount(
      store,
      { username: 'x', role: 'patient', subjectId: 'p-9', activation: true, password: PASSWORD },
      clock.now,
    ),
    /not both/,
  );
});

test('concurrent attempts on one account cannot outrun the lock or use one TOTP code twice', async (t) => {
  const { store, clock, make } = accounts(t);
  const { totpSecret } = await createAccount(
    store,
    { username: 'dr-a', role: 'practitioner', subjectId: 'dr-a', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  const code = codeAt(totpSecret!, clock.now);
  const twice = await Promise.all([
    directory.signIn({ username: 'dr-a', password: PASSWORD, code }),
    directory.signIn({ username: 'dr-a', password: PASSWORD, code }),
  ]);
  assert.equal(twice.filter((signIn) => 'user' in signIn).length, 1, 'one code, one sign-in');
  assert.equal(store.get('dr-a')?.failures, 1, 'the replay counts as a failure');
  const guesses = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      directory.signIn({ username: 'dr-a', password: `guess number ${i}`, code }),
    ),
  );
  const checked = LOCKOUT_FREE_FAILURES - 1;
  assert.equal(
    guesses.filter((signIn) => 'refused' in signIn && signIn.refused === 'locked').length,
    12 - checked,
    'guesses past the lock are not checked',
  );
  assert.equal(store.get('dr-a')?.failures, LOCKOUT_FREE_FAILURES);
});

test("guessing activation codes at an active account's name does not lock its owner out", async (t) => {
  const { store, clock, make } = accounts(t);
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-7', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  for (let i = 0; i < 2 * LOCKOUT_FREE_FAILURES; i++)
    assert.equal(
      await directory.activate({ username: 'pat', code: 'AAAA-BBBB-CCCC', password: PASSWORD }),
      'refused',
    );
  assert.ok(userOf(await directory.signIn({ username: 'pat', password: PASSWORD })));
});

test("while FHIR ids are relearnt, whether a patient's session stands cannot be told until their id is back: 503, never a false ended", async (t) => {
  const pseudonym = '5be0c7a1d2e3f4a5b6c7d8e9f0a1b2c3';
  let relearnt = false;
  const patients: PatientNames = {
    patientIdOf: (fhirId) => (relearnt && fhirId === 'patient-0001' ? pseudonym : undefined),
    fhirPatientIdOf: (patientId) =>
      relearnt && patientId === pseudonym ? 'patient-0001' : undefined,
    get complete() {
      return relearnt;
    },
  };
  const { store, clock, make } = accounts(t, { patients });
  await createAccount(
    store,
    { username: 'pat', role: 'patient', subjectId: 'patient-0001', password: PASSWORD },
    clock.now,
  );
  const directory = await make();
  const principal = { kind: 'patient', id: pseudonym, org: 'practice-a' } as const;
  assert.throws(
    () => directory.sessionActive(principal, clock.now),
    (error: unknown) =>
      error instanceof OAuthError && error.statusCode === 503 && error.retryAfterSeconds === 5,
  );
  relearnt = true;
  assert.equal(directory.sessionActive(principal, clock.now), true);
  store.setDisabled('pat', true, clock.now);
  assert.equal(directory.sessionActive(principal, clock.now + 1000), false);
});
