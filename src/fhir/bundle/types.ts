/**
 * The plan of a FHIR R4 batch or transaction Bundle (hl7.org/fhir/R4/http.html#transaction):
 * what the executor runs, in which order, and what it still has to resolve. Plans are plain
 * data, built without I/O.
 */
import type { JsonObject } from '../../ledger/index.js';
import type { FhirError } from '../outcome.js';

/** The Bundle.entry.request.method values a plan carries (R4 HTTPVerb, less HEAD and PATCH). */
export type PlannedMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One Bundle.entry, checked and ready to run. */
export interface PlannedEntry {
  /** The entry's position in the request Bundle, which its response entry keeps. */
  readonly index: number;
  readonly method: PlannedMethod;
  /** The resource type request.url names. */
  readonly type: string;
  /** The resource id: assigned for a transaction's POST, from request.url for PUT, DELETE and GET (conditional PUT and DELETE are refused). Absent for a GET search. */
  readonly id?: string;
  /** For POST and PUT: a copy of entry.resource, its references rewritten. */
  readonly resource?: JsonObject;
  /** request.ifNoneExist: the search of a conditional create. */
  readonly ifNoneExist?: string;
  /** request.ifMatch: the ETag a PUT or DELETE expects. */
  readonly ifMatch?: string;
  /** request.url as sent, relative to the service base. */
  readonly url: string;
}

/** A conditional reference (R4 http.html#trules) such as 'Organization?identifier=sys|val', for the executor to resolve. */
export interface ConditionalReference {
  /** The index of the entry whose resource holds it. */
  readonly index: number;
  /** Where it is, as a FHIRPath expression such as 'Bundle.entry[3].resource.subject.reference'. */
  readonly path: string;
  /** The reference as written. */
  readonly reference: string;
  /** The resource type it searches. */
  readonly type: string;
}

/** A batch entry that failed checks, to report in its response entry. */
export interface EntryError {
  readonly index: number;
  readonly error: FhirError;
}

/** What planBundle produces. */
export interface BundlePlan {
  readonly type: 'batch' | 'transaction';
  /** The entries to run, in R4 processing order: DELETE, POST, PUT, GET. */
  readonly steps: readonly PlannedEntry[];
  readonly conditionalReferences: readonly ConditionalReference[];
  /** Transaction only: each entry's fullUrl → the 'Type/id' it now has. */
  readonly idMap: ReadonlyMap<string, string>;
  /** Batch only: entries that failed checks and are not run. */
  readonly entryErrors: readonly EntryError[];
}
