/**
 * A transaction type declared once with the fields of its body: contracts parse bodies with it
 * (unknown fields refused, each field validated as body.ts does) and every layer that signs
 * one builds its body with it, so the two cannot drift apart. The wire format is the body.
 */
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
import { booleanField, countField, enumField, hex32Field, idField, onlyFields, stringSetField, textField } from './body.js';

/** One part of a body: how to read it and how to write it. Most parts are one field, named by their key. */
export interface BodyPart<T> {
  /** The body fields this part reads, given its key in the schema; one field by default. */
  readonly names?: readonly string[];
  /** The value in `body`, or undefined when it is missing or malformed. */
  parse(body: JsonObject, key: string): T | undefined;
  /** The body fields that carry `value`. */
  write(value: T, key: string): JsonObject;
}

/** What a body with these parts parses to. */
export type BodyOf<Parts> = { readonly [K in keyof Parts]: Parts[K] extends BodyPart<infer T> ? T : never };

/** A declared transaction type. */
export interface TxSchema<Type extends string, Parts> {
  readonly type: Type;
  /** Every field a body may have. */
  readonly fields: readonly string[];
  /** The parsed body, or undefined when it has an unknown field or a part is missing or malformed. */
  parse(body: JsonObject): BodyOf<Parts> | undefined;
  /** The body that carries `value`: what a signer puts in the transaction. */
  build(value: BodyOf<Parts>): JsonObject;
}

/** Declares transaction type `type` with a body of `parts`. */
export function defineTx<Type extends string, Parts extends Readonly<Record<string, BodyPart<unknown>>>>(type: Type, parts: Parts): TxSchema<Type, Parts> {
  const keys = Object.keys(parts);
  const partOf = (key: string): BodyPart<unknown> => parts[key]!;
  const fields = keys.flatMap((key) => partOf(key).names ?? [key]);
  return {
    type,
    fields,
    parse(body) {
      if (!onlyFields(body, fields)) return undefined;
      const parsed: Record<string, unknown> = {};
      for (const key of keys) {
        const value = partOf(key).parse(body, key);
        if (value === undefined) return undefined;
        parsed[key] = value;
      }
      return parsed as BodyOf<Parts>;
    },
    build(value) {
      const values = value as Readonly<Record<string, unknown>>;
      return Object.assign({}, ...keys.map((key) => partOf(key).write(values[key], key))) as JsonObject;
    },
  };
}

/** A part that is one field, read by `read` (a body.ts validator) and written as is. */
export function field<T extends JsonValue>(read: (body: JsonObject, name: string) => T | undefined): BodyPart<T> {
  return { parse: read, write: (value, key) => ({ [key]: value }) };
}

/** An id (body.ts ID_PATTERN). */
export const id: BodyPart<string> = field(idField);
/** A 32-byte lowercase hex string: a key or a hash. */
export const hex32: BodyPart<string> = field(hex32Field);
/** A boolean. */
export const boolean: BodyPart<boolean> = field(booleanField);
/** A non-negative safe integer. */
export const count: BodyPart<number> = field(countField);

/** Free text of at most `lengthMax` code units, no control characters. */
export function text(lengthMax: number): BodyPart<string> {
  return field((body, name) => textField(body, name, lengthMax));
}

/** One of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): BodyPart<T> {
  return field((body, name) => enumField(body, name, choices));
}

/** Strings matching `pattern`, at most `countMax`; parsed sorted and without repeats. */
export function stringSet(pattern: RegExp, countMax: number): BodyPart<string[]> {
  return { parse: (body, name) => stringSetField(body, name, pattern, countMax), write: (value, key) => ({ [key]: [...value] }) };
}

/**
 * A part read from several fields at once by an existing reader (e.g. a grant's terms), so its
 * checks keep their exact semantics; `write` gives those fields back.
 */
export function fieldGroup<T>(names: readonly string[], read: (body: JsonObject) => T | undefined, write: (value: T) => JsonObject): BodyPart<T> {
  return { names, parse: (body) => read(body), write: (value) => write(value) };
}
