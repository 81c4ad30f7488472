/**
 * Conditional create, update and delete (R4 http.html#ccreate, #cond-update, #3.1.0.7.1): the
 * resource is named by a search rather than an id. The search sees only what the caller may
 * read, decided without logging (nothing is released by it), so the outcome never depends on
 * records hidden from the caller; what is then read or written is logged like any other.
 */
import type { JsonObject } from '../ledger/index.js';
import type { FhirRecords } from './fhir-records.js';
import type { FhirSearch, SearchCaller } from './fhir-search.js';
import type { KeyedLock } from './keyed-lock.js';
import { FhirError } from './outcome.js';
import type { ServedVersion } from './type-handler.js';

/** What a conditional create came to: the match it found (200), or what it created (201). */
export type ConditionalCreate = ServedVersion & { readonly created: boolean };

export class FhirConditional {
  /**
   * `creating` holds each search while a conditional create or update of it runs (a Bundle's
   * too), so two that race cannot both find no match and both create: R4 asks for at most one.
   */
  constructor(
    private readonly records: FhirRecords,
    private readonly search: FhirSearch,
    private readonly creating: KeyedLock,
  ) {}

  /** POST with If-None-Exist: the one readable match, read; none, `resource` created; several, 412. */
  async create(
    caller: SearchCaller,
    resource: JsonObject,
    ifNoneExist: string,
  ): Promise<ConditionalCreate> {
    const type = String(resource['resourceType']);
    return this.creating.run(conditionalKey(type, ifNoneExist), async () => {
      const match = this.#single(caller, type, ifNoneExist, 'create');
      if (match !== undefined) {
        const found = await this.records.read(caller.principal, type, match, caller.purpose);
        return { ...found, created: false };
      }
      return { ...(await this.records.create(caller.principal, resource)), created: true };
    });
  }

  /**
   * PUT [type]?[query]: the one readable match updated; none, `resource` created (under its own
   * id when it has one, as an update would); several, 412. A body id naming another resource
   * than the match is 400.
   */
  async update(
    caller: SearchCaller,
    type: string,
    query: string,
    resource: JsonObject,
  ): Promise<ServedVersion & { created: boolean }> {
    return this.creating.run(conditionalKey(type, query), () =>
      this.#update(caller, type, query, resource),
    );
  }

  async #update(
    caller: SearchCaller,
    type: string,
    query: string,
    resource: JsonObject,
  ): Promise<ServedVersion & { created: boolean }> {
    const match = this.#single(caller, type, query, 'update');
    const bodyId = typeof resource['id'] === 'string' ? resource['id'] : undefined;
    if (match !== undefined && bodyId !== undefined && bodyId !== match)
      throw FhirError.of(
        400,
        'invalid',
        'the resource id differs from the one the search matched',
        [`${type}.id`],
      );
    // No match, and the body names a record that exists: R4 (http.html#cond-update) says 409.
    if (match === undefined && bodyId !== undefined && this.records.exists(type, bodyId))
      throw FhirError.of(
        409,
        'conflict',
        `no ${type} matched, and ${type}/${bodyId} is another resource`,
      );
    const id = match ?? bodyId;
    if (id === undefined)
      return { ...(await this.records.create(caller.principal, resource)), created: true };
    return this.records.update(caller.principal, type, id, { ...resource, id });
  }

  /** DELETE [type]?[query]: the one readable match deleted (its tombstone's version); none, nothing; several, 412. */
  async delete(caller: SearchCaller, type: string, query: string): Promise<number | undefined> {
    const match = this.#single(caller, type, query, 'delete');
    return match === undefined ? undefined : this.records.delete(caller.principal, type, match);
  }

  #single(
    caller: SearchCaller,
    type: string,
    query: string,
    interaction: string,
  ): string | undefined {
    if (query === '')
      throw FhirError.of(400, 'invalid', `a conditional ${interaction} needs search criteria`);
    return singleMatch(this.search, caller, type, query);
  }
}

/**
 * The id of the one `type` resource matching `query` that the caller may read, undefined for
 * none; FhirError 412 for several (R4 conditional rules). Records the caller may not read are
 * not counted, so neither the 412 nor a match tells them such records exist.
 */
export function singleMatch(
  search: FhirSearch,
  caller: SearchCaller,
  type: string,
  query: string,
): string | undefined {
  const found = search.readableMatches(caller, type, query, 2);
  if (found.length > 1)
    throw FhirError.of(
      412,
      'multiple-matches',
      `a conditional ${type} search matched more than one resource`,
    );
  return found[0];
}

/** The key under which a conditional create of `type?query` holds its search: one per search, whatever the order of its parameters. */
export function conditionalKey(type: string, query: string): string {
  const params = new URLSearchParams(query);
  params.sort();
  return `${type}?${params.toString()}`;
}
