/**
 * Resolving a search's chained and `_has` parameters (search/chain.ts) to filters, before the
 * index is asked: each link resolves only to resources the caller may read, decided without
 * logging (nothing is released by it), so no answer depends on what the caller cannot read.
 */
import { FhirError } from './outcome.js';
import {
  idsFilter,
  normaliseReference,
  referencesFilter,
  searchLinkOf,
  type Chain,
  type HasClause,
  type SqlPart,
} from './search/index.js';
import { SEARCH_CHAIN_TARGETS_MAX } from '../ledger/index.js';

/** What link resolution needs of the searcher. */
export interface LinkHost {
  /** References ('Type/id') of the `type` resources matching `query` the caller may read, at most `limit`. */
  readable(type: string, query: URLSearchParams, limit: number): string[];
  /** The references a reference parameter of the `type` resources `ids` holds. */
  referencesFrom(type: string, param: string, ids: readonly string[]): string[];
}

/** `params` without its links (`plain`), and the filters they resolve to (`links`). */
export function resolveLinks(
  type: string,
  params: URLSearchParams,
  host: LinkHost,
): { plain: URLSearchParams; links: SqlPart[] } {
  const plain = new URLSearchParams();
  const links: SqlPart[] = [];
  for (const [key, value] of params) {
    const link = searchLinkOf(type, key);
    if (link === undefined) plain.append(key, value);
    else if (link.kind === 'chain') links.push(chainFilter(type, link, value, host));
    else links.push(hasFilter(type, link, value, host));
  }
  return { plain, links };
}

function chainFilter(type: string, chain: Chain, value: string, host: LinkHost): SqlPart {
  const targets = chain.targets.flatMap((target) => readable(host, target, chain.inner, value));
  return referencesFilter(type, chain.reference, targets);
}

function hasFilter(type: string, clause: HasClause, value: string, host: LinkHost): SqlPart {
  const sources = readable(host, clause.source, clause.inner, value).map(
    (reference) => normaliseReference(reference).id!,
  );
  const ids = host
    .referencesFrom(clause.source, clause.reference, sources)
    .map(normaliseReference)
    .filter((target) => target.type === type && target.id !== null)
    .map((target) => target.id!);
  return idsFilter(ids);
}

function readable(host: LinkHost, type: string, parameter: string, value: string): string[] {
  const found = host.readable(
    type,
    new URLSearchParams([[parameter, value]]),
    SEARCH_CHAIN_TARGETS_MAX + 1,
  );
  if (found.length > SEARCH_CHAIN_TARGETS_MAX)
    throw FhirError.of(
      400,
      'too-costly',
      `a chained or _has parameter may match at most ${SEARCH_CHAIN_TARGETS_MAX} resources; narrow it`,
    );
  return found;
}
