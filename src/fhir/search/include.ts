/**
 * _include and _revinclude (hl7.org/fhir/R4/search.html#include): which further resources a
 * search returns beside its matches. _include follows a reference parameter of the matches
 * out to its targets; _revinclude finds the resources whose reference parameter points in at
 * the matches. Both name the parameter as [type]:[param], optionally :[target type], or
 * [type]:* for every reference parameter of the type.
 */
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { rowsOf } from './extract.js';
import { normaliseReference } from './normalise.js';
import {
  searchParameter,
  searchParametersOf,
  type SearchParameterDefinition,
} from './parameters.js';
import type { SearchIndex } from './search-index.js';

/** One parsed _include or _revinclude: from `sourceType` via `param`, to `targetType` only when given. */
export interface IncludeParameter {
  readonly sourceType: string;
  readonly param: string;
  readonly definition: SearchParameterDefinition;
  readonly targetType: string | undefined;
}

/**
 * The parameters `value` names ('Observation:subject', 'Observation:subject:Patient',
 * 'Observation:*'). Throws FhirError 400: 'value' when it is not of that form, 'not-supported'
 * when the parameter is not a reference parameter indexed for the type.
 */
export function parseInclude(value: string): IncludeParameter[] {
  const [sourceType, param, targetType, ...rest] = value.split(':');
  if (
    sourceType === undefined ||
    param === undefined ||
    rest.length > 0 ||
    !/^[A-Z][A-Za-z]+$/.test(sourceType)
  ) {
    throw FhirError.of(
      400,
      'value',
      '_include and _revinclude take [type]:[parameter][:[target type]]',
    );
  }
  if (param === '*')
    return referenceParametersOf(sourceType).map(([name, definition]) => ({
      sourceType,
      param: name,
      definition,
      targetType,
    }));
  const definition = searchParameter(sourceType, param);
  if (definition?.kind !== 'reference')
    throw FhirError.of(
      400,
      'not-supported',
      `${sourceType} has no reference search parameter '${param}'`,
    );
  return [{ sourceType, param, definition, targetType }];
}

/**
 * The references ('Type/id', each once, in first-seen order) that `include` values make a
 * search of `type` add, read from the matched `resources`. An include whose source type is
 * not `type` adds nothing (it could only apply under :iterate); references that name no
 * Type/id (urn:uuid:…, conditional references) are not followed. Throws as parseInclude().
 */
export function includeTargets(
  type: string,
  resources: readonly JsonObject[],
  include: readonly string[],
): string[] {
  const targets = new Set<string>();
  for (const parameter of include.flatMap(parseInclude)) {
    if (parameter.sourceType !== type) continue;
    for (const resource of resources) {
      for (const row of rowsOf(parameter.param, parameter.definition, resource)) {
        if (
          row.kind === 'reference' &&
          row.type !== null &&
          (parameter.targetType ?? row.type) === row.type
        )
          targets.add(row.reference);
      }
    }
  }
  return [...targets];
}

/**
 * The references ('Type/id', each once, in the order of `ids`) that `include` values make a
 * search of `type` add for its matches `ids`, read from the index's reference rows (so no
 * match needs decrypting before the search is logged). Same rules and throws as includeTargets().
 */
export function includeReferences(
  index: SearchIndex,
  type: string,
  ids: readonly string[],
  include: readonly string[],
): string[] {
  const targets = new Set<string>();
  for (const parameter of include.flatMap(parseInclude)) {
    if (parameter.sourceType !== type) continue;
    for (const reference of index.referencesFrom(type, parameter.param, ids)) {
      if (
        parameter.targetType === undefined ||
        normaliseReference(reference).type === parameter.targetType
      )
        targets.add(reference);
    }
  }
  return [...targets];
}

/**
 * Ids of the resources a `revinclude` value ('Observation:subject') adds for the matches
 * `targetReferences` ('Patient/123'), sorted; they are all of the value's source type. These
 * are index candidates: the caller filters them by consent and then applies REVINCLUDE_IDS_MAX,
 * so the bound never depends on what the caller may not read. Throws as parseInclude().
 */
export function searchRevinclude(
  index: SearchIndex,
  revinclude: string,
  targetReferences: readonly string[],
): string[] {
  const ids = new Set<string>();
  for (const parameter of parseInclude(revinclude)) {
    const wanted = targetReferences.filter(
      (reference) =>
        parameter.targetType === undefined ||
        normaliseReference(reference).type === parameter.targetType,
    );
    for (const id of index.idsReferencing(
      parameter.sourceType,
      parameter.param,
      wanted.map((reference) => normaliseReference(reference).reference),
    ))
      ids.add(id);
  }
  return [...ids].sort();
}

function referenceParametersOf(type: string): [string, SearchParameterDefinition][] {
  return searchParametersOf(type).filter(([, definition]) => definition.kind === 'reference');
}
