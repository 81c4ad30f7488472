/**
 * Checks of one Bundle.entry of a batch or transaction (R4 bundle.html, http.html#transaction):
 * request.method and request.url, and the resource a POST or PUT carries. Diagnostics name
 * elements and rules, never values.
 */
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { isResourceTypeName } from '../patient-of.js';
import type { PlannedEntry, PlannedMethod } from './types.js';

/** A checked entry: its plan before ids are assigned and references rewritten, and its fullUrl. */
export interface CheckedEntry extends PlannedEntry {
  readonly fullUrl?: string;
}

/** The R4 id datatype. */
export const R4_ID = /^[A-Za-z0-9.-]{1,64}$/;
const PLANNED_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE'];
const UNSUPPORTED_METHODS: readonly string[] = ['HEAD', 'PATCH'];

/** Checks entry `index`, throwing a 400 FhirError whose expression points into Bundle.entry[index]. */
export function checkEntry(entry: unknown, index: number): CheckedEntry {
  const at = `Bundle.entry[${index}]`;
  if (!isObject(entry)) throw invalid('structure', `${at} must be an object`, at);
  const fullUrl = optionalString(entry, 'fullUrl', at);
  const request = entry['request'];
  if (!isObject(request))
    throw invalid(
      'required',
      `${at}.request is required in a batch or transaction`,
      `${at}.request`,
    );
  const method = checkMethod(request['method'], `${at}.request.method`);
  const url = request['url'];
  if (typeof url !== 'string' || url === '')
    throw invalid('required', `${at}.request.url is required`, `${at}.request.url`);
  const target = checkUrl(method, url, `${at}.request.url`);
  const ifNoneExist = optionalString(request, 'ifNoneExist', `${at}.request`);
  const ifMatch = optionalString(request, 'ifMatch', `${at}.request`);
  if (ifNoneExist !== undefined && method !== 'POST')
    throw invalid(
      'value',
      `${at}.request.ifNoneExist is only for POST (conditional create)`,
      `${at}.request.ifNoneExist`,
    );
  if (ifMatch !== undefined && method !== 'PUT' && method !== 'DELETE')
    throw invalid(
      'value',
      `${at}.request.ifMatch is only for PUT and DELETE`,
      `${at}.request.ifMatch`,
    );
  const resource =
    method === 'POST' || method === 'PUT'
      ? checkResource(entry['resource'], method, target, `${at}.resource`)
      : undefined;
  return {
    index,
    method,
    type: target.type,
    url,
    ...(target.id === undefined ? {} : { id: target.id }),
    ...(resource === undefined ? {} : { resource: structuredClone(resource) }),
    ...(ifNoneExist === undefined ? {} : { ifNoneExist }),
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(fullUrl === undefined ? {} : { fullUrl }),
  };
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkMethod(method: unknown, at: string): PlannedMethod {
  if (method === undefined) throw invalid('required', `${at} is required`, at);
  if (typeof method === 'string' && UNSUPPORTED_METHODS.includes(method)) {
    throw FhirError.of(
      400,
      'not-supported',
      `${at}: ${method} is not supported in a batch or transaction; use GET, POST, PUT or DELETE`,
      [at],
    );
  }
  if (typeof method !== 'string' || !PLANNED_METHODS.includes(method))
    throw invalid('value', `${at} must be an R4 HTTPVerb code`, at);
  return method as PlannedMethod;
}

/** request.url split into the type, the id (when it names one instance) and the query. */
interface UrlTarget {
  type: string;
  id?: string;
  query?: string;
}

/**
 * Parses request.url, relative to the service base: POST 'Type'; PUT and DELETE 'Type/id' (their
 * conditional forms, 'Type?search', are not supported); GET 'Type', 'Type?search', 'Type/id' and below.
 */
function checkUrl(method: PlannedMethod, url: string, at: string): UrlTarget {
  const queryStart = url.indexOf('?');
  const segments = (queryStart < 0 ? url : url.slice(0, queryStart)).split('/');
  const query = queryStart < 0 ? undefined : url.slice(queryStart + 1);
  const type = segments[0]!;
  if (!isResourceTypeName(type))
    throw FhirError.of(
      400,
      'not-supported',
      `${at} must be relative to the service base and start with an R4 resource type`,
      [at],
    );
  const id = segments[1];
  if (id !== undefined && !R4_ID.test(id) && method !== 'GET')
    throw invalid('value', `${at}: the id must be an R4 id (1-64 of A-Z a-z 0-9 - .)`, at);
  const instance = segments.length === 2 && query === undefined;
  const conditional = segments.length === 1 && query !== undefined && query !== '';
  if (method === 'POST' && (segments.length !== 1 || query !== undefined))
    throw invalid('value', `${at}: a POST (create) url is [type]`, at);
  if ((method === 'PUT' || method === 'DELETE') && conditional) {
    throw FhirError.of(
      400,
      'not-supported',
      `${at}: conditional ${method === 'PUT' ? 'update' : 'delete'} is not supported; name the resource as [type]/[id]`,
      [at],
    );
  }
  if ((method === 'PUT' || method === 'DELETE') && !instance)
    throw invalid('value', `${at}: a ${method} url is [type]/[id]`, at);
  return {
    type,
    ...(id !== undefined && R4_ID.test(id) ? { id } : {}),
    ...(query === undefined ? {} : { query }),
  };
}

/** A POST or PUT resource: present, of the url's type, and for PUT [type]/[id] carrying that id (R4 http.html#update). */
function checkResource(
  resource: unknown,
  method: PlannedMethod,
  target: UrlTarget,
  at: string,
): JsonObject {
  if (resource === undefined) throw invalid('required', `${at} is required for ${method}`, at);
  if (!isObject(resource)) throw invalid('structure', `${at} must be a resource object`, at);
  if (resource['resourceType'] !== target.type)
    throw invalid(
      'value',
      `${at}.resourceType must be the type request.url names`,
      `${at}.resourceType`,
    );
  if (method === 'PUT' && target.query === undefined && resource['id'] !== target.id) {
    throw invalid('value', `${at}.id must equal the id in request.url`, `${at}.id`);
  }
  return resource;
}

function optionalString(holder: JsonObject, key: string, at: string): string | undefined {
  const value = holder[key];
  if (value !== undefined && (typeof value !== 'string' || value === ''))
    throw invalid('value', `${at}.${key} must be a non-empty string`, `${at}.${key}`);
  return value;
}

function invalid(
  code: 'structure' | 'required' | 'value',
  diagnostics: string,
  expression: string,
): FhirError {
  return FhirError.of(400, code, diagnostics, [expression]);
}
