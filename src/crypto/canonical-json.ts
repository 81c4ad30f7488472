/**
 * RFC 8785 JSON Canonicalization Scheme (JCS). Every hash and signature in ChartChain
 * is taken over these bytes, so two nodes that agree on a value agree on its bytes.
 */
import { utf8 } from './bytes.js';

/** Nesting deeper than this is refused, so hostile input cannot exhaust the stack. */
export const CANONICAL_DEPTH_MAX = 32;

/** A JSON value as JCS accepts it (I-JSON, RFC 7493). */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Objects with more members than this are sorted by Array.prototype.sort; smaller ones in place. */
const INSERTION_SORT_KEYS_MAX = 32;

// Strings that JSON.stringify would copy unchanged: printable ASCII without '"' or '\\'.
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Serialises `value` per RFC 8785 §3.2: object members sorted by UTF-16 code units
 * (§3.2.3), numbers in ECMAScript form (§3.2.2.3), strings escaped as JSON.stringify does
 * (§3.2.2.2), no whitespace.
 * Throws TypeError for values JSON cannot carry (undefined, functions, bigint, NaN,
 * Infinity, lone surrogates) and RangeError past CANONICAL_DEPTH_MAX.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, 0);
}

/** UTF-8 bytes of `canonicalize(value)`. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

function serialize(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return serializeNumber(value);
    case 'string':
      return serializeString(value);
    case 'object':
      if (depth >= CANONICAL_DEPTH_MAX)
        throw new RangeError(`value nests deeper than ${CANONICAL_DEPTH_MAX}`);
      return Array.isArray(value)
        ? serializeArray(value, depth)
        : serializeObject(value as Record<string, unknown>, depth);
    default:
      throw new TypeError(`value of type ${typeof value} has no JSON form`);
  }
}

function serializeNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError('value must be a finite number');
  return JSON.stringify(value);
}

function serializeString(value: string): string {
  if (PLAIN_STRING.test(value)) return `"${value}"`;
  if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed())
    throw new TypeError('string holds a lone surrogate');
  return JSON.stringify(value);
}

function serializeArray(values: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += serialize(values[i], depth + 1);
  }
  return out + ']';
}

function serializeObject(object: Record<string, unknown>, depth: number): string {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError('only plain objects have a JSON form');
  }
  const keys = sortedKeys(object);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) throw new TypeError(`member ${JSON.stringify(key)} is undefined`);
    if (!first) out += ',';
    first = false;
    out += serializeString(key) + ':' + serialize(member, depth + 1);
  }
  return out + '}';
}

/**
 * The object's keys in UTF-16 code-unit order, RFC 8785 §3.2.3 (which is how both `<` and
 * Array.prototype.sort compare strings). Most objects here have a handful of members, often
 * already in order: sorting them in place spares the work array that sort() allocates for
 * each, a large share of what a logged read leaves to the garbage collector.
 */
function sortedKeys(object: Record<string, unknown>): string[] {
  const keys = Object.keys(object);
  if (keys.length > INSERTION_SORT_KEYS_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}
