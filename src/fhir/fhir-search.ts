/**
 * FHIR search over the node-local index (never on-chain). The index proposes candidates; each
 * is decided from committed contract state (cheap, nothing logged); the page, whether a next
 * page exists and what _include/_revinclude add are all taken over the records the caller may
 * read, so no answer depends on records the caller cannot read. Then ONE access.search naming
 * every record to be released is made durable, and only then are they decrypted.
 */
import type { Principal } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade, ReleasedRecord, SearchedVersion } from '../node/index.js';
import { served } from './fhir-records.js';
import { servedTo } from './group-members.js';
import { patientOf, recordOf } from './ledger-names.js';
import { FhirError } from './outcome.js';
import { SERVED_TYPES } from './patient-of.js';
import {
  includeReferences,
  normaliseReference,
  parseInclude,
  searchPage,
  searchParameter,
  searchRevinclude,
  type SearchIndex,
} from './search/index.js';
import { resolveLinks, type LinkHost } from './search-links.js';
import type { ServedVersion } from './type-handler.js';
import {
  REVINCLUDE_IDS_MAX,
  SEARCH_CANDIDATE_CHUNK_MAX,
  SEARCH_DENIED_LISTED_MAX,
} from '../ledger/index.js';

/** Candidates read from the index at first, and at most at a time: the first read asks for what the page needs, later ones double. */
const CANDIDATE_CHUNK_MIN = 16;
/** The scope of a search naming a patient this node does not know: no record's patient. */
const UNKNOWN_PATIENT = '';

/** Who searches, for what, and which resource types their token lets them read. */
export interface SearchCaller {
  readonly principal: Principal;
  readonly purpose: string;
  /** The token's scopes: whether it may read `type` at all. Included and $everything resources of other types are left out. */
  mayRead(type: string): boolean;
}

/** A record the search found and the caller may read, but which could not be served: its id and the failing stage. */
export interface SearchFailure {
  readonly reference: string;
  readonly stage: string;
}

/** One page of a search: the matches the caller may see, what _include/_revinclude added, records that failed, and where the next page starts. */
export interface SearchPage {
  readonly matches: readonly ServedVersion[];
  readonly included: readonly ServedVersion[];
  readonly failures: readonly SearchFailure[];
  readonly nextOffset: number | undefined;
  /** The FHIR id of the page's last match (served or failed), where a keyset page after it starts. */
  readonly lastId?: string | undefined;
}

/** A candidate the caller may read: 'Type/id', its FHIR id, the version decided on, and what permitted it. */
interface Permitted extends SearchedVersion {
  readonly reference: string;
  readonly id: string;
  readonly basis: string;
}

/** What filtering candidates found: the permitted ones (up to what was asked), and refused ones of the scoped patient. */
interface Filtered {
  readonly permitted: Permitted[];
  readonly denied: SearchedVersion[];
}

/** Search and $everything for one node. */
export class FhirSearch {
  constructor(
    private readonly node: NodeFacade,
    private readonly index: SearchIndex,
  ) {}

  /**
   * `GET [type]?params`. Throws FhirError 400 for a parameter, modifier or include it does not
   * support. `within` narrows it for a bulk export: `afterId` (a keyset page, for a search sorted
   * by `_id` alone) keeps resources whose id sorts after it, so each page costs the same however
   * deep it is and a write between pages neither skips nor repeats one; `patients` (FHIR Patient
   * ids of this node) keeps those patients' records, whatever other records name the same ids.
   */
  async search(
    caller: SearchCaller,
    type: string,
    params: URLSearchParams,
    within: {
      readonly afterId?: string | undefined;
      readonly patients?: readonly string[] | undefined;
    } = {},
  ): Promise<SearchPage> {
    const includes = params.getAll('_include');
    const revincludes = params.getAll('_revinclude');
    for (const value of [...includes, ...revincludes]) parseInclude(value);
    const { count, offset } = searchPage(params);
    const scope = this.#ledgerPatient(scopedPatient(type, params));
    const patients =
      within.patients === undefined
        ? undefined
        : new Set(within.patients.map((id) => this.#ledgerPatient(id)!));
    const found = this.#filter(
      caller,
      this.#indexCandidates(type, params, offset + count + 1, caller, within.afterId),
      offset + count + 1,
      scope,
      patients,
    );
    const page = found.permitted.slice(offset, offset + count);
    const included = this.#included(caller, type, page, includes, revincludes);
    const nextOffset = nextOffsetOf(found.permitted.length, offset, count);
    const released = await this.#release(caller, page, included, {
      scope,
      denied: found.permitted.length === 0 ? found.denied : [],
      nextOffset,
    });
    return { ...released, lastId: page.at(-1)?.id };
  }

  /**
   * `Patient/[id]/$everything`: the Patient and every compartment resource the index holds for
   * them that the caller may read (by consent and by the token's scopes), paged by `offset` and
   * `count` over that list, released under one logged search scoped to the patient.
   */
  async everything(
    caller: SearchCaller,
    fhirPatientId: string,
    offset: number,
    count: number,
  ): Promise<SearchPage> {
    const scope = this.#ledgerPatient(fhirPatientId);
    const found = this.#filter(
      caller,
      this.#compartmentCandidates(caller, fhirPatientId),
      offset + count + 1,
      scope,
    );
    const page = found.permitted.slice(offset, offset + count);
    const nextOffset = nextOffsetOf(found.permitted.length, offset, count);
    return this.#release(caller, page, [], {
      scope,
      denied: found.permitted.length === 0 ? found.denied : [],
      nextOffset,
    });
  }

  /**
   * Ids of the first `limit` `type` resources matching `query` that the caller may read, decided
   * without logging (nothing is released): how conditional references and ifNoneExist resolve,
   * so their outcome never depends on records the caller cannot read.
   */
  /**
   * Whether the index holds a `type` resource matching `query`, whoever may read it: an identity
   * check for a feed that must not create a second Patient beside one it may not see. It
   * releases nothing and is never answered to a reader.
   */
  indexHolds(type: string, query: string): boolean {
    return this.index.searchIds(type, new URLSearchParams(query), 0, 1).length > 0;
  }

  readableMatches(caller: SearchCaller, type: string, query: string, limit: number): string[] {
    if (!caller.mayRead(type)) return [];
    const found = this.#filter(
      caller,
      this.#indexCandidates(type, new URLSearchParams(query), limit, caller),
      limit,
      undefined,
    );
    return found.permitted.map((permitted) => permitted.id);
  }

  /**
   * The pseudonym of FHIR Patient `fhirPatientId` a search is scoped to; for a patient this node
   * does not know, one no record has, so the search finds nothing (another organisation's record
   * naming the same FHIR id is about another patient).
   */
  #ledgerPatient(fhirPatientId: string | undefined): string | undefined {
    return fhirPatientId === undefined
      ? undefined
      : (patientOf(this.node, fhirPatientId) ?? UNKNOWN_PATIENT);
  }

  /**
   * The index's matches of `type`, in result order, read a chunk at a time: `wanted` first (what
   * a page needs when the caller may read every match), then twice as many each time. With
   * `caller`, chained and _has parameters are resolved over what that caller may read.
   */
  *#indexCandidates(
    type: string,
    params: URLSearchParams,
    wanted = SEARCH_CANDIDATE_CHUNK_MAX,
    caller?: SearchCaller,
    afterId?: string,
  ): Generator<string> {
    const { plain, links } =
      caller === undefined
        ? { plain: params, links: [] }
        : resolveLinks(type, params, this.#links(caller));
    let chunk = Math.min(Math.max(wanted, CANDIDATE_CHUNK_MIN), SEARCH_CANDIDATE_CHUNK_MAX);
    for (let start = 0; ; start += chunk, chunk = Math.min(2 * chunk, SEARCH_CANDIDATE_CHUNK_MAX)) {
      const ids = this.index.searchIds(type, plain, start, chunk, links, afterId);
      for (const id of ids) yield `${type}/${id}`;
      if (ids.length < chunk) return;
    }
  }

  /** How `caller` resolves links: over the resources their token and consent let them read. */
  #links(caller: SearchCaller): LinkHost {
    return {
      readable: (type, query, limit) =>
        caller.mayRead(type)
          ? this.#filter(
              caller,
              this.#indexCandidates(type, query, limit),
              limit,
              undefined,
            ).permitted.map((permitted) => permitted.reference)
          : [],
      referencesFrom: (type, param, ids) => this.index.referencesFrom(type, param, ids),
    };
  }

  /** Patient/`patientId`, then each compartment type's resources for them, of the types the token may read. */
  *#compartmentCandidates(caller: SearchCaller, patientId: string): Generator<string> {
    if (caller.mayRead('Patient')) yield `Patient/${patientId}`;
    for (const type of SERVED_TYPES) {
      if (
        type === 'Patient' ||
        searchParameter(type, 'patient') === undefined ||
        !caller.mayRead(type)
      )
        continue;
      yield* this.#indexCandidates(
        type,
        new URLSearchParams({ patient: `Patient/${patientId}`, _sort: '_id' }),
      );
    }
  }

  /**
   * The first `wanted` candidates the caller may read, deciding each from committed state; and,
   * when the search is scoped to patient `scope`, up to SEARCH_DENIED_LISTED_MAX of that patient's
   * records it refused. Records no longer active (a deletion not yet out of the index) are
   * skipped, and so, in a scoped search, are records of another patient whose content names the
   * same FHIR Patient id; with `patients`, records of no patient in it.
   */
  #filter(
    caller: SearchCaller,
    candidates: Iterable<string>,
    wanted: number,
    scope: string | undefined,
    patients?: ReadonlySet<string>,
  ): Filtered {
    const filtered: Filtered = { permitted: [], denied: [] };
    if (wanted === 0) return filtered;
    for (const reference of candidates) {
      const [type, id] = reference.split('/') as [string, string];
      const record = recordOf(this.node, type, id);
      if (record?.status !== 'active' || (scope !== undefined && record.patientId !== scope))
        continue;
      if (patients !== undefined && (record.patientId === null || !patients.has(record.patientId)))
        continue;
      const searched = { recordId: record.recordId, version: record.latestVersion };
      const decision = this.node
        .as(caller.principal, caller.purpose)
        .decide(record.recordId, { version: searched.version });
      if (decision.outcome === 'permit')
        filtered.permitted.push({ ...searched, reference, id, basis: decision.basis.kind });
      else if (scope !== undefined && filtered.denied.length < SEARCH_DENIED_LISTED_MAX)
        filtered.denied.push(searched);
      if (filtered.permitted.length >= wanted) break;
    }
    return filtered;
  }

  /** What _include and _revinclude add to `page`, filtered by consent and scopes; the matches themselves are left out. */
  #included(
    caller: SearchCaller,
    type: string,
    page: readonly Permitted[],
    includes: string[],
    revincludes: string[],
  ): Permitted[] {
    if (includes.length === 0 && revincludes.length === 0) return [];
    const references = page.map((match) => match.reference);
    const targets = includeReferences(
      this.index,
      type,
      page.map((match) => match.id),
      includes,
    );
    const revincluded: string[] = [];
    for (const revinclude of revincludes) {
      const [sourceType] = revinclude.split(':');
      revincluded.push(
        ...searchRevinclude(this.index, revinclude, references).map((id) => `${sourceType}/${id}`),
      );
    }
    const seen = new Set(references);
    const wanted = [...new Set([...targets, ...revincluded])].filter(
      (reference) =>
        !seen.has(reference) && caller.mayRead(normaliseReference(reference).type ?? ''),
    );
    const permitted = this.#filter(caller, wanted, Number.MAX_SAFE_INTEGER, undefined).permitted;
    const revincludedSet = new Set(revincluded);
    const added = permitted.filter((item) => revincludedSet.has(item.reference)).length;
    if (added > REVINCLUDE_IDS_MAX)
      throw FhirError.of(
        400,
        'too-costly',
        `_revinclude would add more than ${REVINCLUDE_IDS_MAX} resources`,
      );
    return permitted;
  }

  /** Logs the search once, then decrypts what it names; a record that cannot be served becomes a failure. */
  async #release(
    caller: SearchCaller,
    page: readonly Permitted[],
    included: readonly Permitted[],
    options: {
      scope: string | undefined;
      denied: readonly SearchedVersion[];
      nextOffset: number | undefined;
    },
  ): Promise<SearchPage> {
    const all = [...page, ...included];
    const failures: SearchFailure[] = [];
    if (all.length === 0 && options.denied.length === 0)
      return { matches: [], included: [], failures, nextOffset: options.nextOffset };
    const released = await this.node.as(caller.principal, caller.purpose).releaseAll(all, {
      patientId: options.scope ?? null,
      denied: options.denied,
    });
    const reader = { node: this.node, principal: caller.principal, purpose: caller.purpose };
    const servedOf = (item: ReleasedRecord, i: number): ServedVersion[] => {
      if (item.outcome === 'permit') {
        const resource = servedTo(reader, item.resource);
        return [{ ...served(resource, item.version), basis: all[i]!.basis }];
      }
      failures.push({ reference: all[i]!.reference, stage: item.stage });
      return [];
    };
    const versions = released.map(servedOf);
    return {
      matches: versions.slice(0, page.length).flat(),
      included: versions.slice(page.length).flat(),
      failures,
      nextOffset: options.nextOffset,
    };
  }
}

/** A record a search could not serve, as a searchset entry (search.mode outcome): its id and the failing stage, never its content. */
export function failureEntry(failure: SearchFailure): JsonObject {
  const diagnostics = `${failure.reference} could not be served (${failure.stage}); it is left out of this page and the node raised an alarm`;
  return {
    resource: {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'warning', code: 'exception', diagnostics }],
    },
    search: { mode: 'outcome' },
  };
}

/**
 * The one patient a search names, when it is scoped to one: a single `patient` value, or a
 * single `subject` value naming a Patient. Its refusals are logged in that patient's trail.
 */
function scopedPatient(type: string, params: URLSearchParams): string | undefined {
  const patient = searchParameter(type, 'patient') === undefined ? [] : params.getAll('patient');
  const subject = searchParameter(type, 'subject') === undefined ? [] : params.getAll('subject');
  const values = [
    ...patient.map((value) => (value.includes('/') ? value : `Patient/${value}`)),
    ...subject,
  ];
  if (values.length !== 1 || values[0]!.includes(',')) return undefined;
  const reference = normaliseReference(values[0]!);
  return reference.type === 'Patient' && reference.id !== null ? reference.id : undefined;
}

/**
 * Where the next page starts, when there is one: `found` readable matches were looked for past
 * this page. A page of `_count=0` asks for no entries, and has no next page (a link to itself
 * would send a client round in circles).
 */
export function nextOffsetOf(found: number, offset: number, count: number): number | undefined {
  return count > 0 && found > offset + count ? offset + count : undefined;
}
