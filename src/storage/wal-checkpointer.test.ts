import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { openDatabase } from './database.js';
import { BACKSTOP_CHECKPOINT_PAGES, WalCheckpointer } from './wal-checkpointer.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-checkpointer-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Commits `count` rows of 4 KiB one transaction each, then gives a checkpoint thread time to run. */
async function writeRows(path: string, checkpointed: boolean): Promise<number> {
  const db = openDatabase(path);
  db.exec('CREATE TABLE row (id INTEGER PRIMARY KEY, value BLOB NOT NULL)');
  const checkpointer = checkpointed ? new WalCheckpointer(db, 10) : undefined;
  if (!checkpointed) db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  const insert = db.prepare('INSERT INTO row (value) VALUES (?)');
  for (let i = 0; i < 2000; i++) insert.run(Buffer.alloc(4096, i));
  await sleep(300);
  const size = statSync(path).size;
  checkpointer?.close();
  await checkpointer?.closed;
  db.close();
  return size;
}

test('the log is copied back into the database by the checkpoint thread, not by the committing connection', async () => {
  const withThread = await writeRows(join(root, 'with.db'), true);
  const without = await writeRows(join(root, 'without.db'), false);
  assert.ok(without < 1024 * 1024, `without the thread the file stays small: ${without} bytes`);
  assert.ok(
    withThread > 8 * 1024 * 1024,
    `with it, the rows reached the file: ${withThread} bytes`,
  );
});
