import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { openDatabase } from './database.js';
import { SqliteWriter } from './sqlite-writer.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-writer-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A database with one table, and its writer; both closed when test `t` ends, pass or fail. */
function fresh(t: TestContext, name: string, options: { secureDelete?: boolean } = {}) {
  const path = join(root, name);
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL UNIQUE, bytes BLOB)',
  );
  const writer = new SqliteWriter(path, options);
  t.after(async () => {
    await writer.close();
    db.close();
  });
  return { db, writer };
}

test('batches commit in the order sent, and the main connection reads each once it resolves', async (t) => {
  const { db, writer } = fresh(t, 'order.db');
  const insert = 'INSERT INTO item (label, bytes) VALUES (?, ?)';
  const first = writer.write([
    [
      insert,
      [
        ['a', new Uint8Array([1, 2])],
        ['b', null],
      ],
    ],
  ]);
  const second = writer.write([[insert, [['c', null]]]]);
  assert.deepEqual(await first, [[1, 2]], 'the rowid of each inserted row');
  assert.deepEqual(await second, [[3]]);
  const rows = db.prepare('SELECT label, bytes FROM item ORDER BY id').all() as {
    label: string;
    bytes: Buffer | null;
  }[];
  assert.deepEqual(
    rows.map((row) => row.label),
    ['a', 'b', 'c'],
  );
  assert.deepEqual([...rows[0]!.bytes!], [1, 2], 'a Uint8Array is stored as a blob');
});

test("a failing batch rolls back whole and rejects with SQLite's code (how a full disk is recognised); later batches still commit", async (t) => {
  const { db, writer } = fresh(t, 'rollback.db');
  const insert = 'INSERT INTO item (label) VALUES (?)';
  await writer.write([[insert, [['kept']]]]);
  await assert.rejects(
    writer.write([[insert, [['lost'], ['kept']]]]),
    (error: Error & { code?: string }) => error.code === 'SQLITE_CONSTRAINT_UNIQUE',
  );
  await writer.write([[insert, [['after']]]]);
  assert.deepEqual(
    db.prepare('SELECT label FROM item ORDER BY id').pluck().all(),
    ['kept', 'after'],
    'nothing of the failed batch',
  );
});

test('after close() nothing more is written', async (t) => {
  const { db, writer } = fresh(t, 'closed.db');
  await writer.close();
  await assert.rejects(
    writer.write([['INSERT INTO item (label) VALUES (?)', [['late']]]]),
    /stopped/,
  );
  assert.equal(db.prepare('SELECT count(*) FROM item').pluck().get(), 0);
});

test('a batch written in parts is one transaction, run once its last part is sent; a batch sent meanwhile runs first', async (t) => {
  const { db, writer } = fresh(t, 'parts.db');
  const insert = 'INSERT INTO item (label) VALUES (?)';
  let taken = 0;
  function* parts() {
    for (const label of ['p1', 'p2', 'p3']) {
      taken += 1;
      yield [[insert, [[label]]] as const];
    }
  }
  const parted = writer.writeInParts(parts());
  assert.equal(taken, 1, 'one part per event-loop turn');
  const between = writer.write([[insert, [['between']]]]);
  await Promise.all([parted, between]);
  assert.deepEqual(db.prepare('SELECT label FROM item ORDER BY id').pluck().all(), [
    'between',
    'p1',
    'p2',
    'p3',
  ]);

  const failing = writer.writeInParts(
    (function* () {
      yield [[insert, [['p4']]] as const];
      yield [[insert, [['p1']]] as const];
    })(),
  );
  await assert.rejects(failing, (error: Error & { code?: string }) => {
    return error.code === 'SQLITE_CONSTRAINT_UNIQUE';
  });
  assert.equal(
    db.prepare("SELECT count(*) FROM item WHERE label = 'p4'").pluck().get(),
    0,
    'no part of a failed batch is written',
  );
  await writer.close();
  await assert.rejects(writer.writeInParts([[[insert, [['late']]]]]), /stopped/);
});

test('emptyLog empties the log after the batches before it, and what they overwrote leaves the files', async (t) => {
  const { db, writer } = fresh(t, 'erase.db', { secureDelete: true });
  await writer.write([
    ['INSERT INTO item (label) VALUES (?)', [['jane-smith-1961-hiv'], ['kept-jones-1958']]],
  ]);
  await writer.write([
    ['UPDATE item SET label = ? WHERE label = ?', [['~digest', 'jane-smith-1961-hiv']]],
  ]);
  const path = join(root, 'erase.db');
  assert.ok(readFileSync(`${path}-wal`).includes('jane-smith-1961-hiv'), 'the log holds it first');
  await writer.emptyLog();
  assert.equal(statSync(`${path}-wal`).size, 0, 'the log is emptied');
  for (const file of [path, `${path}-wal`])
    assert.equal(readFileSync(file).includes('jane-smith-1961-hiv'), false, file);
  assert.ok(readFileSync(path).includes('kept-jones-1958'), 'what was kept is in the file');
  assert.deepEqual(db.prepare('SELECT label FROM item ORDER BY id').pluck().all(), [
    '~digest',
    'kept-jones-1958',
  ]);
});
