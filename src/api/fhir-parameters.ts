/**
 * FHIR R4 Parameters (hl7.org/fhir/R4/parameters.html) as operations here take and answer them:
 * each parameter named once, with one value[x]. A malformed one is a 400 naming it.
 */
import { FhirError } from '../fhir/index.js';
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';

/** The value[x] types operations here use. */
export type ValueType =
  'valueCode' | 'valueString' | 'valueInteger' | 'valueBoolean' | 'valueInstant';

/** The parameters of `resource` (a Parameters) by name; a 400 for a malformed list or a name given twice. */
export function parametersOf(resource: JsonObject): ReadonlyMap<string, JsonObject> {
  const list = resource['parameter'] ?? [];
  if (!Array.isArray(list))
    throw FhirError.of(400, 'structure', 'Parameters.parameter must be a list', [
      'Parameters.parameter',
    ]);
  const byName = new Map<string, JsonObject>();
  for (const [index, part] of list.entries()) {
    const name = isObject(part) ? part['name'] : undefined;
    if (typeof name !== 'string')
      throw FhirError.of(400, 'structure', 'every parameter needs a name', [
        `Parameters.parameter[${index}]`,
      ]);
    if (byName.has(name))
      throw FhirError.of(400, 'invalid', `parameter ${name} is given more than once`, [
        `Parameters.parameter[${index}]`,
      ]);
    byName.set(name, part as JsonObject);
  }
  return byName;
}

/** The `type` value of parameter `name`, or undefined when it is absent; a 400 naming it when it has another value[x]. */
export function valueOf(
  parameters: ReadonlyMap<string, JsonObject>,
  name: string,
  type: ValueType,
): JsonValue | undefined {
  const part = parameters.get(name);
  if (part === undefined) return undefined;
  const value = part[type];
  if (value === undefined) throw badParameter(name, `must be a ${type}`);
  return value;
}

/** A 400 saying what parameter `name` must be. */
export function badParameter(name: string, rule: string): FhirError {
  return FhirError.of(400, 'invalid', `parameter ${name} ${rule}`, [
    `Parameters.parameter.where(name='${name}')`,
  ]);
}

/** A Parameters resource of `values`, each [name, value[x] type, value]. */
export function parametersResource(
  values: readonly (readonly [string, ValueType, JsonValue])[],
): JsonObject {
  return {
    resourceType: 'Parameters',
    parameter: values.map(([name, type, value]) => ({ name, [type]: value })),
  };
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
