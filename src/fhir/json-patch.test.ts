import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
import { applyPatch, JsonPatchError, parsePatch } from './json-patch.js';

const patched = (document: JsonObject, patch: unknown): JsonValue =>
  applyPatch(document, parsePatch(patch));

function fails(
  document: JsonObject,
  patch: unknown,
  kind: 'malformed' | 'failed',
  message: RegExp,
): void {
  assert.throws(
    () => patched(document, patch),
    (error: unknown) =>
      error instanceof JsonPatchError && error.kind === kind && message.test(error.message),
  );
}

// RFC 6902 Appendix A, the examples that apply.
test('RFC 6902 A.1–A.4: add to an object and an array, remove from both', () => {
  assert.deepEqual(patched({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), {
    foo: 'bar',
    baz: 'qux',
  });
  assert.deepEqual(
    patched({ foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }]),
    { foo: ['bar', 'qux', 'baz'] },
  );
  assert.deepEqual(patched({ baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }]), {
    foo: 'bar',
  });
  assert.deepEqual(patched({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }]), {
    foo: ['bar', 'baz'],
  });
});

test('RFC 6902 A.5–A.7: replace, and move within an object and an array', () => {
  assert.deepEqual(
    patched({ baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }]),
    { baz: 'boo', foo: 'bar' },
  );
  const moved = patched({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [
    { op: 'move', from: '/foo/waldo', path: '/qux/thud' },
  ]);
  assert.deepEqual(moved, { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
  assert.deepEqual(
    patched({ foo: ['all', 'grass', 'cows', 'eat'] }, [
      { op: 'move', from: '/foo/1', path: '/foo/3' },
    ]),
    { foo: ['all', 'cows', 'eat', 'grass'] },
  );
});

test('RFC 6902 A.8–A.10, A.16: test passes on equal values whatever the key order; add a nested member; append with -', () => {
  const document = { baz: 'qux', foo: ['a', 2, 'c'], obj: { a: 1, b: [true, null] } };
  assert.deepEqual(
    patched(document, [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
      { op: 'test', path: '/obj', value: { b: [true, null], a: 1 } },
    ]),
    document,
  );
  fails(
    { baz: 'qux' },
    [{ op: 'test', path: '/baz', value: 'bar' }],
    'failed',
    /operation 0 \(test \/baz\): the value differs/,
  );
  assert.deepEqual(
    patched({ foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }]),
    { foo: 'bar', child: { grandchild: {} } },
  );
  assert.deepEqual(
    patched({ foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }]),
    { foo: ['bar', ['abc', 'def']] },
  );
});

test('RFC 6902 A.12, A.14: adding to a missing parent fails; ~0 and ~1 escape ~ and /', () => {
  fails(
    { foo: 'bar' },
    [{ op: 'add', path: '/baz/bat', value: 'qux' }],
    'failed',
    /no such element/,
  );
  assert.deepEqual(
    patched({ '/': 9, '~1': 10 }, [
      { op: 'test', path: '/~01', value: 10 },
      { op: 'copy', from: '/~1', path: '/a~1b' },
    ]),
    { '/': 9, '~1': 10, 'a/b': 9 },
  );
});

test('operations apply in order to a copy; one failing leaves the input untouched', () => {
  const document: JsonObject = { status: 'preliminary', note: [{ text: 'a' }] };
  fails(
    document,
    [
      { op: 'replace', path: '/status', value: 'final' },
      { op: 'remove', path: '/note/3' },
    ],
    'failed',
    /operation 1 \(remove \/note\/3\): array index out of range/,
  );
  assert.deepEqual(document, { status: 'preliminary', note: [{ text: 'a' }] });
});

test('malformed documents are refused before anything applies', () => {
  fails({}, { op: 'add' }, 'malformed', /an array of operations/);
  fails({}, [{ op: 'inc', path: '/a' }], 'malformed', /operation 0: op must be/);
  fails({}, [{ op: 'add', path: 'a', value: 1 }], 'malformed', /not a JSON Pointer/);
  fails({}, [{ op: 'add', path: '/a~2', value: 1 }], 'malformed', /not a JSON Pointer/);
  fails({}, [{ op: 'add', path: '/a' }], 'malformed', /add needs a value/);
  fails({}, [{ op: 'move', path: '/a' }], 'malformed', /move needs from/);
  fails(
    {},
    Array.from({ length: 1001 }, () => ({ op: 'remove', path: '/a' })),
    'malformed',
    /at most 1000 operations/,
  );
});

test('no patch reaches an object prototype, moves a value into itself, or takes a leading-zero index', () => {
  const result = patched({}, [
    { op: 'add', path: '/__proto__', value: { polluted: true } },
  ]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(result), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  fails({}, [{ op: 'remove', path: '/toString' }], 'failed', /no such element/);
  fails({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], 'failed', /into itself/);
  fails(
    { a: [1, 2] },
    [{ op: 'replace', path: '/a/01', value: 3 }],
    'failed',
    /not an array index/,
  );
  fails({ a: 1 }, [{ op: 'remove', path: '' }], 'failed', /the whole resource/);
});

test('copies that would double the resource again and again are refused before memory runs out', () => {
  const doublings = Array.from({ length: 40 }, (_, i) => ({
    op: 'copy',
    from: '',
    path: `/x${i}`,
  }));
  const started = Date.now();
  fails({ text: 'a'.repeat(1000) }, doublings, 'failed', /copies may add at most 1048576 bytes/);
  assert.ok(Date.now() - started < 2_000);
  assert.deepEqual(patched({ a: [1] }, [{ op: 'copy', from: '/a', path: '/b' }]), {
    a: [1],
    b: [1],
  });
});
