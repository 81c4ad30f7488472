import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { sha256Hex, utf8 } from '../crypto/index.js';
import { BlobError, BlobIntegrityError, BlobMissingError, BlobStore, type BlobSource } from './blob-store.js';

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

function freshStore(): BlobStore {
  return new BlobStore(join(root, `store-${storeCount++}`));
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

test('put returns the SHA-256 and get returns the bytes, laid out as <2 hex>/<64 hex>', async () => {
  const store = freshStore();
  const bytes = bytesOf('ciphertext of a FHIR Observation');
  const hash = await store.put(bytes);
  assert.equal(hash, sha256Hex(bytes));
  assert.deepEqual(store.get(hash), bytes);
  assert.equal(store.has(hash), true);
  assert.deepEqual(filesUnder(store.dir), [`${hash.slice(0, 2)}/${hash}`]);
  assert.deepEqual(readFileSync(join(store.dir, hash.slice(0, 2), hash)), Buffer.from(bytes));
});

test('put of the empty blob and a repeated put are fine', async () => {
  const store = freshStore();
  const empty = await store.put(new Uint8Array(0));
  assert.equal(empty, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(store.get(empty), new Uint8Array(0));
  const bytes = bytesOf('same');
  assert.equal(await store.put(bytes), await store.put(bytes));
  assert.equal(filesUnder(store.dir).length, 2);
});

test('a byte flipped on disk makes get throw BlobIntegrityError with both hashes', async () => {
  const store = freshStore();
  const bytes = bytesOf('sealed record version 1');
  const hash = await store.put(bytes);
  const path = join(store.dir, hash.slice(0, 2), hash);
  const tampered = readFileSync(path);
  tampered[3]! ^= 0x01;
  writeFileSync(path, tampered);
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
    for (const call of [() => store.get(hash as string), () => store.has(hash as string), () => store.delete(hash as string)]) {
      assert.throws(call, (error: unknown) => error instanceof TypeError && /\bhash\b/.test(error.message), `hash ${String(hash)}`);
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

test('collectGarbage deletes unreferenced blobs and stale temporary files past the grace period, and nothing else', async () => {
  const store = freshStore();
  const now = Date.now();
  const age = (path: string, ms: number) => utimesSync(path, (now - ms) / 1000, (now - ms) / 1000);
  const pathOf = (hash: string) => join(store.dir, hash.slice(0, 2), hash);
  const [kept, orphan, fresh] = await Promise.all(['referenced', 'orphaned', 'just written'].map((text) => store.put(bytesOf(text))));
  for (const hash of [kept!, orphan!]) age(pathOf(hash), 60_000);
  const temporary = `${pathOf(orphan!)}.0123456789abcdef.tmp`;
  writeFileSync(temporary, 'half a blob');
  age(temporary, 60_000);
  const stranger = join(store.dir, orphan!.slice(0, 2), 'notes.txt');
  writeFileSync(stranger, 'not a blob');
  age(stranger, 60_000);
  mkdirSync(join(store.dir, 'zz'));

  assert.throws(() => store.collectGarbage(() => false, { graceMs: -1 }), RangeError);
  const result = store.collectGarbage((hash) => hash === kept, { graceMs: 30_000, now });
  assert.deepEqual(result, { deleted: 2, kept: 3 });
  assert.ok(store.has(kept!), 'a referenced blob stays, however old');
  assert.ok(!store.has(orphan!), 'an old unreferenced blob goes');
  assert.ok(store.has(fresh!), 'an unreferenced blob younger than the grace period stays: its write may be in flight');
  assert.ok(!existsSync(temporary), 'a stale temporary file goes');
  assert.ok(existsSync(stranger), 'files that are not blobs are left alone');
});

test('no temporary files are left behind', async () => {
  const store = freshStore();
  const hashes = new Set<string>();
  // Concurrent puts, some of the same bytes, share directory fsyncs and must still leave one file each.
  for (const hash of await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(bytesOf(`blob ${i % 40}`))))) hashes.add(hash);
  const files = filesUnder(store.dir);
  assert.equal(files.length, hashes.size);
  for (const file of files) assert.match(file, /^[0-9a-f]{2}\/[0-9a-f]{64}$/);
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
