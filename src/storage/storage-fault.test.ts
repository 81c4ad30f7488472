import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { diskFullError, isDiskFull, storageFaultOf } from './storage-fault.js';

test('full disks and quotas are disk-full, from node:fs and from SQLite, also as a cause', () => {
  assert.equal(storageFaultOf(diskFullError()), 'disk-full');
  assert.equal(storageFaultOf(Object.assign(new Error('quota'), { code: 'EDQUOT' })), 'disk-full');
  assert.equal(
    storageFaultOf(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })),
    'disk-full',
  );
  assert.ok(isDiskFull(new Error('wrapped', { cause: diskFullError() })));
});

test('a file that is not a database, or a corrupt page, is damaged; other errors are not storage faults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-fault-'));
  try {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    let thrown: unknown;
    try {
      new Database(path).pragma('user_version');
    } catch (error) {
      thrown = error;
    }
    assert.equal(storageFaultOf(thrown), 'damaged');
    assert.equal(
      storageFaultOf(Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT_INDEX' })),
      'damaged',
    );
    assert.equal(
      storageFaultOf(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' })),
      undefined,
    );
    assert.equal(storageFaultOf(new TypeError('bad argument')), undefined);
    assert.equal(storageFaultOf('ENOSPC'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
