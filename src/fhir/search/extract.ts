/**
 * A resource's search values (R4 search.html#ptypes), normalised into rows the index stores:
 * one row per value found at a parameter's paths. Rows hold derived patient data, so they live
 * only in the node-local index, never on the ledger.
 */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { DATE_HIGH_MAX, DATE_LOW_MIN, dateRange } from './date-range.js';
import { foldString, normaliseReference } from './normalise.js';
import { searchParametersOf, type SearchParameterDefinition } from './parameters.js';

/**
 * A token (R4 search.html#token): a code with its system, or, with code null, only the text
 * a :text search matches (CodeableConcept.text, Coding.display, Identifier.type.text), folded.
 */
export interface TokenRow {
  readonly param: string;
  readonly kind: 'token';
  readonly system: string | null;
  readonly code: string | null;
  readonly text: string | null;
}

/** A string (R4 search.html#string): `value` folded for default and :contains matching, `exact` as written. */
export interface StringRow {
  readonly param: string;
  readonly kind: 'string';
  readonly value: string;
  readonly exact: string;
}

/** A date, dateTime, instant or Period as the half-open epoch-ms interval [low, high) it covers. */
export interface DateRow {
  readonly param: string;
  readonly kind: 'date';
  readonly low: number;
  readonly high: number;
}

/** A Quantity (R4 search.html#quantity): its value with system, code and human unit. */
export interface QuantityRow {
  readonly param: string;
  readonly kind: 'quantity';
  readonly value: number;
  readonly system: string | null;
  readonly code: string | null;
  readonly unit: string | null;
}

/** A Reference as 'Type/id' (or its literal text when it names no Type/id), with the type and id apart. */
export interface ReferenceRow {
  readonly param: string;
  readonly kind: 'reference';
  readonly reference: string;
  readonly type: string | null;
  readonly id: string | null;
}

/** One indexed value of one search parameter. */
export type IndexRow = TokenRow | StringRow | DateRow | QuantityRow | ReferenceRow;

/**
 * Every search value of `resource` for the parameters its type has here (parameters.ts),
 * _id and _lastUpdated (from meta.lastUpdated, when present) included. Values of the wrong
 * shape for their parameter are skipped, never an error: validation is not the index's job.
 * Throws TypeError when `resource` has no string resourceType.
 */
export function extractValues(resource: JsonObject): IndexRow[] {
  const type = resource['resourceType'];
  if (typeof type !== 'string') throw new TypeError('resource must have a string resourceType');
  return searchParametersOf(type).flatMap(([param, definition]) =>
    rowsOf(param, definition, resource),
  );
}

/** The rows of one parameter of `resource`. */
export function rowsOf(
  param: string,
  definition: SearchParameterDefinition,
  resource: JsonObject,
): IndexRow[] {
  const values = definition.paths.flatMap((path) => valuesAt(resource, path));
  switch (definition.kind) {
    case 'token':
      return values.flatMap((value) => tokenRows(param, value));
    case 'string':
      return values.flatMap((value) =>
        typeof value === 'string' && value !== ''
          ? [{ param, kind: 'string' as const, value: foldString(value), exact: value }]
          : [],
      );
    case 'date':
      return values.flatMap((value) => dateRows(param, value));
    case 'quantity':
      return values.flatMap((value) => quantityRows(param, value));
    case 'reference':
      return values.flatMap((value) => referenceRows(param, value, definition.target));
  }
}

/**
 * The values at dotted `path` below `value`: arrays are flattened at every step, and a step
 * `name[x]` matches every key `name` followed by an upper-case type name.
 */
export function valuesAt(value: JsonValue, path: string): JsonValue[] {
  let current: JsonValue[] = [value];
  for (const step of path.split('.')) current = current.flatMap((item) => childrenOf(item, step));
  return current.flatMap((item) => (Array.isArray(item) ? item : [item]));
}

function childrenOf(value: JsonValue, step: string): JsonValue[] {
  if (Array.isArray(value)) return value.flatMap((item) => childrenOf(item, step));
  if (!isObject(value)) return [];
  if (!step.endsWith('[x]')) return Object.hasOwn(value, step) ? [value[step]!] : [];
  const stem = step.slice(0, -3);
  return Object.keys(value)
    .filter((key) => key.startsWith(stem) && /^[A-Z]/.test(key.slice(stem.length)))
    .map((key) => value[key]!);
}

/** Tokens of a code, boolean, Coding, CodeableConcept or Identifier. */
function tokenRows(param: string, value: JsonValue): TokenRow[] {
  if (typeof value === 'string') return [token(param, null, value, null)];
  if (typeof value === 'boolean') return [token(param, null, String(value), null)];
  if (!isObject(value)) return [];
  if ('coding' in value || ('text' in value && !('value' in value)))
    return codeableConceptRows(param, value);
  if ('value' in value) return identifierRows(param, value);
  return codingRows(param, value);
}

function codeableConceptRows(param: string, concept: JsonObject): TokenRow[] {
  const codings = Array.isArray(concept['coding'])
    ? concept['coding'].flatMap((coding) => (isObject(coding) ? codingRows(param, coding) : []))
    : [];
  const text = stringOrNull(concept['text']);
  return text === null ? codings : [...codings, token(param, null, null, text)];
}

function codingRows(param: string, coding: JsonObject): TokenRow[] {
  const code = stringOrNull(coding['code']);
  const display = stringOrNull(coding['display']);
  if (code === null) return display === null ? [] : [token(param, null, null, display)];
  return [token(param, stringOrNull(coding['system']), code, display)];
}

function identifierRows(param: string, identifier: JsonObject): TokenRow[] {
  const value = stringOrNull(identifier['value']);
  const typeText = isObject(identifier['type']) ? stringOrNull(identifier['type']['text']) : null;
  return value === null ? [] : [token(param, stringOrNull(identifier['system']), value, typeText)];
}

function token(
  param: string,
  system: string | null,
  code: string | null,
  text: string | null,
): TokenRow {
  return { param, kind: 'token', system, code, text: text === null ? null : foldString(text) };
}

/** A date, dateTime or instant string, or a Period with at least one end; Timing and others are skipped. */
function dateRows(param: string, value: JsonValue): DateRow[] {
  if (typeof value === 'string') {
    const range = dateRange(value);
    return range === undefined ? [] : [{ param, kind: 'date', ...range }];
  }
  if (!isObject(value) || (value['start'] === undefined && value['end'] === undefined)) return [];
  const start = typeof value['start'] === 'string' ? dateRange(value['start']) : undefined;
  const end = typeof value['end'] === 'string' ? dateRange(value['end']) : undefined;
  if (
    (value['start'] !== undefined && start === undefined) ||
    (value['end'] !== undefined && end === undefined)
  )
    return [];
  return [
    { param, kind: 'date', low: start?.low ?? DATE_LOW_MIN, high: end?.high ?? DATE_HIGH_MAX },
  ];
}

function quantityRows(param: string, value: JsonValue): QuantityRow[] {
  if (!isObject(value) || typeof value['value'] !== 'number') return [];
  const row: QuantityRow = {
    param,
    kind: 'quantity',
    value: value['value'],
    system: stringOrNull(value['system']),
    code: stringOrNull(value['code']),
    unit: stringOrNull(value['unit']),
  };
  return [row];
}

/** A Reference's reference, when it names a type in `target` (or any type, or none, without a target list). */
function referenceRows(
  param: string,
  value: JsonValue,
  target: readonly string[] | undefined,
): ReferenceRow[] {
  if (!isObject(value) || typeof value['reference'] !== 'string') return [];
  const normalised = normaliseReference(value['reference']);
  if (target !== undefined && (normalised.type === null || !target.includes(normalised.type)))
    return [];
  return [{ param, kind: 'reference', ...normalised }];
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
