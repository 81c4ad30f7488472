/**
 * A transaction type declared once with the fields of its body: contracts parse bodies with it
 * (unknown fields refused, each field validated as body.ts does) and every layer that signs
 * one builds its body with it, so the two cannot drift apart. The wire format is the body.
 */
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
import {
  booleanField,
  countField,
  enumField,
  hex32Field,
  idField,
  onlyFields,
  stringSetField,
  textField,
} from './body.js';

/** One part of a body: how to read it and how to write it. Most parts are one field, named by their key. */
export interface BodyPart<T> {
  /** The body fields this part reads, given its key in the schema; one field by default. */
  readonly names?: readonly string[];
  /** True when the part may be absent (see optional()). */
  readonly optional?: boolean;
  /** The value in `body`, or undefined when it is missing or malformed. */
  parse(body: JsonObject, key: string): T | undefined;
  /** The body fields that carry `value`. */
  write(value: T, key: string): JsonObject;
}

/** A part that may be absent from a body. */
export type OptionalPart<T> = BodyPart<T> & { readonly optional: true };

type ValueOf<Part> = Part extends BodyPart<infer T> ? T : never;
type OptionalKeys<Parts> = {
  [K in keyof Parts]: Parts[K] extends { readonly optional: true } ? K : never;
}[keyof Parts];

/** What a body with these parts parses to; an optional part's key is absent when its field is. */
export type BodyOf<Parts> = {
  readonly [K in Exclude<keyof Parts, OptionalKeys<Parts>>]: ValueOf<Parts[K]>;
} & { readonly [K in OptionalKeys<Parts>]?: ValueOf<Parts[K]> };

/** What a signer needs of a declared transaction type: its name and how to build its body from `Body`. */
export interface TxBuilder<Body> {
  readonly type: string;
  readonly build: (value: Body) => JsonObject;
}

/** A declared transaction type. */
export interface TxSchema<Type extends string, Parts> extends TxBuilder<BodyOf<Parts>> {
  readonly type: Type;
  /** Every field a body may have. */
  readonly fields: readonly string[];
  /** The parsed body, or undefined when it has an unknown field or a part is missing or malformed. */
  parse(body: JsonObject): BodyOf<Parts> | undefined;
  /**
   * The body parsed except for the parts `later` (unknown fields are still refused), for a
   * contract that checks state before those parts, as its refusal order always was.
   */
  parseExcept<K extends keyof Parts & string>(
    body: JsonObject,
    later: readonly K[],
  ): Omit<BodyOf<Parts>, K> | undefined;
  /** The body that carries `value`: what a signer puts in the transaction. */
  readonly build: (value: BodyOf<Parts>) => JsonObject;
}

/** Declares transaction type `type` with a body of `parts`. */
export function defineTx<
  Type extends string,
  Parts extends Readonly<Record<string, BodyPart<unknown>>>,
>(type: Type, parts: Parts): TxSchema<Type, Parts> {
  const keys = Object.keys(parts);
  const partOf = (key: string): BodyPart<unknown> => parts[key]!;
  const fields = keys.flatMap((key) => partOf(key).names ?? [key]);
  const absent = (body: JsonObject, key: string): boolean =>
    partOf(key).optional === true &&
    (partOf(key).names ?? [key]).every((name) => body[name] === undefined);
  const parseKeys = (
    body: JsonObject,
    wanted: readonly string[],
  ): Record<string, unknown> | undefined => {
    if (!onlyFields(body, fields)) return undefined;
    const parsed: Record<string, unknown> = {};
    for (const key of wanted) {
      if (absent(body, key)) continue;
      const value = partOf(key).parse(body, key);
      if (value === undefined) return undefined;
      parsed[key] = value;
    }
    return parsed;
  };
  return {
    type,
    fields,
    parse: (body) => parseKeys(body, keys) as BodyOf<Parts> | undefined,
    parseExcept: (body, later) =>
      parseKeys(
        body,
        keys.filter((key) => !(later as readonly string[]).includes(key)),
      ) as never,
    build(value) {
      const values = value as Readonly<Record<string, unknown>>;
      const present = keys.filter(
        (key) => !(partOf(key).optional === true && values[key] === undefined),
      );
      return Object.assign(
        {},
        ...present.map((key) => partOf(key).write(values[key], key)),
      ) as JsonObject;
    },
  };
}

/** A part that is one field, read by `read` (a body.ts validator) and written as is. */
export function field<T extends JsonValue>(
  read: (body: JsonObject, name: string) => T | undefined,
): BodyPart<T> {
  return { parse: read, write: (value, key) => ({ [key]: value }) };
}

/**
 * `part`, or nothing: a body without its field(s) parses with the key absent, and a build
 * without the key writes none. A field that is present must parse.
 */
export function optional<T>(part: BodyPart<T>): OptionalPart<T> {
  return { ...part, optional: true };
}

/** `part`, or null written as null. */
export function nullable<T extends JsonValue>(part: BodyPart<T>): BodyPart<T | null> {
  return {
    ...part,
    parse: (body, key) => (body[key] === null ? null : part.parse(body, key)),
    write: (value, key) => (value === null ? { [key]: null } : part.write(value, key)),
  };
}

/** Exactly `value`, e.g. an action or a first version number. */
export function constant<T extends string | number>(value: T): BodyPart<T> {
  return field((body, name) => (body[name] === value ? value : undefined));
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
  return {
    parse: (body, name) => stringSetField(body, name, pattern, countMax),
    write: (value, key) => ({ [key]: [...value] }),
  };
}

/**
 * A part read from several fields at once by an existing reader (e.g. a grant's terms), so its
 * checks keep their exact semantics; `write` gives those fields back.
 */
export function fieldGroup<T>(
  names: readonly string[],
  read: (body: JsonObject) => T | undefined,
  write: (value: T) => JsonObject,
): BodyPart<T> {
  return { names, parse: (body) => read(body), write: (value) => write(value) };
}
