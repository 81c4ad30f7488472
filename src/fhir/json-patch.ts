/**
 * JSON Patch (RFC 6902) over JSON Pointer (RFC 6901), for FHIR's patch interaction (R4
 * http.html#patch). Pure: a patch applies to a copy, never to the document it is given. Errors
 * name the operation and its path, never a value, so no patient data reaches a diagnostic.
 */
import type { JsonValue } from '../crypto/index.js';
import {
  PATCH_COPIED_BYTES_MAX,
  PATCH_OPERATION_COUNT_MAX,
  type JsonObject,
} from '../ledger/index.js';

/** One RFC 6902 operation. */
export type PatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

/** A patch document that is not RFC 6902 (`malformed`), or one that does not apply (`failed`). */
export class JsonPatchError extends Error {
  constructor(
    readonly kind: 'malformed' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'JsonPatchError';
  }
}

type Container = JsonObject | JsonValue[];

/** The operations of `document`, an RFC 6902 patch document; throws JsonPatchError `malformed`. */
export function parsePatch(document: unknown): PatchOperation[] {
  if (!Array.isArray(document))
    throw new JsonPatchError('malformed', 'a JSON Patch document is an array of operations');
  if (document.length > PATCH_OPERATION_COUNT_MAX)
    throw new JsonPatchError(
      'malformed',
      `a JSON Patch document has at most ${PATCH_OPERATION_COUNT_MAX} operations`,
    );
  return document.map((operation: unknown, index) => parseOperation(operation, index));
}

function parseOperation(operation: unknown, index: number): PatchOperation {
  const malformed = (what: string) =>
    new JsonPatchError('malformed', `operation ${index}: ${what}`);
  if (!isObject(operation)) throw malformed('is not an object');
  const { op, path, from, value } = operation;
  if (typeof path !== 'string') throw malformed('has no path');
  pointerTokens(path, index);
  if (op === 'remove') return { op, path };
  if (op === 'add' || op === 'replace' || op === 'test') {
    if (value === undefined) throw malformed(`${op} needs a value`);
    return { op, path, value };
  }
  if (op === 'move' || op === 'copy') {
    if (typeof from !== 'string') throw malformed(`${op} needs from`);
    pointerTokens(from, index);
    return { op, from, path };
  }
  throw malformed('op must be add, remove, replace, move, copy or test');
}

/**
 * `document` with `operations` applied in order; throws JsonPatchError `failed` at the first that
 * cannot apply. Copies may add at most PATCH_COPIED_BYTES_MAX in all: each copy could double
 * the document, so without a bound forty of them would exhaust memory.
 */
export function applyPatch(document: JsonObject, operations: readonly PatchOperation[]): JsonValue {
  let result: JsonValue = structuredClone(document);
  const copied = { bytes: 0 };
  operations.forEach((operation, index) => {
    result = applyOperation(result, operation, index, copied);
  });
  return result;
}

function applyOperation(
  document: JsonValue,
  operation: PatchOperation,
  index: number,
  copied: { bytes: number },
): JsonValue {
  const path = pointerTokens(operation.path, index);
  const failed = (what: string) =>
    new JsonPatchError('failed', `operation ${index} (${operation.op} ${operation.path}): ${what}`);
  switch (operation.op) {
    case 'add':
      return add(document, path, structuredClone(operation.value), failed);
    case 'remove':
      return remove(document, path, failed);
    case 'replace':
      return add(remove(document, path, failed), path, structuredClone(operation.value), failed);
    case 'test':
      if (!jsonEqual(valueAt(document, path, failed), operation.value))
        throw failed('the value differs');
      return document;
    case 'move': {
      const from = pointerTokens(operation.from, index);
      if (from.length < path.length && from.every((token, i) => token === path[i]))
        throw failed('cannot move a value into itself');
      const value = valueAt(document, from, failed);
      return add(remove(document, from, failed), path, value, failed);
    }
    case 'copy': {
      const value = valueAt(document, pointerTokens(operation.from, index), failed);
      copied.bytes += JSON.stringify(value).length;
      if (copied.bytes > PATCH_COPIED_BYTES_MAX)
        throw failed(`copies may add at most ${PATCH_COPIED_BYTES_MAX} bytes to a resource`);
      return add(document, path, structuredClone(value), failed);
    }
  }
}

type Failure = (what: string) => JsonPatchError;

function add(
  document: JsonValue,
  path: readonly string[],
  value: JsonValue,
  failed: Failure,
): JsonValue {
  if (path.length === 0) return value;
  const parent = containerAt(document, path.slice(0, -1), failed);
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const at = key === '-' ? parent.length : arrayIndex(key, parent.length + 1, failed);
    parent.splice(at, 0, value);
  } else {
    Object.defineProperty(parent, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return document;
}

function remove(document: JsonValue, path: readonly string[], failed: Failure): JsonValue {
  if (path.length === 0) throw failed('cannot remove the whole resource');
  const parent = containerAt(document, path.slice(0, -1), failed);
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, failed), 1);
  else if (Object.hasOwn(parent, key)) delete parent[key];
  else throw failed('no such element');
  return document;
}

function valueAt(document: JsonValue, path: readonly string[], failed: Failure): JsonValue {
  let value = document;
  for (const token of path) {
    if (Array.isArray(value)) value = value[arrayIndex(token, value.length, failed)]!;
    else if (isObject(value) && Object.hasOwn(value, token)) value = value[token]!;
    else throw failed('no such element');
  }
  return value;
}

function containerAt(document: JsonValue, path: readonly string[], failed: Failure): Container {
  const value = valueAt(document, path, failed);
  if (Array.isArray(value) || isObject(value)) return value;
  throw failed('the parent is not an object or array');
}

/** An array index below `length`, as RFC 6901 writes it (no sign, no leading zero). */
function arrayIndex(token: string, length: number, failed: Failure): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(token)) throw failed('not an array index');
  const index = Number(token);
  if (index >= length) throw failed('array index out of range');
  return index;
}

/** The reference tokens of an RFC 6901 pointer, unescaped. */
function pointerTokens(pointer: string, index: number): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/') || /~[^01]|~$/.test(pointer))
    throw new JsonPatchError('malformed', `operation ${index}: not a JSON Pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 §4.6 equality: same type and value; objects equal whatever their key order. */
function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (Array.isArray(a))
    return (
      Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]!))
    );
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key]!, b[key]!))
    );
  }
  return a === b;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
