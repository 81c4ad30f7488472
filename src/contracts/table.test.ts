import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockState } from './state.js';
import { defineTable } from './table.js';

interface CounterRow {
  name: string;
  count: number;
  tags: string[];
}
const COUNTERS = defineTable<CounterRow>('test_counter');

test('a typed table reads back what its writes store, and nothing for an absent key', () => {
  const state = new BlockState({ get: () => undefined });
  const row: CounterRow = { name: 'a', count: 2, tags: ['x'] };
  state.apply([COUNTERS.put('a', row)]);
  assert.deepEqual(COUNTERS.get(state, 'a'), row);
  assert.equal(COUNTERS.has(state, 'a'), true);
  assert.equal(COUNTERS.get(state, 'b'), undefined);
  state.apply([COUNTERS.remove('a')]);
  assert.equal(COUNTERS.get(state, 'a'), undefined);
  assert.deepEqual(state.writeSet(), [['test_counter', 'a', null]]);
});

test("rowOf picks this table's rows out of a write set, skipping deletions and other tables", () => {
  assert.deepEqual(COUNTERS.rowOf('test_counter', { name: 'a', count: 1, tags: [] }), {
    name: 'a',
    count: 1,
    tags: [],
  });
  assert.equal(COUNTERS.rowOf('test_counter', null), undefined);
  assert.equal(COUNTERS.rowOf('other', { name: 'a' }), undefined);
});
