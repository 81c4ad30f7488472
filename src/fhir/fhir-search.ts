/**
 * FHIR search over the node-local index (never on-chain): the index proposes candidates, and
 * every candidate is then read like any read, consent-checked and logged on the ledger, so a
 * search returns only what the caller may see and every returned resource is accounted for.
 */
import type { Principal } from '../contracts/index.js';
import type { FhirRecords } from './fhir-records.js';
import { FhirError } from './outcome.js';
import { SERVED_TYPES } from './patient-of.js';
import { includeTargets, parseInclude, searchPage, searchParameter, searchRevinclude, SEARCH_COUNT_MAX, type SearchIndex } from './search/index.js';
import type { ServedVersion } from './type-handler.js';

/** Reads of one search page in flight at once. */
const READS_IN_FLIGHT_MAX = 64;

/** One page of a search: the matches the caller may see, what _include/_revinclude added, and where the next page starts. */
export interface SearchPage {
  readonly matches: readonly ServedVersion[];
  readonly included: readonly ServedVersion[];
  readonly nextOffset: number | undefined;
}

/** Search and $everything for one node. */
export class FhirSearch {
  constructor(
    private readonly records: FhirRecords,
    private readonly index: SearchIndex,
  ) {}

  /** `GET [type]?params`. Throws FhirError 400 for a parameter, modifier or include it does not support. */
  async search(principal: Principal, type: string, params: URLSearchParams, purpose: string): Promise<SearchPage> {
    const includes = params.getAll('_include');
    const revincludes = params.getAll('_revinclude');
    for (const value of [...includes, ...revincludes]) parseInclude(value);
    const found = this.index.search(type, params);
    const matches = await this.#readAll(principal, found.ids.map((id) => `${type}/${id}`), purpose);
    const included = await this.#included(principal, type, matches, includes, revincludes, purpose);
    const { count, offset } = searchPage(params);
    return { matches, included, nextOffset: offset + count < found.total ? offset + count : undefined };
  }

  /**
   * `Patient/[id]/$everything`: the Patient and every compartment resource the index holds for
   * them, each read (and logged) for `principal`, paged by `offset` and `count` over that list.
   */
  async everything(principal: Principal, patientId: string, purpose: string, offset: number, count: number): Promise<SearchPage> {
    const references = [`Patient/${patientId}`];
    for (const type of SERVED_TYPES) {
      if (type === 'Patient' || searchParameter(type, 'patient') === undefined) continue;
      const found = this.index.search(type, new URLSearchParams({ patient: `Patient/${patientId}`, _count: String(SEARCH_COUNT_MAX), _sort: '_id' }));
      references.push(...found.ids.map((id) => `${type}/${id}`));
    }
    const page = references.slice(offset, offset + count);
    const matches = await this.#readAll(principal, page, purpose);
    return { matches, included: [], nextOffset: offset + count < references.length ? offset + count : undefined };
  }

  async #included(principal: Principal, type: string, matches: readonly ServedVersion[], includes: string[], revincludes: string[], purpose: string): Promise<ServedVersion[]> {
    if (includes.length === 0 && revincludes.length === 0) return [];
    const resources = matches.map((match) => match.resource);
    const targets = includeTargets(type, resources, includes);
    const references = matches.map((match) => `${type}/${String(match.resource['id'])}`);
    for (const revinclude of revincludes) {
      const [sourceType] = revinclude.split(':');
      targets.push(...searchRevinclude(this.index, revinclude, references).map((id) => `${sourceType}/${id}`));
    }
    const seen = new Set(references);
    return this.#readAll(principal, [...new Set(targets)].filter((reference) => !seen.has(reference)), purpose);
  }

  /**
   * Reads each 'Type/id' for `principal`, in order, leaving out what they may not see or what is
   * gone. The reads run together, so their access transactions share the orderer's group commit.
   */
  async #readAll(principal: Principal, references: readonly string[], purpose: string): Promise<ServedVersion[]> {
    const read: (ServedVersion | undefined)[] = [];
    for (let start = 0; start < references.length; start += READS_IN_FLIGHT_MAX) {
      const slice = references.slice(start, start + READS_IN_FLIGHT_MAX);
      read.push(...(await Promise.all(slice.map((reference) => this.#readOne(principal, reference, purpose)))));
    }
    return read.filter((version): version is ServedVersion => version !== undefined);
  }

  async #readOne(principal: Principal, reference: string, purpose: string): Promise<ServedVersion | undefined> {
    const [type, id] = reference.split('/') as [string, string];
    try {
      return await this.records.read(principal, type, id, purpose);
    } catch (error) {
      if (error instanceof FhirError && [403, 404, 410].includes(error.status)) return undefined;
      throw error;
    }
  }
}
