/**
 * Small validators for transaction bodies. Contracts read only what these return, so a hostile
 * body can never reach contract logic in a shape it does not expect.
 */
import type { JsonObject } from '../ledger/index.js';

/** Ids of organisations, practitioners and patients: lowercase, digits and dashes. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,63}$/;
const HEX32_PATTERN = /^[0-9a-f]{64}$/;

/** The string at `body[field]` when it matches `pattern`. */
export function stringField(body: JsonObject, field: string, pattern: RegExp): string | undefined {
  const value = body[field];
  return typeof value === 'string' && pattern.test(value) ? value : undefined;
}

/** An id field (see ID_PATTERN). */
export function idField(body: JsonObject, field: string): string | undefined {
  return stringField(body, field, ID_PATTERN);
}

/** A 32-byte lowercase hex field: a key or a hash. */
export function hex32Field(body: JsonObject, field: string): string | undefined {
  return stringField(body, field, HEX32_PATTERN);
}

/** Free text of bounded length, with no control characters. */
export function textField(body: JsonObject, field: string, lengthMax: number): string | undefined {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > lengthMax) return undefined;
  return /[\u0000-\u001f\u007f]/.test(value) ? undefined : value;
}

/** A boolean field. */
export function booleanField(body: JsonObject, field: string): boolean | undefined {
  const value = body[field];
  return typeof value === 'boolean' ? value : undefined;
}

/** A nested object field. */
export function objectField(body: JsonObject, field: string): JsonObject | undefined {
  const value = body[field];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

/** One of `choices`. */
export function enumField<T extends string>(body: JsonObject, field: string, choices: readonly T[]): T | undefined {
  const value = body[field];
  return typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as T) : undefined;
}

/** True when `body` has no fields beyond `allowed`: unknown fields are refused, not ignored. */
export function onlyFields(body: JsonObject, allowed: readonly string[]): boolean {
  return Object.keys(body).every((key) => allowed.includes(key));
}
