import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import type { WriteSetEntry } from '../contracts/index.js';
import { AbsentKeys } from './absent-keys.js';
import { bloomHas, bloomSet, bloomWords, stateKeyHash } from './bloom-filter.js';
import { createStateTables, migrateChain } from './chain-schema.js';
import { openDatabase } from './database.js';
import { StateStore } from './state-store.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-absent-'));
after(() => rmSync(root, { recursive: true, force: true }));

function randomKeys(count: number): string[] {
  return Array.from({ length: count }, () => `t\u0000${randomBytes(16).toString('hex')}`);
}

function apply(state: StateStore, keys: readonly string[]): void {
  const writeSet: WriteSetEntry[] = keys.map((key) => ['t', key, 1]);
  state.apply(
    writeSet,
    keys.map(() => '1'),
  );
}

/** A chain database at `name` whose table `t` holds `keys`, and a store opened on it afresh. */
function storeHolding(name: string, keys: readonly string[]) {
  const path = join(root, name);
  const db = openDatabase(path);
  migrateChain(db);
  createStateTables(db, ['t']);
  const insert = db.prepare('INSERT INTO state_t (key, value) VALUES (?, ?)');
  db.transaction(() => keys.forEach((key) => insert.run(key, '1')))();
  return { db, state: new StateStore(db, ['t']) };
}

test('the Bloom filter never forgets a key, and answers "maybe" for few absent ones at its capacity', () => {
  const capacity = 100_000;
  const bits = new Int32Array(bloomWords(capacity));
  const hash = new Uint32Array(2);
  const present = randomKeys(capacity);
  for (const key of present) {
    stateKeyHash(key, hash);
    bloomSet(bits, hash[0]!, hash[1]!);
  }
  const has = (key: string): boolean => {
    stateKeyHash(key, hash);
    return bloomHas(bits, hash[0]!, hash[1]!);
  };
  assert.ok(present.every(has), 'no false negatives');
  const falsePositives = randomKeys(capacity).filter(has).length;
  assert.ok(
    falsePositives < capacity / 100,
    `${falsePositives} of ${capacity} absent keys say maybe`,
  );
});

test('a store over stored rows scans them on a worker: stored keys are found throughout, and once ready an absent key skips SQLite', async (t) => {
  const stored = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
  const { db, state } = storeHolding('scanned.db', stored);
  t.after(() => {
    state.close();
    db.close();
  });
  assert.equal(state.absentKeys.ready, false, 'not consulted before the first block');
  apply(state, ['new']);
  assert.equal(state.absentKeys.ready, false, 'a scan is needed: the tables hold rows');
  assert.equal(state.get('t', 'k7'), 1);
  await state.absentKeys.settled();
  assert.equal(state.absentKeys.ready, true);
  assert.deepEqual(
    ['k0', 'k19999', 'k12345', 'new'].map((key) => state.get('t', key)),
    [1, 1, 1, 1],
  );
  assert.equal(state.get('t', 'never'), undefined);
  // A row slipped in behind the store's back is not seen: the read no longer reaches SQLite.
  db.prepare("INSERT INTO state_t (key, value) VALUES ('behind', '1')").run();
  assert.equal(state.get('t', 'behind'), undefined);
});

test('keys saved while the scan runs are found once it is in', async (t) => {
  const { db, state } = storeHolding('racing.db', randomKeys(200_000));
  t.after(() => {
    state.close();
    db.close();
  });
  const saved: string[] = [];
  apply(state, ['first']);
  for (let i = 0; !state.absentKeys.ready; i++) {
    const keys = [`during-${i}-a`, `during-${i}-b`];
    apply(state, keys);
    state.save(i);
    saved.push(...keys);
    await sleep(2);
  }
  assert.ok(saved.length > 4, `${saved.length} keys saved during the scan`);
  // Asked of the filter itself: the store's cache would answer for keys it applied.
  assert.deepEqual(
    ['first', ...saved].filter((key) => !state.absentKeys.mightHave(`t\u0000${key}`)),
    [],
  );
});

test('a full filter is rebuilt, and answers "maybe" until the new one is in', async (t) => {
  const path = join(root, 'rebuilt.db');
  const db = openDatabase(path);
  migrateChain(db);
  createStateTables(db, ['t']);
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO state_t (key, value) VALUES (?, ?)');
  let unsaved: string[] = [];
  const filter = new AbsentKeys(db, ['t'], () => unsaved.map((key) => `t\u0000${key}`), 100);
  t.after(() => filter.close());
  const add = (key: string): void => {
    unsaved.push(key);
    filter.add(`t\u0000${key}`);
  };
  add('a');
  assert.equal(filter.ready, true, 'empty tables: ready at once');
  for (let i = 0; i < 110; i++) add(`k${i}`);
  assert.equal(filter.ready, false, 'over capacity: rebuilding');
  assert.equal(filter.mightHave('t\u0000absent'), true);
  db.transaction(() => unsaved.forEach((key) => insert.run(key, '1')))();
  const saved = unsaved;
  unsaved = [];
  await filter.settled();
  assert.equal(filter.ready, true);
  assert.ok(saved.every((key) => filter.mightHave(`t\u0000${key}`)));
  assert.equal(
    randomKeys(1000).filter((key) => filter.mightHave(key)).length < 50,
    true,
    'the new filter answers for absent keys',
  );
});

test('the filter stays off for a read-only store, and after close() during a scan', async (t) => {
  const { db, state } = storeHolding('closed.db', randomKeys(50_000));
  apply(state, ['x']);
  state.close();
  await state.absentKeys.settled();
  assert.equal(state.absentKeys.ready, false);
  assert.equal(state.absentKeys.mightHave('t\u0000anything'), true);
  db.close();
  const readonly = openDatabase(join(root, 'closed.db'), { readonly: true });
  t.after(() => readonly.close());
  const filter = new AbsentKeys(readonly, ['t'], () => []);
  filter.add('t\u0000x');
  await filter.settled();
  assert.equal(filter.ready, false);
});

test('keys that overflow a filter while it is being filled bring a second scan with more room, not a crash', async (t) => {
  const path = join(root, 'overflow.db');
  const db = openDatabase(path);
  migrateChain(db);
  createStateTables(db, ['t']);
  t.after(() => db.close());
  const insert = db.prepare('INSERT INTO state_t (key, value) VALUES (?, ?)');
  db.transaction(() => ['s0', 's1', 's2'].forEach((key) => insert.run(key, '1')))();
  const unsaved: string[] = [];
  const filter = new AbsentKeys(db, ['t'], () => unsaved.map((key) => `t\u0000${key}`), 4);
  t.after(() => filter.close());
  for (let i = 0; i < 100; i++) {
    unsaved.push(`k${i}`);
    filter.add(`t\u0000k${i}`);
  }
  await filter.settled();
  assert.equal(filter.ready, true);
  assert.ok(
    [...unsaved, 's0', 's1', 's2'].every((key) => filter.mightHave(`t\u0000${key}`)),
    'every key, stored or applied',
  );
});

test('an in-memory store builds its filter at once, and rebuilds it in-thread when full', () => {
  const db = openDatabase(':memory:');
  migrateChain(db);
  createStateTables(db, ['t']);
  db.prepare("INSERT INTO state_t (key, value) VALUES ('stored', '1')").run();
  const filter = new AbsentKeys(db, ['t'], () => [], 8);
  try {
    filter.add('t\u0000first');
    assert.equal(filter.ready, true);
    for (let i = 0; i < 50; i++) filter.add(`t\u0000k${i}`);
    assert.equal(filter.ready, true, 'rebuilt without a worker');
    assert.equal(filter.mightHave('t\u0000stored'), true);
  } finally {
    filter.close();
    db.close();
  }
});
