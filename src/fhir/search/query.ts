/**
 * FHIR R4 search parameters (hl7.org/fhir/R4/search.html) compiled into one SQL WHERE clause
 * over the index tables of search-index.ts, plus the order and page. Handling is strict (R4
 * search.html#errors): an unknown parameter or modifier is a 400 not-supported naming the
 * parameter, and a malformed value a 400 naming the parameter but never echoing the value.
 *
 * Each parameter becomes one `rid IN (subquery)`, so different parameters and repeated ones
 * AND together, while comma-separated values OR together inside the subquery (search.html#combining).
 */
import { FhirError } from '../outcome.js';
import { dateRange, type DateRange } from './date-range.js';
import { foldString, isFhirId, normaliseReference } from './normalise.js';
import {
  searchParameter,
  type SearchParameterDefinition,
  type SearchParameterKind,
} from './parameters.js';
import { SEARCH_COUNT_MAX, SEARCH_VALUES_MAX } from '../../ledger/index.js';

/** _count when the request names none. */
export const SEARCH_COUNT_DEFAULT = 50;

/** Result parameters that select nothing: paging and sorting are read here, the rest are the caller's. */
const RESULT_PARAMETERS = new Set([
  '_count',
  '_offset',
  '_sort',
  '_total',
  '_include',
  '_revinclude',
  '_format',
  '_pretty',
]);
/** Prefixes for ordered types (search.html#prefix). */
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
type Prefix = (typeof PREFIXES)[number];
const MODIFIERS: Readonly<Record<SearchParameterKind, readonly string[]>> = {
  token: ['missing', 'not', 'text'],
  string: ['missing', 'exact', 'contains'],
  date: ['missing'],
  quantity: ['missing'],
  reference: ['missing'],
};
/** The index table holding each type's rows. */
export const VALUE_TABLES: Readonly<Record<SearchParameterKind, string>> = {
  token: 'token_value',
  string: 'string_value',
  date: 'date_value',
  quantity: 'quantity_value',
  reference: 'reference_value',
};
const DAY_MS = 86_400_000;

/**
 * The key rows of parameter `name` of `type` carry in the index: 'Observation.date'. Keys name
 * the type so that one type's values never widen another's lookups (every type has _lastUpdated).
 */
export function parameterKey(type: string, name: string): string {
  return `${type}.${name}`;
}

/** A value SQLite binds. */
export type SqlValue = string | number | null;

/** SQL with its bound arguments, in order. */
export interface SqlPart {
  readonly sql: string;
  readonly args: readonly SqlValue[];
}

/** A compiled search: the filter on `r` (a row of table resource), the order, and the page. */
export interface CompiledSearch {
  readonly where: SqlPart;
  readonly orderBy: SqlPart;
  readonly count: number;
  readonly offset: number;
}

/** What a search's `_sort` makes of its order, before anything is compiled. */
export interface SortOrder {
  /** True when the order is one of the resource table's own indexes (_lastUpdated, _id): matches can be found by walking it. */
  readonly indexOrdered: boolean;
  /** True when the order is `_sort=_id` alone, the order a keyset page (idAfter) continues. */
  readonly idOrdered: boolean;
}

export function sortOrderOf(params: URLSearchParams): SortOrder {
  const keys = sortKeysOf(params.getAll('_sort'));
  return {
    indexOrdered: keys.every((key) => ['_lastUpdated', '_id'].includes(key.replace(/^-/, ''))),
    idOrdered: keys.length === 1 && keys[0] === '_id',
  };
}

/**
 * How each parameter's filter reads its value table: as one list of every matching resource
 * (the default, best when few match), or correlated, probing the one resource at hand by rid
 * (for a walk in result order that stops at the page, best when many match).
 */
export type FilterForm = 'list' | 'correlated';

/**
 * Compiles `params` for a search of `type`, ANDed with `links` (chains and _has resolved by the
 * caller, chain.ts). `nowMs` is the present, which the 'ap' date prefix measures from. Throws
 * FhirError 400: 'not-supported' for an unknown parameter, modifier or sort key; 'value' for a
 * malformed value; 'too-costly' past SEARCH_VALUES_MAX values.
 */
export function compileSearch(
  type: string,
  params: URLSearchParams,
  nowMs: number,
  links: readonly SqlPart[] = [],
  form: FilterForm = 'list',
): CompiledSearch {
  const filters: SqlPart[] = [{ sql: 'r.type = ?', args: [type] }, ...links];
  let valueCount = 0;
  for (const [key, value] of params) {
    const [name, modifier] = splitKey(key);
    if (RESULT_PARAMETERS.has(name)) continue;
    const definition = searchParameter(type, name);
    if (definition === undefined)
      throw FhirError.of(400, 'not-supported', `unknown search parameter '${name}' for ${type}`);
    checkModifier(name, definition, modifier);
    if (value === '') continue;
    const values = splitEscaped(value, ',');
    valueCount += values.length;
    if (valueCount > SEARCH_VALUES_MAX)
      throw FhirError.of(
        400,
        'too-costly',
        `a search may test at most ${SEARCH_VALUES_MAX} values`,
      );
    filters.push(
      parameterFilter({
        name,
        key: parameterKey(type, name),
        definition,
        modifier,
        values,
        nowMs,
        form,
      }),
    );
  }
  return {
    where: joinParts(filters, ' AND '),
    orderBy: compileSort(type, params.getAll('_sort')),
    ...searchPage(params),
  };
}

/** One parameter of a search: its name, definition, modifier and comma-separated values. */
interface Criterion {
  readonly name: string;
  readonly key: string;
  readonly definition: SearchParameterDefinition;
  readonly modifier: string | undefined;
  readonly values: readonly string[];
  readonly nowMs: number;
  readonly form: FilterForm;
}

function splitKey(key: string): [string, string | undefined] {
  const colon = key.indexOf(':');
  return colon < 0 ? [key, undefined] : [key.slice(0, colon), key.slice(colon + 1)];
}

function checkModifier(
  name: string,
  definition: SearchParameterDefinition,
  modifier: string | undefined,
): void {
  if (modifier === undefined || MODIFIERS[definition.kind].includes(modifier)) return;
  if (definition.kind === 'reference' && definition.target?.includes(modifier) === true) return;
  throw FhirError.of(
    400,
    'not-supported',
    `modifier ':${modifier}' is not supported on search parameter '${name}'`,
  );
}

/**
 * The filter for one parameter: `r.rid IN (rows of this parameter matching any value)`. Token
 * :not negates it, so it excludes every resource with a value matching any of the values and
 * keeps those with no value at all (search.html#modifiers).
 */
function parameterFilter(criterion: Criterion): SqlPart {
  const { name, key, definition, modifier, values } = criterion;
  const rows = rowsOf(definition.kind, criterion.form);
  if (modifier === 'missing') return missingFilter(name, key, rows, values);
  const matches = joinParts(
    values.map((value) => parenthesised(valueMatch(criterion, value))),
    ' OR ',
  );
  const negate = modifier === 'not' ? 'NOT ' : '';
  return {
    sql: `r.rid ${negate}IN (SELECT rid FROM ${rows}param = ? AND (${matches.sql}))`,
    args: [key, ...matches.args],
  };
}

/**
 * A filter's value table and the start of its WHERE: all rows, or, correlated, those of the
 * resource at hand through the (rid, param) index (without the hint SQLite prefers the value
 * index and reads every matching row for each resource).
 */
function rowsOf(kind: SearchParameterKind, form: FilterForm): string {
  const table = VALUE_TABLES[kind];
  return form === 'list'
    ? `${table} WHERE `
    : `${table} INDEXED BY ${kind}_rid WHERE rid = r.rid AND `;
}

/** :missing=true finds resources with no value for the parameter, :missing=false those with one. */
function missingFilter(
  name: string,
  key: string,
  rows: string,
  values: readonly string[],
): SqlPart {
  if (values.length !== 1 || (values[0] !== 'true' && values[0] !== 'false'))
    throw invalidValue(name, ':missing takes true or false');
  return {
    sql: `r.rid ${values[0] === 'true' ? 'NOT ' : ''}IN (SELECT rid FROM ${rows}param = ?)`,
    args: [key],
  };
}

function valueMatch(criterion: Criterion, value: string): SqlPart {
  switch (criterion.definition.kind) {
    case 'token':
      return criterion.modifier === 'text'
        ? prefixMatch('text', foldString(unescape(value)))
        : tokenMatch(criterion.name, value);
    case 'string':
      return stringMatch(criterion.modifier, unescape(value));
    case 'date':
      return dateMatch(criterion.name, value, criterion.nowMs);
    case 'quantity':
      return quantityMatch(criterion.name, value);
    case 'reference':
      return referenceMatch(criterion.modifier, unescape(value));
  }
}

/** [system]|[code], |[code] (no system), [system]| (any code) or [code] (any system): search.html#token. */
function tokenMatch(name: string, value: string): SqlPart {
  const parts = splitEscaped(value, '|').map(unescape);
  if (parts.length === 1) return { sql: 'code = ?', args: [parts[0]!] };
  const [system, code] = parts;
  if (parts.length !== 2 || (system === '' && code === ''))
    throw invalidValue(name, 'a token is [system]|[code]');
  if (system === '') return { sql: 'system IS NULL AND code = ?', args: [code!] };
  if (code === '') return { sql: 'system = ? AND code IS NOT NULL', args: [system!] };
  return { sql: 'system = ? AND code = ?', args: [system!, code!] };
}

/** Default: starts with, folded; :contains anywhere, folded; :exact the whole string as written. */
function stringMatch(modifier: string | undefined, value: string): SqlPart {
  const folded = foldString(value);
  if (modifier === 'exact') return { sql: 'value = ? AND exact = ?', args: [folded, value] };
  if (modifier === 'contains') return { sql: 'instr(value, ?) > 0', args: [folded] };
  return prefixMatch('value', folded);
}

/** `column` starts with `prefix`, as a range so the (param, column) index serves it. */
function prefixMatch(column: string, prefix: string): SqlPart {
  return { sql: `${column} >= ? AND ${column} < ?`, args: [prefix, `${prefix}\u{10FFFF}`] };
}

/**
 * Date prefixes over the search value's range [sl, sh) and each row's [low, high), as in R4
 * search.html#prefix: eq contains; ne does not contain; gt/lt overlap the range above/below;
 * ge/le are gt/lt or eq; sa/eb lie wholly above/below. 'ap' overlaps the search range widened
 * on each side by 10% of the distance from now to its nearer end (the spec's recommendation),
 * at least one day, so 'ap' on a recent day still tolerates time-zone slips.
 */
function dateMatch(name: string, value: string, nowMs: number): SqlPart {
  const [prefix, written] = splitPrefix(value);
  // An unescaped '+' in a query string decodes to a space; a zone is the only place it can be.
  const range = dateRange(written.replace(/ (\d{2}:\d{2})$/, '+$1'));
  if (range === undefined)
    throw invalidValue(name, 'a date is [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][zone]]]]');
  return rangeMatch(prefix, range, approximateDateMs(range, nowMs));
}

function approximateDateMs(range: DateRange, nowMs: number): number {
  const distance =
    nowMs < range.low ? range.low - nowMs : nowMs >= range.high ? nowMs - range.high : 0;
  return Math.max(DAY_MS, Math.round(distance / 10));
}

function rangeMatch(prefix: Prefix, { low, high }: DateRange, approximateMs: number): SqlPart {
  const contained = 'low >= ? AND high <= ?';
  switch (prefix) {
    case 'eq':
      return { sql: contained, args: [low, high] };
    case 'ne':
      return { sql: `NOT (${contained})`, args: [low, high] };
    case 'gt':
      return { sql: 'high > ?', args: [high] };
    case 'lt':
      return { sql: 'low < ?', args: [low] };
    case 'ge':
      return { sql: `(high > ? OR (${contained}))`, args: [high, low, high] };
    case 'le':
      return { sql: `(low < ? OR (${contained}))`, args: [low, low, high] };
    case 'sa':
      return { sql: 'low >= ?', args: [high] };
    case 'eb':
      return { sql: 'high <= ?', args: [low] };
    case 'ap':
      return { sql: 'low < ? AND high > ?', args: [high + approximateMs, low - approximateMs] };
  }
}

/**
 * [prefix][number], or [prefix][number]|[system]|[code], or [prefix][number]||[code] where the
 * code matches the quantity's code or its unit (search.html#quantity). The number's precision
 * sets eq's range: 5.4 is [5.35, 5.45). gt/lt/ge/le compare against the number itself, as
 * "the range above 2.0" starts at exactly 2.0; sa/eb lie wholly outside the range; ap is within
 * 10% of the number (or the precision, if wider).
 */
function quantityMatch(name: string, value: string): SqlPart {
  const [prefix, rest] = splitPrefix(value);
  const parts = splitEscaped(rest, '|').map(unescape);
  const number = parts[0]!;
  if (
    !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(number) ||
    (parts.length !== 1 && parts.length !== 3)
  ) {
    throw invalidValue(name, 'a quantity is [prefix][number][|[system]|[code]]');
  }
  const compare = numberMatch(prefix, Number(number), halfPrecision(number));
  return parts.length === 1
    ? compare
    : joinParts([compare, unitMatch(parts[1]!, parts[2]!)], ' AND ');
}

/** Half a unit in the last significant place of `number` as written: 0.05 for '5.4', 0.5 for '100'. */
function halfPrecision(number: string): number {
  const [mantissa, exponent] = number.toLowerCase().split('e');
  const decimals = mantissa!.includes('.') ? mantissa!.length - mantissa!.indexOf('.') - 1 : 0;
  return 0.5 * 10 ** (Number(exponent ?? '0') - decimals);
}

function numberMatch(prefix: Prefix, value: number, half: number): SqlPart {
  const within = 'value >= ? AND value < ?';
  const [low, high] = [decimal(value - half), decimal(value + half)];
  const approximate = Math.max(Math.abs(value) / 10, half);
  switch (prefix) {
    case 'eq':
      return { sql: within, args: [low, high] };
    case 'ne':
      return { sql: `NOT (${within})`, args: [low, high] };
    case 'gt':
      return { sql: 'value > ?', args: [value] };
    case 'lt':
      return { sql: 'value < ?', args: [value] };
    case 'ge':
      return { sql: 'value >= ?', args: [value] };
    case 'le':
      return { sql: 'value <= ?', args: [value] };
    case 'sa':
      return { sql: 'value >= ?', args: [high] };
    case 'eb':
      return { sql: 'value < ?', args: [low] };
    case 'ap':
      return {
        sql: 'value >= ? AND value <= ?',
        args: [decimal(value - approximate), decimal(value + approximate)],
      };
  }
}

/** `value` rounded to 15 significant digits, so 5.4 - 0.05 is 5.35 as written, not 5.3500000000000005. */
function decimal(value: number): number {
  return Number(value.toPrecision(15));
}

function unitMatch(system: string, code: string): SqlPart {
  if (system !== '' && code !== '') return { sql: 'system = ? AND code = ?', args: [system, code] };
  if (system !== '') return { sql: 'system = ?', args: [system] };
  if (code !== '') return { sql: '(code = ? OR unit = ?)', args: [code, code] };
  return { sql: '1', args: [] };
}

/**
 * [Type]/[id], an absolute URL ending in one, a bare [id] (any type, or the :[Type] modifier's),
 * or any other literal reference compared as written (search.html#reference).
 */
function referenceMatch(typeModifier: string | undefined, value: string): SqlPart {
  const normalised = normaliseReference(value);
  if (normalised.type !== null) return { sql: 'reference = ?', args: [normalised.reference] };
  if (!isFhirId(value)) return { sql: 'reference = ?', args: [value] };
  if (typeModifier !== undefined)
    return { sql: 'reference = ?', args: [`${typeModifier}/${value}`] };
  return { sql: 'id = ?', args: [value] };
}

/** The prefix of an ordered value (eq when none) and the rest. */
function splitPrefix(value: string): [Prefix, string] {
  const head = value.slice(0, 2) as Prefix;
  return PREFIXES.includes(head) ? [head, value.slice(2)] : ['eq', value];
}

/**
 * The ORDER BY for `_sort` values (search.html#sort): comma-separated keys, each _id,
 * _lastUpdated, or a date or string parameter of `type`, '-' first for descending. A parameter
 * with several values sorts by its lowest ascending and its highest descending; resources
 * without one come last. With no _sort: _lastUpdated descending. _id breaks every tie.
 */
/** The filter of a keyset page: resources whose id sorts after `id` (for a search sorted by `_id`). */
export function idAfter(id: string): SqlPart {
  return { sql: 'r.id > ?', args: [id] };
}

/** The sort keys of `_sort` values, in order; the default, newest first, when there are none. */
function sortKeysOf(sortValues: readonly string[]): string[] {
  const keys = sortValues.flatMap((value) => value.split(',')).filter((key) => key !== '');
  return keys.length === 0 ? ['-_lastUpdated'] : keys;
}

export function compileSort(type: string, sortValues: readonly string[]): SqlPart {
  const parts = sortKeysOf(sortValues).map((key) => sortKey(type, key));
  return joinParts([...parts, { sql: 'r.id ASC', args: [] }], ', ');
}

function sortKey(type: string, key: string): SqlPart {
  const descending = key.startsWith('-');
  const name = descending ? key.slice(1) : key;
  const direction = descending ? 'DESC' : 'ASC';
  if (name === '_id') return { sql: `r.id ${direction}`, args: [] };
  if (name === '_lastUpdated') return { sql: `r.last_updated ${direction}`, args: [] };
  const definition = searchParameter(type, name);
  if (definition === undefined)
    throw FhirError.of(400, 'not-supported', `unknown _sort parameter '${name}' for ${type}`);
  if (definition.kind !== 'date' && definition.kind !== 'string') {
    throw FhirError.of(
      400,
      'not-supported',
      `_sort by ${definition.kind} parameter '${name}' is not supported`,
    );
  }
  const [column, aggregate] =
    definition.kind === 'date'
      ? descending
        ? ['high', 'MAX']
        : ['low', 'MIN']
      : ['value', descending ? 'MAX' : 'MIN'];
  const table = VALUE_TABLES[definition.kind];
  // Without the hint SQLite prefers the (param, value) index for MIN/MAX and scans every row of the parameter per resource.
  const lookup = `${table} v INDEXED BY ${definition.kind}_rid WHERE v.rid = r.rid AND v.param = ?`;
  return {
    sql: `(SELECT ${aggregate}(${column}) FROM ${lookup}) ${direction} NULLS LAST`,
    args: [parameterKey(type, name)],
  };
}

/** _count (default SEARCH_COUNT_DEFAULT, at most SEARCH_COUNT_MAX) and _offset, the index of the page's first match. */
export function searchPage(params: URLSearchParams): { count: number; offset: number } {
  const count = pageNumber(params, '_count', SEARCH_COUNT_DEFAULT);
  return { count: Math.min(count, SEARCH_COUNT_MAX), offset: pageNumber(params, '_offset', 0) };
}

function pageNumber(params: URLSearchParams, name: string, fallback: number): number {
  const values = params.getAll(name).filter((value) => value !== '');
  if (values.length === 0) return fallback;
  if (values.length > 1 || !/^[0-9]{1,9}$/.test(values[0]!))
    throw FhirError.of(400, 'value', `${name} must be one non-negative integer`);
  return Number(values[0]);
}

/**
 * `text` split at each `separator` not escaped by a backslash (search.html#escaping); escapes
 * are kept, for unescape() once the last split is done.
 */
export function splitEscaped(text: string, separator: ',' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length) {
      current += char + text[index + 1]!;
      index++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  return [...parts, current];
}

/** `text` with its search escapes (\, \| \$ \\) resolved. */
export function unescape(text: string): string {
  return text.replace(/\\([,|$\\])/g, '$1');
}

function parenthesised(part: SqlPart): SqlPart {
  return { sql: `(${part.sql})`, args: part.args };
}

function joinParts(parts: readonly SqlPart[], separator: string): SqlPart {
  return {
    sql: parts.map((part) => part.sql).join(separator),
    args: parts.flatMap((part) => part.args),
  };
}

function invalidValue(name: string, rule: string): FhirError {
  return FhirError.of(400, 'value', `search parameter '${name}' has a malformed value: ${rule}`);
}
