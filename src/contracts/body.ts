/**
 * Small validators for transaction bodies. Contracts read only what these return, so a hostile
 * body can never reach contract logic in a shape it does not expect.
 */
import type { JsonObject } from '../ledger/index.js';

/** Ids of organisations, practitioners and patients: lowercase, digits and dashes. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,63}$/;
/**
 * Record ids: FHIR R4 ids (hl7.org/fhir/R4/datatypes.html#id), except that the first character
 * must be a letter or digit, so that no id reads as a path segment such as '.' or '..'.
 */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
/** OAuth client ids (RFC 6749 client_id, as this project registers them): which of an organisation's systems acted. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
/** FHIR resource type names: Observation, Condition, MedicationRequest, … */
export const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]{1,63}$/;
/** Codes from a code system: security labels (42CFRPart2, PSY, R), v3 ActReason purposes (TREAT). */
export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
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
export function enumField<T extends string>(
  body: JsonObject,
  field: string,
  choices: readonly T[],
): T | undefined {
  const value = body[field];
  return typeof value === 'string' && (choices as readonly string[]).includes(value)
    ? (value as T)
    : undefined;
}

/** True when `body` has no fields beyond `allowed`: unknown fields are refused, not ignored. */
export function onlyFields(body: JsonObject, allowed: readonly string[]): boolean {
  return Object.keys(body).every((key) => allowed.includes(key));
}

/** An array of strings each matching `pattern`, at most `countMax` long, sorted and without repeats. */
export function stringSetField(
  body: JsonObject,
  field: string,
  pattern: RegExp,
  countMax: number,
): string[] | undefined {
  const value = body[field];
  if (!Array.isArray(value) || value.length > countMax) return undefined;
  if (!value.every((item) => typeof item === 'string' && pattern.test(item))) return undefined;
  return [...new Set(value as string[])].sort();
}

/** A non-negative safe integer: a block time in ms, a version, a count. */
export function countField(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
