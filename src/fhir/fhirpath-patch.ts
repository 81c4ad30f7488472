/**
 * FHIRPath Patch (R4 fhirpatch.html): a Parameters resource of `operation`s (add, insert, delete,
 * replace, move), each naming its target with a FHIRPath `path`. The simple form,
 * `Type.element[n].element`, is read directly; any other path (`where(…)`, `first()`, …) is
 * evaluated with @medplum/core's FHIRPath engine, and its one result located in the resource:
 * an element by identity, a primitive as its parent's named element. Each operation becomes the
 * equivalent JSON Patch operation on the resource as the operations before it left it, so both
 * patch formats share one engine (json-patch.ts).
 */
import { evalFhirPath } from '@medplum/core';
import type { JsonValue } from '../crypto/index.js';
import {
  FHIRPATH_PATCH_PATH_MAX,
  PATCH_OPERATION_COUNT_MAX,
  type JsonObject,
} from '../ledger/index.js';
import { FhirError } from './outcome.js';
import { applyPatch, type PatchOperation } from './json-patch.js';

const SIMPLE_PATH = /^[A-Z][A-Za-z]+(\.[a-z][A-Za-z0-9]*(\[(0|[1-9][0-9]{0,5})\])?)*$/;

/**
 * `resource`, of `type`, with the FHIRPath Patch `parameters` applied, operation by operation:
 * each sees the resource as the operations before it left it. Throws FhirError for a malformed
 * patch, JsonPatchError when an operation does not apply.
 */
export function applyFhirPathPatch(
  parameters: JsonObject,
  type: string,
  resource: JsonObject,
): JsonValue {
  if (parameters['resourceType'] !== 'Parameters')
    throw invalid('a FHIRPath Patch is a Parameters resource', 'Parameters');
  const operations = Array.isArray(parameters['parameter']) ? parameters['parameter'] : [];
  if (operations.length === 0)
    throw invalid('a FHIRPath Patch needs at least one operation', 'Parameters.parameter');
  if (operations.length > PATCH_OPERATION_COUNT_MAX)
    throw FhirError.of(
      400,
      'too-costly',
      `a FHIRPath Patch has at most ${PATCH_OPERATION_COUNT_MAX} operations`,
      ['Parameters.parameter'],
    );
  let patched: JsonValue = resource;
  operations.forEach((operation, index) => {
    const at = `Parameters.parameter[${index}]`;
    if (!isObject(operation) || operation['name'] !== 'operation')
      throw invalid('each parameter must be an operation', at);
    if (!isObject(patched)) throw invalid('a patch must leave a resource', at);
    patched = applyPatch(patched, operationOf(partsOf(operation, at), type, patched, at));
  });
  return patched;
}

type Parts = ReadonlyMap<string, JsonObject>;

function partsOf(operation: JsonObject, at: string): Parts {
  const parts = Array.isArray(operation['part']) ? operation['part'] : [];
  const byName = new Map<string, JsonObject>();
  for (const part of parts) {
    if (!isObject(part) || typeof part['name'] !== 'string')
      throw invalid('each part needs a name', `${at}.part`);
    byName.set(part['name'], part);
  }
  return byName;
}

function operationOf(
  parts: Parts,
  type: string,
  resource: JsonObject,
  at: string,
): PatchOperation[] {
  const kind = parts.get('type')?.['valueCode'];
  const path = stringPart(parts, 'path', at);
  const target = { path, type, resource, at };
  if (kind === 'delete') {
    // Deleting what is not there is no error (fhirpatch.html#delete).
    const pointer = elementPointer(target, true);
    return pointer !== undefined && present(resource, pointer)
      ? [{ op: 'remove', path: pointer }]
      : [];
  }
  const pointer =
    kind === 'insert' || kind === 'move' ? listPointer(target) : elementPointer(target, false)!;
  switch (kind) {
    case 'replace':
      return [{ op: 'replace', path: pointer, value: valueOf(parts, at) }];
    case 'insert':
      return [
        {
          op: 'add',
          path: `${pointer}/${indexPart(parts, 'index', at)}`,
          value: valueOf(parts, at),
        },
      ];
    case 'move':
      return [
        {
          op: 'move',
          from: `${pointer}/${indexPart(parts, 'source', at)}`,
          path: `${pointer}/${indexPart(parts, 'destination', at)}`,
        },
      ];
    case 'add':
      return [addOperation(resource, pointer, stringPart(parts, 'name', at), valueOf(parts, at))];
    default:
      throw invalid('type must be add, insert, delete, replace or move', `${at}.part`);
  }
}

/** add: a new element of the object at `pointer`, appended when that element is a list. */
function addOperation(
  resource: JsonObject,
  pointer: string,
  name: string,
  value: JsonValue,
): PatchOperation {
  if (!/^[a-z][A-Za-z0-9]*$/.test(name))
    throw invalid('name must be an element name', 'Parameters.parameter.part');
  const target = `${pointer}/${name}`;
  const existing = valueAt(resource, target);
  return { op: 'add', path: Array.isArray(existing) ? `${target}/-` : target, value };
}

/** What an operation's path names: the path, in a resource of `type`, at parameter `at`. */
interface Target {
  readonly path: string;
  readonly type: string;
  readonly resource: JsonObject;
  readonly at: string;
}

/**
 * The JSON pointer of the one element `path` selects; with `optional`, undefined when it selects
 * none. More than one is a 422 (fhirpatch.html: a path must resolve to a single element).
 */
function elementPointer(target: Target, optional: boolean): string | undefined {
  // The simple form is read directly when it lands on one element; a list, or nothing (a step
  // through a list without an index, a choice element), is left to FHIRPath.
  if (SIMPLE_PATH.test(target.path)) {
    const pointer = simplePointer(target.path, target.type, target.at);
    const value = valueAt(target.resource, pointer);
    if (value !== undefined && !Array.isArray(value)) return pointer;
  }
  const found = evaluate(target);
  if (found.length === 0 && optional) return undefined;
  if (found.length !== 1)
    throw FhirError.of(
      422,
      'processing',
      `the path selects ${found.length} elements; an operation needs exactly one`,
      [`${target.at}.part`],
    );
  const pointer = isObject(found[0]) ? pointerOfObject(target.resource, found[0]) : undefined;
  return pointer ?? parentPointer(target, false);
}

/** The JSON pointer of the list `path` names (insert, move): its last step is the list's name. */
function listPointer(target: Target): string {
  if (SIMPLE_PATH.test(target.path)) return simplePointer(target.path, target.type, target.at);
  return parentPointer(target, true);
}

/**
 * A path ending in a plain `.name` or `.name[n]`: the pointer of the one element before it, then
 * the step, naming the key the resource holds (`value` as `valueQuantity`). Unless `list`, a
 * repeating element without an index is its one item (FHIRPath selected exactly one).
 */
function parentPointer(target: Target, list: boolean): string {
  const last = /^(.+)\.([a-z][A-Za-z0-9]*)(?:\[(0|[1-9][0-9]{0,5})\])?$/.exec(target.path);
  if (last === null)
    throw FhirError.of(
      422,
      'not-supported',
      'a path selecting a primitive or a list must end in .element or .element[n]',
      [`${target.at}.part`],
    );
  const parent = elementPointer({ ...target, path: last[1]! }, false)!;
  const container = valueAt(target.resource, parent);
  const key = isObject(container) ? keyOf(container, last[2]!) : last[2]!;
  if (last[3] !== undefined) return `${parent}/${key}/${last[3]}`;
  const value = isObject(container) ? container[key] : undefined;
  return !list && Array.isArray(value) && value.length === 1
    ? `${parent}/${key}/0`
    : `${parent}/${key}`;
}

/** The key of element `name` in `object`: itself, or the one choice key `name<Type>` present. */
function keyOf(object: JsonObject, name: string): string {
  if (Object.hasOwn(object, name)) return name;
  const choices = Object.keys(object).filter(
    (key) => key.startsWith(name) && /^[A-Z]/.test(key.slice(name.length)),
  );
  return choices.length === 1 ? choices[0]! : name;
}

/** What `path` selects in the resource; a path that is not FHIRPath, or names another type, is a 400. */
function evaluate(target: Target): JsonValue[] {
  if (target.path.length > FHIRPATH_PATCH_PATH_MAX)
    throw invalid(
      `a path may be at most ${FHIRPATH_PATCH_PATH_MAX} characters`,
      `${target.at}.part`,
    );
  if (!target.path.startsWith(`${target.type}.`) && target.path !== target.type)
    throw invalid(`the path must start with ${target.type}`, `${target.at}.part`);
  checkFunctions(target);
  try {
    return evalFhirPath(target.path, target.resource) as JsonValue[];
  } catch {
    throw invalid(
      'the path is not a FHIRPath expression this server evaluates',
      `${target.at}.part`,
    );
  }
}

/**
 * The FHIRPath functions a patch path may call: each costs at most a pass over what it is given.
 * Others are refused before evaluation, among them matches() and replaceMatches(), whose
 * regular expressions can take exponential time, and repeat() and descendants(): the path is
 * evaluated on the event loop. A delimited (`quoted`) identifier is refused, so none hides a call.
 */
const PATH_FUNCTIONS: ReadonlySet<string> = new Set([
  'where',
  'exists',
  'empty',
  'not',
  'first',
  'last',
  'single',
  'tail',
  'skip',
  'take',
  'count',
  'ofType',
  'is',
  'as',
  'hasValue',
  'startsWith',
  'endsWith',
  'contains',
  'lower',
  'upper',
]);

function checkFunctions(target: Target): void {
  if (target.path.includes('`'))
    throw notSupported('a path may not use delimited identifiers', target.at);
  for (const [, name] of target.path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g))
    if (!PATH_FUNCTIONS.has(name!))
      throw notSupported(
        `${name!}() is not evaluated in a patch path; these are: ${[...PATH_FUNCTIONS].join(', ')}`,
        target.at,
      );
}

function notSupported(diagnostics: string, at: string): FhirError {
  return FhirError.of(422, 'not-supported', diagnostics, [`${at}.part`]);
}

/** The JSON pointer at which `document` holds `wanted` itself (by identity), if it does. */
function pointerOfObject(document: JsonValue, wanted: JsonObject, at = ''): string | undefined {
  if (document === wanted) return at;
  if (Array.isArray(document)) {
    for (let index = 0; index < document.length; index++) {
      const found = pointerOfObject(document[index]!, wanted, `${at}/${index}`);
      if (found !== undefined) return found;
    }
  } else if (isObject(document)) {
    for (const [key, value] of Object.entries(document)) {
      const found = pointerOfObject(value, wanted, `${at}/${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** `Observation.code.coding[0]` as `/code/coding/0`. */
function simplePointer(path: string, type: string, at: string): string {
  const [head, ...steps] = path.split('.');
  if (head !== type) throw invalid(`the path must start with ${type}`, `${at}.part`);
  return steps.map((step) => `/${step.replace(/\[(\d+)\]$/, '/$1')}`).join('');
}

function valueOf(parts: Parts, at: string): JsonValue {
  const part = parts.get('value');
  const keys = part === undefined ? [] : Object.keys(part).filter((key) => key.startsWith('value'));
  if (part === undefined || keys.length !== 1)
    throw invalid('the operation needs one value[x]', `${at}.part`);
  return part[keys[0]!]!;
}

function stringPart(parts: Parts, name: string, at: string): string {
  const value = parts.get(name)?.['valueString'];
  if (typeof value !== 'string') throw invalid(`the operation needs ${name}`, `${at}.part`);
  return value;
}

function indexPart(parts: Parts, name: string, at: string): number {
  const value = parts.get(name)?.['valueInteger'];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalid(`the operation needs ${name}, a whole number`, `${at}.part`);
  return value;
}

function valueAt(document: JsonValue, pointer: string): JsonValue | undefined {
  let value: JsonValue | undefined = document;
  for (const token of pointer.split('/').slice(1)) {
    if (Array.isArray(value)) value = /^\d+$/.test(token) ? value[Number(token)] : undefined;
    else if (isObject(value) && Object.hasOwn(value, token)) value = value[token];
    else return undefined;
  }
  return value;
}

function present(document: JsonValue, pointer: string): boolean {
  return valueAt(document, pointer) !== undefined;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function invalid(diagnostics: string, expression: string): FhirError {
  return FhirError.of(400, 'invalid', diagnostics, [expression]);
}
