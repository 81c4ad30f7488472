import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { sha256Hex, utf8 } from '../crypto/index.js';
import { encodeFrame } from './blob-frame.js';
import { filesHolding, filesUnder } from './testonly/files.js';
import {
  BlobError,
  BlobIntegrityError,
  BlobMissingError,
  BlobStore,
  type BlobSource,
  type BlobStoreOptions,
} from './blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'chartchain-blobs-'));
after(() => rmSync(root, { recursive: true, force: true }));
let storeCount = 0;

/** A plain Uint8Array (not a Buffer, which deepStrictEqual tells apart) of `text`. */
function bytesOf(text: string): Uint8Array {
  return new Uint8Array(utf8(text));
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

/** A directory no store has used yet. */
function freshDir(): string {
  return join(root, `store-${storeCount++}`);
}

function freshStore(options: BlobStoreOptions = {}): BlobStore {
  return new BlobStore(freshDir(), options);
}

/** Deletes the store's index files, as a lost index or a backup without one leaves it. */
function removeIndex(dir: string): void {
  for (const file of filesUnder(dir).filter((name) => name.startsWith('index.db')))
    rmSync(join(dir, file));
}

/** Flips one bit of the stored content of `hash`, in place; returns the content as it now is. */
function flipByte(store: BlobStore, hash: string, at: number): Buffer {
  const place = store.place(hash)!;
  const file = readFileSync(place.path);
  file[place.offset + at]! ^= 0x01;
  writeFileSync(place.path, file);
  return file.subarray(place.offset, place.offset + place.length);
}

test('put returns the SHA-256 and get returns the bytes, framed in a segment file found through the index', async () => {
  const store = freshStore();
  const bytes = bytesOf('ciphertext of a FHIR Observation');
  const hash = await store.put(bytes);
  assert.equal(hash, sha256Hex(bytes));
  assert.deepEqual(store.get(hash), bytes);
  assert.equal(store.has(hash), true);
  assert.deepEqual(
    filesUnder(store.dir).filter((file) => !file.startsWith('index.db')),
    ['00000001.segment'],
  );
  const place = store.place(hash)!;
  assert.equal(place.path, join(store.dir, '00000001.segment'));
  assert.deepEqual(
    readFileSync(place.path).subarray(place.offset, place.offset + place.length),
    Buffer.from(bytes),
  );
  assert.deepEqual([...store.hashes()], [hash]);
});

test('put of the empty blob and a repeated put are fine', async () => {
  const store = freshStore();
  const empty = await store.put(new Uint8Array(0));
  assert.equal(empty, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(store.get(empty), new Uint8Array(0));
  const bytes = bytesOf('same');
  assert.equal(await store.put(bytes), await store.put(bytes));
  assert.equal([...store.hashes()].length, 2);
  assert.equal(
    readFileSync(store.place(empty)!.path).length,
    2 * 40 + 4,
    'two frames: the repeated put appended nothing',
  );
});

test('a byte flipped on disk makes get throw BlobIntegrityError with both hashes', async () => {
  const store = freshStore();
  const bytes = bytesOf('sealed record version 1');
  const hash = await store.put(bytes);
  const tampered = flipByte(store, hash, 3);
  const error = thrown(() => store.get(hash), BlobIntegrityError);
  assert.ok(error instanceof BlobError);
  assert.equal(error.hash, hash);
  assert.equal(error.actualHash, sha256Hex(tampered));
  // put repairs a corrupt copy rather than trusting the name.
  assert.equal(await store.put(bytes), hash);
  assert.deepEqual(store.get(hash), bytes);
});

test('a missing blob throws BlobMissingError; has is false', async () => {
  const store = freshStore();
  const hash = sha256Hex('never stored');
  assert.equal(store.has(hash), false);
  const error = thrown(() => store.get(hash), BlobMissingError);
  assert.ok(error instanceof BlobError);
  assert.equal(error.hash, hash);
});

test('delete removes a blob once', async () => {
  const store = freshStore();
  const hash = await store.put(bytesOf('to be erased'));
  assert.equal(store.delete(hash), true);
  assert.equal(store.has(hash), false);
  assert.throws(() => store.get(hash), BlobMissingError);
  assert.equal(store.delete(hash), false);
});

test('hashes that are not 64 lowercase hex digits are refused before touching the disk', () => {
  const store = freshStore();
  // A file outside the store that a traversal would reach.
  writeFileSync(join(root, 'outside'), 'secret');
  const bad: unknown[] = [
    '../outside',
    '../../etc/passwd',
    `../${'a'.repeat(61)}`,
    `${'a'.repeat(62)}/..`,
    '/etc/passwd',
    'A'.repeat(64),
    'a'.repeat(63),
    'a'.repeat(65),
    `${'a'.repeat(63)}\0`,
    'g'.repeat(64),
    '',
    undefined,
    42,
  ];
  for (const hash of bad) {
    for (const call of [
      () => store.get(hash as string),
      () => store.has(hash as string),
      () => store.delete(hash as string),
    ]) {
      assert.throws(
        call,
        (error: unknown) => error instanceof TypeError && /\bhash\b/.test(error.message),
        `hash ${String(hash)}`,
      );
    }
  }
  assert.equal(existsSync(join(root, 'outside')), true);
});

test('getOrFetch stores what an honest source returns and refuses what a lying one returns', async () => {
  const store = freshStore();
  const genuine = bytesOf('ciphertext held by a peer');
  const hash = sha256Hex(genuine);
  const asked: string[] = [];
  const honest: BlobSource = {
    fetchBlob: async (wanted) => {
      asked.push(wanted);
      return wanted === hash ? genuine : undefined;
    },
  };
  const forged = bytesOf('something else entirely');
  const liar: BlobSource = { fetchBlob: async () => forged };
  const empty: BlobSource = { fetchBlob: async () => undefined };

  await assert.rejects(store.getOrFetch(hash), BlobMissingError);
  await assert.rejects(store.getOrFetch(hash, empty), BlobMissingError);
  await assert.rejects(store.getOrFetch(hash, liar), (error: unknown) => {
    assert.ok(error instanceof BlobIntegrityError);
    assert.equal(error.hash, hash);
    assert.equal(error.actualHash, sha256Hex(forged));
    return true;
  });
  assert.equal(store.has(hash), false, 'forged bytes must not be stored');

  assert.deepEqual(await store.getOrFetch(hash, honest), genuine);
  assert.deepEqual(asked, [hash]);
  assert.deepEqual(store.get(hash), genuine);
  // Now local: the source is not asked again.
  assert.deepEqual(await store.getOrFetch(hash, liar), genuine);
  assert.deepEqual(asked, [hash]);
});

test('getOrFetch returns its own copy, not the buffer a source may later change', async () => {
  const store = freshStore();
  const genuine = bytesOf('ciphertext');
  const hash = sha256Hex(genuine);
  const shared = genuine.slice();
  const sneaky: BlobSource = {
    fetchBlob: async () => {
      // Runs after getOrFetch's synchronous check-and-store, so only a returned alias would show it.
      setImmediate(() => shared.fill(0x41));
      return shared;
    },
  };
  const fetched = await store.getOrFetch(hash, sneaky);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(fetched, genuine);
  assert.deepEqual(store.get(hash), genuine);
});

test('collectGarbage erases unreferenced blobs past the grace period, and deletes segments left empty', async () => {
  const now = Date.now();
  let clock = now - 60_000;
  const store = freshStore({ now: () => clock, segmentBytes: 1 });
  const [kept, orphan] = [
    await store.put(bytesOf('referenced')),
    await store.put(bytesOf('orphaned')),
  ];
  clock = now;
  const fresh = await store.put(bytesOf('just written'));
  writeFileSync(join(store.dir, 'notes.txt'), 'not a blob');
  const orphanSegment = store.place(orphan!)!.path;

  assert.throws(() => store.collectGarbage(() => false, { graceMs: -1 }), RangeError);
  const asked: string[] = [];
  const result = store.collectGarbage((hash) => asked.push(hash) > 0 && hash === kept, {
    graceMs: 30_000,
    now,
  });
  assert.deepEqual(result, { deleted: 1, kept: 1 });
  assert.deepEqual(
    asked.sort(),
    [kept!, orphan!].sort(),
    'only blobs past the grace period are asked about',
  );
  assert.ok(store.has(kept!), 'a referenced blob stays, however old');
  assert.ok(!store.has(orphan!), 'an old unreferenced blob goes');
  assert.ok(
    store.has(fresh),
    'an unreferenced blob younger than the grace period stays: its write may be in flight',
  );
  assert.ok(!existsSync(orphanSegment), 'the segment that held only the orphan is deleted');
  assert.ok(existsSync(join(store.dir, 'notes.txt')), 'files that are not segments are left alone');
  assert.deepEqual(store.get(kept!), bytesOf('referenced'));
  assert.deepEqual(
    store.collectGarbage(() => assert.fail('a blob found referenced is not asked about again'), {
      graceMs: 30_000,
      now,
    }),
    { deleted: 0, kept: 0 },
  );
});

test('a blob marked anchored is never a candidate for collection', async () => {
  let clock = Date.now() - 60_000;
  const store = freshStore({ now: () => clock });
  const [anchored, loose] = [
    await store.put(bytesOf('committed')),
    await store.put(bytesOf('refused')),
  ];
  clock = Date.now();
  store.markAnchored([anchored, sha256Hex('not stored here')]);
  assert.throws(() => store.markAnchored(['../x']), TypeError);
  const asked: string[] = [];
  assert.deepEqual(
    store.collectGarbage((hash) => asked.push(hash) < 0, { graceMs: 30_000 }),
    { deleted: 1, kept: 0 },
  );
  assert.deepEqual(asked, [loose]);
  assert.ok(store.has(anchored) && !store.has(loose));
});

test('concurrent puts share one append: one segment, one frame per distinct blob', async () => {
  const store = freshStore();
  const hashes = new Set<string>();
  for (const hash of await Promise.all(
    Array.from({ length: 50 }, (_, i) => store.put(bytesOf(`blob ${i % 40}`))),
  ))
    hashes.add(hash);
  assert.equal(hashes.size, 40);
  assert.deepEqual(new Set([...hashes].map((hash) => store.place(hash)!.path)).size, 1);
  assert.deepEqual([...store.hashes()].sort(), [...hashes].sort());
  for (const hash of hashes) assert.equal(sha256Hex(store.get(hash)), hash);
});

test('segments roll over past their target size, and reads span them', async () => {
  const store = freshStore({ segmentBytes: 200 });
  const hashes: string[] = [];
  for (let i = 0; i < 10; i++) hashes.push(await store.put(bytesOf(`version ${i} `.repeat(10))));
  const segments = filesUnder(store.dir).filter((file) => file.endsWith('.segment'));
  assert.ok(segments.length >= 4, `${segments.length} segments`);
  for (const [i, hash] of hashes.entries())
    assert.deepEqual(store.get(hash), bytesOf(`version ${i} `.repeat(10)));
});

test('erasure overwrites the bytes on disk: neither the blob nor any copy of it can be found in any file', async () => {
  const dir = freshDir();
  const store = new BlobStore(dir);
  const secret = bytesOf('CIPHERTEXT-MARKER-7f3a '.repeat(8));
  const neighbour = bytesOf('a neighbour that stays');
  const [hash, other] = [await store.put(secret), await store.put(neighbour)];
  assert.ok(
    filesHolding(dir, Buffer.from(secret)).length > 0,
    'the bytes are on disk before erasure',
  );
  assert.equal(store.delete(hash), true);
  assert.equal(store.delete(hash), false);
  await store.close();
  assert.deepEqual(
    filesHolding(dir, Buffer.from('CIPHERTEXT-MARKER')),
    [],
    'no file holds any part of the erased blob',
  );
  const reopened = new BlobStore(dir);
  assert.equal(reopened.has(hash), false, 'a rebuilt view does not resurrect it');
  assert.deepEqual(reopened.get(other), neighbour);
  await reopened.close();
});

test('after a crash between the fsync and the index commit, the segment tail is indexed at open', async () => {
  const dir = freshDir();
  const store = new BlobStore(dir);
  const first = await store.put(bytesOf('indexed'));
  await store.close();
  // A frame the index never heard of, as if the process died right after the segment's fsync.
  const late = bytesOf('durable but not yet indexed');
  const segment = join(dir, '00000001.segment');
  appendFileSync(segment, encodeFrame(sha256Hex(late), late));
  const reopened = new BlobStore(dir);
  assert.deepEqual(reopened.get(sha256Hex(late)), late);
  assert.deepEqual(reopened.get(first), bytesOf('indexed'));
  await reopened.close();
});

test('a torn write at the end of a segment is never indexed, and later appends go to a new segment', async () => {
  const dir = freshDir();
  const store = new BlobStore(dir);
  const first = await store.put(bytesOf('acknowledged'));
  await store.close();
  const torn = encodeFrame(sha256Hex(bytesOf('half written')), bytesOf('half written')).subarray(
    0,
    30,
  );
  appendFileSync(join(dir, '00000001.segment'), torn);
  const sizeBefore = readFileSync(join(dir, '00000001.segment')).length;
  const reopened = new BlobStore(dir);
  assert.deepEqual([...reopened.hashes()], [first]);
  const next = await reopened.put(bytesOf('after the crash'));
  assert.equal(reopened.place(next)!.path, join(dir, '00000002.segment'));
  assert.equal(
    readFileSync(join(dir, '00000001.segment')).length,
    sizeBefore,
    'the torn segment is not written over',
  );
  assert.deepEqual(reopened.get(first), bytesOf('acknowledged'));
  await reopened.close();
});

test('a lost index is rebuilt from the segments, without the erased blobs', async () => {
  const dir = freshDir();
  const store = new BlobStore(dir, { segmentBytes: 100 });
  const hashes = [];
  for (let i = 0; i < 6; i++) hashes.push(await store.put(bytesOf(`blob number ${i} `.repeat(5))));
  store.delete(hashes[2]!);
  await store.close();
  removeIndex(dir);
  const rebuilt = new BlobStore(dir);
  assert.deepEqual([...rebuilt.hashes()].sort(), hashes.filter((_, i) => i !== 2).sort());
  for (const hash of rebuilt.hashes()) assert.equal(sha256Hex(rebuilt.get(hash)), hash);
  await rebuilt.close();
});

test('blobs in the earlier one-file-per-blob layout are moved into a segment at open', async () => {
  const dir = freshDir();
  const bytes = [bytesOf('legacy one'), bytesOf('legacy two')];
  for (const content of bytes) {
    const hash = sha256Hex(content);
    mkdirSync(join(dir, hash.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, hash.slice(0, 2), hash), content);
  }
  writeFileSync(
    join(dir, sha256Hex(bytes[0]!).slice(0, 2), `${sha256Hex(bytes[0]!)}.0123456789abcdef.tmp`),
    'half',
  );
  const store = new BlobStore(dir);
  for (const content of bytes) assert.deepEqual(store.get(sha256Hex(content)), content);
  assert.deepEqual(
    filesUnder(dir).filter((file) => !file.startsWith('index.db')),
    ['00000001.segment'],
    'the old files and their directories are gone',
  );
  await store.close();
});

test('read-only: no index is created, the segments are scanned instead, and writes are refused', async () => {
  const dir = freshDir();
  const store = new BlobStore(dir);
  const hash = await store.put(bytesOf('to verify'));
  await store.close();
  removeIndex(dir);
  const looking = new BlobStore(dir, { readOnly: true });
  assert.deepEqual(looking.get(hash), bytesOf('to verify'));
  await assert.rejects(looking.put(bytesOf('x')), /read-only/);
  assert.throws(() => looking.delete(hash), /read-only/);
  await looking.close();
  assert.deepEqual(filesUnder(dir), ['00000001.segment']);
});

test('property: any bytes round-trip under their SHA-256', async () => {
  const store = freshStore();
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
      const hash = await store.put(bytes);
      assert.equal(hash, sha256Hex(bytes));
      assert.deepEqual(store.get(hash), bytes);
    }),
    { numRuns: 100 },
  );
});

test('a blob put since the store opened is vouched for once; one from before it opened is not', async () => {
  const dir = freshDir();
  const first = new BlobStore(dir);
  const before = await first.put(bytesOf('stored by an earlier process'));
  await first.close();
  const store = new BlobStore(dir);
  const now = await store.put(bytesOf('stored by this one'));
  assert.deepEqual(
    [store.takeStoredHere(now), store.takeStoredHere(now), store.takeStoredHere(before)],
    [true, false, false],
  );
  assert.equal(store.has(before), true, 'not vouched for, but still here');
  await store.close();
});
