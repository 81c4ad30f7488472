import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PART_SIZE_BYTES, splitParts } from './block-log.js';
import { EtcdKeys, numberAtEnd, prefixEnd, txqEntrySize } from './etcd-keys.js';
import { RecentTxIds } from './recent-txids.js';

test('keys sort numerically and stay inside the namespace', () => {
  const keys = new EtcdKeys('clinic-net');
  assert.ok(keys.manifest(9) < keys.manifest(10) && keys.manifest(99) < keys.manifest(100));
  assert.ok(keys.txqEntry('n0.ab', 2, 900) < keys.txqEntry('n0.ab', 10, 5));
  assert.equal(numberAtEnd(keys.manifest(1234)), 1234);
  for (const key of [
    keys.head,
    keys.manifest(1),
    keys.part(1, '7', 0),
    keys.txqEntry('w', 1, 1),
    keys.writer('w'),
    keys.committedOf('org-a'),
  ]) {
    assert.ok(key.startsWith('chartchain/clinic-net/'), key);
  }
  assert.throws(() => new EtcdKeys('Bad/Name'), RangeError);
  assert.throws(() => keys.txqOf('a/b'), RangeError);
});

test('the key of a queued transaction states its size; a key without one states none', () => {
  const keys = new EtcdKeys('clinic-net');
  assert.equal(txqEntrySize(keys.txqEntry('n0.ab', 7, 1_048_576)), 1_048_576);
  assert.equal(txqEntrySize(keys.txqEntry('n0.ab', 7, 0)), 0);
  assert.equal(txqEntrySize(`${keys.txqOf('n0.ab')}0000000000000007`), undefined);
});

test('prefixEnd is the first key after the prefix', () => {
  assert.equal(prefixEnd('a/').toString(), 'a0');
  const prefix = 'chartchain/n/txq/';
  assert.ok(Buffer.compare(Buffer.from(`${prefix}zzz`), prefixEnd(prefix)) < 0);
  assert.ok(Buffer.compare(Buffer.from('chartchain/n/txr'), prefixEnd(prefix)) >= 0);
});

test('a block is split into parts of at most PART_SIZE_BYTES that concatenate back', () => {
  const block = Buffer.alloc(PART_SIZE_BYTES * 2 + 5, 7);
  const parts = splitParts(block);
  assert.deepEqual(
    parts.map((part) => part.length),
    [PART_SIZE_BYTES, PART_SIZE_BYTES, 5],
  );
  assert.deepEqual(Buffer.concat(parts), block);
  assert.deepEqual(
    splitParts(new Uint8Array(0)).map((part) => part.length),
    [0],
  );
});

test('recent txIds forget the oldest beyond their bound', () => {
  const recent = new RecentTxIds(3);
  recent.add(['a', 'b', 'c']);
  recent.add(['d']);
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((txId) => recent.has(txId)),
    [false, true, true, true],
  );
});
