/**
 * FHIRPath Patch (R4 fhirpatch.html): a Parameters resource of `operation`s (add, insert, delete,
 * replace, move), each naming its target with a FHIRPath `path`. Paths here are the simple form
 * clients send, `Type.element[n].element…`; a path with functions (`where(…)`, `first()`) is a
 * 422 not-supported. Each operation becomes the equivalent JSON Patch operation on the resource
 * as the operations before it left it, so both patch formats share one engine (json-patch.ts).
 */
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
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
  const pointer = pointerOf(stringPart(parts, 'path', at), type, at);
  switch (kind) {
    case 'replace':
      return [{ op: 'replace', path: pointer, value: valueOf(parts, at) }];
    case 'delete':
      // Deleting what is not there is no error (fhirpatch.html#delete).
      return present(resource, pointer) ? [{ op: 'remove', path: pointer }] : [];
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

/** `Observation.code.coding[0]` as `/code/coding/0`. */
function pointerOf(path: string, type: string, at: string): string {
  if (!SIMPLE_PATH.test(path))
    throw FhirError.of(
      422,
      'not-supported',
      'only paths of the form Type.element[n].element are supported',
      [`${at}.part`],
    );
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
