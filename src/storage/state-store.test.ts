import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { canonicalize, type JsonValue } from '../crypto/index.js';
import type { WriteSetEntry } from '../contracts/index.js';
import { createStateTables, migrateChain } from './chain-schema.js';
import { openDatabase } from './database.js';
import { SqliteWriter } from './sqlite-writer.js';
import { StateStore } from './state-store.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-state-'));
after(() => rmSync(root, { recursive: true, force: true }));

function apply(state: StateStore, writes: [string, JsonValue | null][]): void {
  const writeSet: WriteSetEntry[] = writes.map(([key, value]) => ['t', key, value]);
  state.apply(
    writeSet,
    writes.map(([, value]) => (value === null ? '' : canonicalize(value))),
  );
}

function open(name: string) {
  const path = join(root, name);
  const db = openDatabase(path);
  migrateChain(db);
  createStateTables(db, ['t']);
  return { path, db, state: new StateStore(db, ['t']) };
}

test('a savepoint written on the writer thread, in parts: reads see its writes throughout, newer writes win, and it lands in the tables', async (t) => {
  const { path, db, state } = open('saved.db');
  const writer = new SqliteWriter(path);
  t.after(async () => {
    await writer.close();
    db.close();
  });
  apply(state, [
    ['a', 1],
    ['b', 2],
    ['x', 9],
  ]);
  state.save(6);
  apply(state, [
    ['a', 1],
    ['b', 2],
    ['x', null],
  ]);
  const saving = writer.writeInParts(state.beginSave(7, 2));
  assert.equal(state.overlayCount, 0, 'new blocks go to a fresh overlay');
  apply(state, [
    ['b', 3],
    ['c', null],
  ]);
  assert.deepEqual([state.get('t', 'a'), state.get('t', 'b')], [1, 3]);
  await saving;
  state.endSave();
  assert.deepEqual(
    [state.get('t', 'a'), state.get('t', 'b'), state.get('t', 'c')],
    [1, 3, undefined],
  );
  assert.equal(state.savedHeight, 7);
  assert.deepEqual(
    [...state.storedRows('t')],
    [
      ['a', '1'],
      ['b', '2'],
    ],
    'the tables hold the state as of the savepoint',
  );
  assert.deepEqual(state.keys('t'), ['a', 'b']);
});

test('a savepoint that fails gives its writes back to the overlay, under newer ones, for the next savepoint', async (t) => {
  const { db, state } = open('abandoned.db');
  t.after(() => db.close());
  apply(state, [
    ['a', 1],
    ['b', 2],
  ]);
  [...state.beginSave(3, 512)];
  apply(state, [['b', 5]]);
  state.abandonSave();
  assert.equal(state.overlayCount, 2);
  state.save(4);
  assert.deepEqual(
    [...state.storedRows('t')],
    [
      ['a', '1'],
      ['b', '5'],
    ],
  );
  assert.equal(state.savedHeight, 4);
});
