/**
 * FHIR R4 validation of a resource the FHIR API is about to create or update: @medplum/core's
 * StructureDefinition validation (cardinality, types, primitive formats, unknown elements,
 * FHIRPath invariants), plus the checks it lacks (element-checks.ts lists them): required
 * value-set bindings, one type per choice element, safe narrative XHTML, R4 resource types and
 * elements only, and a few R4 rules the reference validator enforces (resource ids, empty
 * arrays, absolute Coding.system and fullUrl). Validation is offline and synchronous.
 */
import { OperationOutcomeError, validateResource as medplumValidateResource } from '@medplum/core';
import { loadR4Definitions, type R4Definitions } from './definitions.js';
import { checkElements, NOT_R4_RESOURCE_TYPE, notR4Code } from './element-checks.js';
import { error, isObject, type Json, type ValidationIssue } from './issue.js';
import { fromMedplumIssues, UNKNOWN_TYPE_DIAGNOSTICS } from './medplum-issues.js';
import { RESOURCE_NESTING_DEPTH_MAX } from '../../ledger/index.js';

export type { ValidationIssue, ValidationIssueCode } from './issue.js';

/**
 * Validates `resource` (parsed JSON, not trusted to be anything) as a FHIR R4 resource, against
 * the base R4 StructureDefinitions; meta.profile is not followed. Returns every issue found,
 * in no particular order; the resource is valid when none has severity 'error'. Diagnostics
 * never quote the resource. Never throws for any input; loads the R4 definitions on its first
 * call (see loadValidator) and throws only if they are missing, a deployment error.
 */
export function validateResource(resource: unknown): ValidationIssue[] {
  const definitions = loadR4Definitions();
  const refusal = checkEnvelope(resource, definitions);
  if (refusal !== undefined) return [refusal];
  const checked = resource as Json;
  const ours = checkElements(checked, definitions);
  const nestedTypeFound = ours.some((issue) => issue.diagnostics === NOT_R4_RESOURCE_TYPE);
  const medplum = medplumIssues(checked, definitions).filter(
    (issue) => !(nestedTypeFound && issue.diagnostics === UNKNOWN_TYPE_DIAGNOSTICS),
  );
  return withoutRepeats([...medplum, ...ours]);
}

/** `issues` with each (code, expression, diagnostics) once: both checks report unknown elements. */
function withoutRepeats(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.severity, issue.code, issue.expression, issue.diagnostics]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Loads the R4 StructureDefinitions and value sets now rather than on the first
 * validateResource call, which would otherwise take one to two seconds longer.
 */
export function loadValidator(): void {
  loadR4Definitions();
}

/** The value sets of required bindings that are not checked, because they cannot be expanded offline, and why. */
export function uncheckedRequiredValueSets(): readonly {
  url: string;
  reason: string;
  elements: readonly string[];
}[] {
  return loadR4Definitions().skippedValueSets;
}

/** An issue refusing `resource` outright when it is not a JSON object of an R4 resource type, or nests too deep to check. */
function checkEnvelope(resource: unknown, definitions: R4Definitions): ValidationIssue | undefined {
  if (!isObject(resource))
    return error('structure', 'Resource', 'a resource must be a JSON object');
  const type = resource.resourceType;
  if (type === undefined) return error('required', 'Resource', 'resourceType is required');
  if (typeof type !== 'string' || !definitions.resourceTypes.has(type))
    return error(notR4Code(type), 'Resource', NOT_R4_RESOURCE_TYPE);
  if (nestingDepth(resource) > RESOURCE_NESTING_DEPTH_MAX)
    return error(
      'structure',
      type,
      `the resource nests deeper than ${RESOURCE_NESTING_DEPTH_MAX} levels`,
    );
  return undefined;
}

/** How deep objects and arrays nest in `value` (1 for a flat object), without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth);
    if (depth > RESOURCE_NESTING_DEPTH_MAX) break;
    for (const child of Array.isArray(item) ? item : Object.values(item))
      pending.push([child, depth + 1]);
  }
  return deepest;
}

function medplumIssues(resource: Json, definitions: R4Definitions): ValidationIssue[] {
  const root = resource.resourceType as string;
  try {
    // medplum returns warnings only; it throws an OperationOutcomeError when it finds an error.
    return fromMedplumIssues(
      medplumValidateResource(resource as Parameters<typeof medplumValidateResource>[0]),
      root,
      definitions.resourceTypes,
    );
  } catch (caught) {
    if (caught instanceof OperationOutcomeError && Array.isArray(caught.outcome.issue))
      return fromMedplumIssues(caught.outcome.issue, root, definitions.resourceTypes);
    // Anything else is a fault in medplum on odd input: refuse the resource, and never echo the message, which may quote it.
    return [
      error('invalid', root, 'the resource could not be checked against its StructureDefinition'),
    ];
  }
}
