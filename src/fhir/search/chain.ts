/**
 * Chained parameters and reverse chaining (R4 search.html#chaining, #has), one link deep:
 * `Observation?subject.name=peter` (or `subject:Patient.name=peter`) and
 * `Patient?_has:Observation:subject:code=1234-5`. This module reads the parameter names and
 * builds the SQL that narrows a search to resolved references or ids; which resources a link
 * may resolve to (only those the caller may read) is the searcher's to decide.
 */
import { FhirError } from '../outcome.js';
import { searchParameter } from './parameters.js';
import { parameterKey, type SqlPart } from './query.js';

/** `reference[:Type].inner`: resources whose `reference` names a target matching `inner`. */
export interface Chain {
  readonly kind: 'chain';
  readonly reference: string;
  /** The target types the chain searches, each with the inner parameter. */
  readonly targets: readonly string[];
  /** The inner parameter, with its modifier: `name`, `name:exact`. */
  readonly inner: string;
}

/** `_has:Source:reference:inner`: resources that some `Source` matching `inner` names by `reference`. */
export interface HasClause {
  readonly kind: 'has';
  readonly source: string;
  readonly reference: string;
  readonly inner: string;
}

/** The chain or `_has` clause parameter `key` of a `type` search is, or undefined for a plain parameter. */
export function searchLinkOf(type: string, key: string): Chain | HasClause | undefined {
  if (key.startsWith('_has:')) return hasClauseOf(type, key);
  const dot = key.indexOf('.');
  return dot < 0 ? undefined : chainOf(type, key.slice(0, dot), key.slice(dot + 1));
}

function chainOf(type: string, head: string, inner: string): Chain {
  const [reference, typeModifier] = head.split(':') as [string, string | undefined];
  const definition = searchParameter(type, reference);
  if (definition?.kind !== 'reference')
    throw unsupported(`'${reference}' is not a reference parameter of ${type}, so it cannot chain`);
  if (inner.includes('.') || inner.startsWith('_has:'))
    throw unsupported('a chain may have one link only');
  const innerName = inner.split(':')[0]!;
  const allowed = definition.target ?? [];
  const candidates =
    typeModifier === undefined ? allowed : allowed.filter((t) => t === typeModifier);
  const targets = candidates.filter((target) => searchParameter(target, innerName) !== undefined);
  if (targets.length === 0)
    throw unsupported(`no target of ${type}.${reference} has a search parameter '${innerName}'`);
  return { kind: 'chain', reference, targets, inner };
}

function hasClauseOf(type: string, key: string): HasClause {
  const [, source, reference, inner, ...rest] = key.split(':');
  if (source === undefined || reference === undefined || inner === undefined || rest.length > 1)
    throw FhirError.of(400, 'value', '_has takes _has:[type]:[reference parameter]:[parameter]');
  const definition = searchParameter(source, reference);
  if (definition?.kind !== 'reference' || definition.target?.includes(type) === false)
    throw unsupported(
      `${source}.${reference} is not a reference parameter that can name a ${type}`,
    );
  const innerWithModifier = rest.length === 1 ? `${inner}:${rest[0]}` : inner;
  if (inner.startsWith('_has') || searchParameter(source, inner) === undefined)
    throw unsupported(`${source} has no search parameter '${inner}' for _has`);
  return { kind: 'has', source, reference, inner: innerWithModifier };
}

/** Narrows a `type` search to resources whose `reference` parameter names one of `references`. */
export function referencesFilter(
  type: string,
  reference: string,
  references: readonly string[],
): SqlPart {
  return {
    sql: 'r.rid IN (SELECT rid FROM reference_value WHERE param = ? AND reference IN (SELECT value FROM json_each(?)))',
    args: [parameterKey(type, reference), JSON.stringify(references)],
  };
}

/** Narrows a search to the resources `ids`. */
export function idsFilter(ids: readonly string[]): SqlPart {
  return { sql: 'r.id IN (SELECT value FROM json_each(?))', args: [JSON.stringify(ids)] };
}

function unsupported(diagnostics: string): FhirError {
  return FhirError.of(400, 'not-supported', diagnostics);
}
