/**
 * A node refuses to start on a chain.db that fails SQLite's quick_check, and says which file and
 * which check, instead of committing new blocks onto a damaged b-tree.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ChainDatabaseDamagedError } from '../storage/index.js';
import { ChartChainNode } from './node.js';
import { openTempNode, tempNodeDir } from './testonly/temp-node.js';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

/** Overwrites the b-tree page header of `tx_by_height`, an index every block writes to. */
function damageIndexPage(path: string): void {
  const db = new Database(path, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const rootPage = db
    .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'tx_by_height'")
    .pluck()
    .get() as number;
  db.close();
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(16, 0xff), 0, 16, (rootPage - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

test('a chain.db failing quick_check halts the start with the file and the check named, and nothing commits', async (t) => {
  const dir = tempNodeDir(t, 'check');
  const chain = join(dir, 'chain.db');
  damageIndexPage(chain);

  await assert.rejects(ChartChainNode.open(dir, { verifyPoolSize: 1 }), (error: unknown) => {
    assert.ok(error instanceof ChainDatabaseDamagedError);
    assert.equal(error.path, chain);
    assert.match(error.message, /chain\.db fails PRAGMA quick_check/);
    return true;
  });

  const cli = spawnSync(
    process.execPath,
    ['--import', 'tsx', CLI, 'start', '--data', dir, '--port', '0', '--no-demo'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.notEqual(cli.status, 0);
  assert.equal(cli.signal, null, 'it exits by itself rather than running on');
  assert.match(cli.stderr, /chain\.db fails PRAGMA quick_check/);
});

test('a node refuses to open on a newest block header changed on disk, naming the block', async (t) => {
  const { dir, node } = await openTempNode(t, 'head');
  await node.submitAndWait(
    node.signAsOrg('membership.register-patient', {
      patientId: 'patient-0001',
      signingKey: '11'.repeat(32),
      encryptionKey: '22'.repeat(32),
      custody: 'self',
    }),
  );
  await node.close();
  const db = new Database(join(dir, 'chain.db'));
  const row = db.prepare('SELECT height, header FROM block ORDER BY height DESC LIMIT 1').get() as {
    height: number;
    header: string;
  };
  assert.ok(row.height > 0);
  const at = row.header.indexOf('"appHash":"') + '"appHash":"'.length;
  db.prepare('UPDATE block SET header = ? WHERE height = ?').run(
    row.header.slice(0, at) + (row.header[at] === '0' ? '1' : '0') + row.header.slice(at + 1),
    row.height,
  );
  db.close();
  await assert.rejects(
    ChartChainNode.open(dir, { verifyPoolSize: 1 }),
    /block [1-9]\d* \(the newest\) header does not match its stored hash/,
  );
});
