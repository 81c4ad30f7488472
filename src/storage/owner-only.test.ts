import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeOwnerOnly } from './owner-only.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;

test('makeOwnerOnly restricts the data directory and the entries it owns, beneath them too, and nothing else', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-owner-only-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // As an older version left it: world-readable files in world-listable directories.
  mkdirSync(join(dir, 'keys'));
  mkdirSync(join(dir, 'blobs', 'ab'), { recursive: true });
  for (const file of [
    'chain.db',
    'chain.db-wal',
    'keys/keystore.json',
    'blobs/ab/abcd',
    'notes.txt',
  ])
    writeFileSync(join(dir, file), 'x', { mode: 0o644 });
  symlinkSync(join(dir, 'notes.txt'), join(dir, 'keys', 'link'));
  for (const path of ['', 'keys', 'blobs', 'blobs/ab']) chmodSync(join(dir, path), 0o755);
  for (const file of [
    'chain.db',
    'chain.db-wal',
    'keys/keystore.json',
    'blobs/ab/abcd',
    'notes.txt',
  ])
    chmodSync(join(dir, file), 0o644);

  const owns = (name: string) => name !== 'notes.txt';
  assert.equal(makeOwnerOnly(dir, { owns, trustedWhenOwnerOnly: ['blobs'] }), 8);
  for (const path of ['', 'keys', 'blobs', 'blobs/ab'])
    assert.equal(modeOf(join(dir, path)), 0o700, `${path || 'the data directory'} is 0700`);
  for (const file of ['chain.db', 'chain.db-wal', 'keys/keystore.json', 'blobs/ab/abcd'])
    assert.equal(modeOf(join(dir, file)), 0o600, `${file} is 0600`);
  assert.equal(
    modeOf(join(dir, 'notes.txt')),
    0o644,
    'a file the node does not own keeps its mode, even through a link',
  );
  assert.equal(
    makeOwnerOnly(dir, { owns, trustedWhenOwnerOnly: ['blobs'] }),
    0,
    'a second pass changes nothing',
  );

  // A trusted directory already owner-only is not walked; one that is not, is.
  chmodSync(join(dir, 'blobs', 'ab', 'abcd'), 0o644);
  assert.equal(makeOwnerOnly(dir, { owns, trustedWhenOwnerOnly: ['blobs'] }), 0);
  assert.equal(makeOwnerOnly(dir, { owns }), 1);
  assert.equal(modeOf(join(dir, 'blobs', 'ab', 'abcd')), 0o600);
});

test('a file removed while makeOwnerOnly runs (a -shm SQLite deletes as its last connection closes) is passed over', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-owner-only-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of ['pseudonyms.db', 'pseudonyms.db-shm'])
    writeFileSync(join(dir, file), 'x', { mode: 0o644 });
  const changed = makeOwnerOnly(dir, {
    // Asked about each entry after the directory was listed: the -shm goes just then.
    owns: (name) => {
      if (name.endsWith('-shm')) rmSync(join(dir, name));
      return true;
    },
  });
  assert.equal(modeOf(join(dir, 'pseudonyms.db')), 0o600);
  assert.ok(changed >= 1);
});
