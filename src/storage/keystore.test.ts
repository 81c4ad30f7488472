import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import { toHex } from '../crypto/index.js';
import { KEYSTORE_SCRYPT_DEFAULTS, Keystore, KeystoreError } from './keystore.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-keystore-'));
after(() => rmSync(root, { recursive: true, force: true }));
// Most tests use a cheap KDF; one test below uses the defaults.
const FAST = { scrypt: { N: 2 ** 10, r: 8, p: 1 } };
const SECRET = 'correct horse battery staple';
let fileCount = 0;

function freshPath(): string {
  return join(root, `keys-${fileCount++}`, 'keystore.json');
}

/** The error `call` throws, checked to be an instance of `type`. */
function thrown<T>(call: () => unknown, type: new (...args: never[]) => T): T {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${type.name}, nothing was thrown`);
}

interface KeystoreFile {
  version: number;
  kdf: { name: string; salt: string; N: number; r: number; p: number; keyLength: number };
  check: { nonce: string; ciphertext: string };
  entries: Record<string, { nonce: string; ciphertext: string; createdAt: number; kind: string }>;
}

function readJson(path: string): KeystoreFile {
  return JSON.parse(readFileSync(path, 'utf8')) as KeystoreFile;
}

function writeJson(path: string, value: KeystoreFile): void {
  writeFileSync(path, JSON.stringify(value));
}

function assertOpenRefused(path: string, secret: string | Uint8Array = SECRET): void {
  const error = thrown(() => Keystore.open(path, secret), KeystoreError);
  assert.equal(error.message, 'wrong secret or corrupt keystore');
}

/** A keystore with two entries, closed; returns its path and the secrets. */
function twoEntryKeystore(): { path: string; alice: Uint8Array; bob: Uint8Array } {
  const path = freshPath();
  const keystore = Keystore.create(path, SECRET, FAST);
  const alice = new Uint8Array(randomBytes(32));
  const bob = new Uint8Array(randomBytes(32));
  keystore.put('patient:alice', alice, 'ed25519-seed');
  keystore.put('patient:bob', bob, 'ed25519-seed');
  return { path, alice, bob };
}

test('entries round-trip across reopen, and names() is sorted', () => {
  const path = freshPath();
  const keystore = Keystore.create(path, SECRET, FAST);
  const seed = new Uint8Array(randomBytes(32));
  const x25519 = new Uint8Array(randomBytes(32));
  keystore.put('org:signing', seed, 'ed25519-seed');
  keystore.put('org:encryption', x25519, 'x25519');
  assert.deepEqual(keystore.get('org:signing'), seed);

  const reopened = Keystore.open(path, SECRET);
  assert.deepEqual(reopened.names(), ['org:encryption', 'org:signing']);
  assert.deepEqual(reopened.get('org:signing'), seed);
  assert.deepEqual(reopened.get('org:encryption'), x25519);
  assert.equal(reopened.info('org:encryption').kind, 'x25519');
  assert.equal(reopened.has('org:signing'), true);
  assert.equal(reopened.has('org:other'), false);

  assert.equal(reopened.remove('org:signing'), true);
  assert.equal(reopened.remove('org:signing'), false);
  assert.deepEqual(Keystore.open(path, SECRET).names(), ['org:encryption']);
  // A byte-array secret works as well as a string.
  const bytesPath = freshPath();
  const secretBytes = new Uint8Array(randomBytes(32));
  Keystore.create(bytesPath, secretBytes, FAST).put('k', seed, 'raw');
  assert.deepEqual(Keystore.open(bytesPath, secretBytes).get('k'), seed);
});

test('get returns a copy: changing it does not change the stored key', () => {
  const keystore = Keystore.create(freshPath(), SECRET, FAST);
  keystore.put('k', new Uint8Array([1, 2, 3]), 'raw');
  keystore.get('k').fill(0);
  assert.deepEqual(keystore.get('k'), new Uint8Array([1, 2, 3]));
});

test('refuses to overwrite an entry or an existing keystore, and reports absent entries', () => {
  const path = freshPath();
  const keystore = Keystore.create(path, SECRET, FAST);
  keystore.put('k', new Uint8Array([1]), 'raw');
  thrown(() => keystore.put('k', new Uint8Array([2]), 'raw'), KeystoreError);
  assert.deepEqual(keystore.get('k'), new Uint8Array([1]));
  thrown(() => keystore.get('absent'), KeystoreError);
  thrown(() => Keystore.create(path, 'another secret', FAST), KeystoreError);
  assert.deepEqual(Keystore.open(path, SECRET).get('k'), new Uint8Array([1]));
  thrown(() => Keystore.open(freshPath(), SECRET), KeystoreError);
});

test('bad names, kinds, secrets and scrypt parameters throw TypeError or RangeError', () => {
  const keystore = Keystore.create(freshPath(), SECRET, FAST);
  for (const name of [
    '',
    'Upper',
    '-leading',
    '../escape',
    'a/b',
    'a b',
    'x'.repeat(129),
    '__proto__',
  ]) {
    thrown(() => keystore.put(name, new Uint8Array([1]), 'raw'), TypeError);
    thrown(() => keystore.get(name), TypeError);
    thrown(() => keystore.has(name), TypeError);
  }
  keystore.put('x'.repeat(128), new Uint8Array([1]), 'raw');
  thrown(() => keystore.put('k', new Uint8Array([1]), 'Bad\nkind'), TypeError);
  thrown(() => keystore.put('k', [1] as unknown as Uint8Array, 'raw'), TypeError);
  thrown(() => keystore.put('k', new Uint8Array(0), 'raw'), RangeError);
  thrown(() => Keystore.create(freshPath(), '', FAST), RangeError);
  for (const scrypt of [
    { N: 1000, r: 8, p: 1 },
    { N: 2 ** 9, r: 8, p: 1 },
    { N: 2 ** 10, r: 0, p: 1 },
    { N: 2 ** 20, r: 32, p: 1 },
  ]) {
    thrown(() => Keystore.create(freshPath(), SECRET, { scrypt }), RangeError);
  }
});

test('a wrong secret is refused, even for an empty keystore', () => {
  const { path } = twoEntryKeystore();
  assertOpenRefused(path, 'Correct horse battery staple');
  const emptyPath = freshPath();
  Keystore.create(emptyPath, SECRET, FAST);
  assertOpenRefused(emptyPath, 'wrong');
  assert.deepEqual(Keystore.open(emptyPath, SECRET).names(), []);
});

test('a flipped byte anywhere that is sealed or derived from is refused', () => {
  const { path } = twoEntryKeystore();
  const original = readJson(path);
  const flip = (hex: string, at: number): string => {
    const bytes = Buffer.from(hex, 'hex');
    bytes[at]! ^= 0x01;
    return bytes.toString('hex');
  };
  const alice = original.entries['patient:alice']!;
  const tamperings: ((file: KeystoreFile) => void)[] = [
    (file) => (file.entries['patient:alice']!.ciphertext = flip(alice.ciphertext, 0)),
    (file) =>
      (file.entries['patient:alice']!.ciphertext = flip(
        alice.ciphertext,
        alice.ciphertext.length / 2 - 1,
      )),
    (file) => (file.entries['patient:alice']!.nonce = flip(alice.nonce, 5)),
    (file) => (file.entries['patient:alice']!.kind = 'x25519'),
    (file) => (file.entries['patient:alice']!.createdAt += 1),
    (file) => (file.check.ciphertext = flip(file.check.ciphertext, 0)),
    (file) => (file.kdf.salt = flip(file.kdf.salt, 0)),
    (file) => (file.kdf.N = 2 ** 11),
    (file) => (file.entries['patient:alice']!.ciphertext = 'zz'),
    (file) => (file.kdf.N = 2 ** 40),
  ];
  for (const tamper of tamperings) {
    const file = structuredClone(original);
    tamper(file);
    writeJson(path, file);
    assertOpenRefused(path);
  }
  writeFileSync(path, '{"version":1,');
  assertOpenRefused(path);
  writeJson(path, original);
  assert.equal(Keystore.open(path, SECRET).names().length, 2);
});

test('an entry renamed, or two entries swapped, in the file is refused', () => {
  const { path } = twoEntryKeystore();
  const original = readJson(path);
  const alice = original.entries['patient:alice']!;
  const bob = original.entries['patient:bob']!;

  writeJson(path, { ...original, entries: { 'patient:mallory': alice, 'patient:bob': bob } });
  assertOpenRefused(path);
  writeJson(path, { ...original, entries: { 'patient:alice': bob, 'patient:bob': alice } });
  assertOpenRefused(path);
  // An entry copied under a second name is refused too.
  writeJson(path, { ...original, entries: { ...original.entries, 'patient:carol': alice } });
  assertOpenRefused(path);
  // Removing an entry from the file cannot be detected without a rollback counter; the rest still opens.
  writeJson(path, { ...original, entries: { 'patient:bob': bob } });
  assert.deepEqual(Keystore.open(path, SECRET).names(), ['patient:bob']);
});

test('the file records its KDF parameters, has mode 0600 and leaves no temporary files', () => {
  const { path } = twoEntryKeystore();
  const file = readJson(path);
  assert.equal(file.version, 1);
  assert.deepEqual(
    { ...file.kdf, salt: undefined },
    { name: 'scrypt', salt: undefined, N: 2 ** 10, r: 8, p: 1, keyLength: 32 },
  );
  assert.match(file.kdf.salt, /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(file.entries), ['patient:alice', 'patient:bob']);
  for (const entry of Object.values(file.entries)) {
    assert.match(entry.nonce, /^[0-9a-f]{24}$/);
    assert.equal(entry.ciphertext.length, 2 * (32 + 16));
    assert.equal(entry.kind, 'ed25519-seed');
    assert.ok(Number.isSafeInteger(entry.createdAt));
  }
  assert.notEqual(file.entries['patient:alice']!.nonce, file.entries['patient:bob']!.nonce);
  if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(join(path, '..')), ['keystore.json']);
});

test('parameters are read back from the file, so they can differ from the defaults', () => {
  const path = freshPath();
  Keystore.create(path, SECRET, { scrypt: { N: 2 ** 11, r: 4, p: 2 } }).put(
    'k',
    new Uint8Array([7]),
    'raw',
  );
  assert.deepEqual(Keystore.open(path, SECRET).get('k'), new Uint8Array([7]));
  assert.equal(readJson(path).kdf.p, 2);
});

test('default scrypt parameters (N = 2^15, r = 8, p = 1) round-trip', () => {
  const path = freshPath();
  const started = performance.now();
  const keystore = Keystore.create(path, SECRET);
  const createMs = performance.now() - started;
  keystore.put('org:signing', new Uint8Array([9, 9]), 'ed25519-seed');
  assert.deepEqual(Keystore.open(path, SECRET).get('org:signing'), new Uint8Array([9, 9]));
  const { kdf } = readJson(path);
  assert.deepEqual(
    [kdf.N, kdf.r, kdf.p],
    [KEYSTORE_SCRYPT_DEFAULTS.N, KEYSTORE_SCRYPT_DEFAULTS.r, KEYSTORE_SCRYPT_DEFAULTS.p],
  );
  assert.deepEqual([kdf.N, kdf.r, kdf.p], [2 ** 15, 8, 1]);
  assert.ok(createMs < 10_000, `create took ${createMs} ms`);
});

test('no secret bytes in errors, toString, util.inspect or JSON.stringify', () => {
  const path = freshPath();
  const keystore = Keystore.create(path, SECRET, FAST);
  const key = new Uint8Array(randomBytes(32));
  keystore.put('patient:alice', key, 'ed25519-seed');
  const forbidden = [
    toHex(key),
    Buffer.from(key).toString('base64'),
    [...key].join(','),
    [...key].join(', '),
    SECRET,
  ];

  const texts: string[] = [
    JSON.stringify(keystore),
    JSON.stringify({ keystore }),
    String(keystore),
    `${keystore}`,
    inspect(keystore),
    inspect(keystore, { showHidden: true, depth: Infinity }),
    inspect({ nested: keystore }, { showHidden: true, depth: Infinity }),
  ];
  assert.deepEqual(JSON.parse(JSON.stringify(keystore)), { names: ['patient:alice'] });
  assert.match(inspect(keystore), /patient:alice/);

  const errors: unknown[] = [];
  const collect = (call: () => unknown): void => {
    try {
      call();
      assert.fail('expected a throw');
    } catch (error) {
      errors.push(error);
    }
  };
  collect(() => keystore.put('patient:alice', key, 'ed25519-seed'));
  collect(() => keystore.put('Bad Name', key, 'ed25519-seed'));
  collect(() => keystore.put('patient:carol', key, 'Bad Kind'));
  collect(() => keystore.get('patient:bob'));
  collect(() => Keystore.open(path, 'wrong secret'));
  collect(() => Keystore.create(path, SECRET, FAST));
  const file = readJson(path);
  file.entries['patient:alice']!.ciphertext = file.entries['patient:alice']!.ciphertext.replace(
    /^./,
    (c) => (c === '0' ? '1' : '0'),
  );
  writeJson(path, file);
  collect(() => Keystore.open(path, SECRET));
  for (const error of errors) {
    assert.ok(error instanceof Error);
    texts.push(
      String(error),
      error.message,
      error.stack ?? '',
      inspect(error, { showHidden: true, depth: Infinity }),
    );
  }

  for (const text of texts) {
    for (const secret of forbidden)
      assert.ok(!text.includes(secret), `leaked in: ${text.slice(0, 200)}`);
  }
});
