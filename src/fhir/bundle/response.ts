/**
 * The batch-response or transaction-response Bundle (R4 http.html#transaction-response): one
 * entry per request entry, in request order, each with response.status and, for a write,
 * response.location, etag and lastModified.
 */
import { etagOf } from '../etag.js';
import { STATUS_CODES } from 'node:http';
import type { JsonObject } from '../../ledger/index.js';
import type { FhirError, OperationOutcome } from '../outcome.js';
import type { ServedVersion } from '../type-handler.js';
import type { BundlePlan } from './types.js';

/** What running one planned entry came to, by the entry's index in the request Bundle. */
export type EntryResult =
  /** A POST, or a PUT that created the resource: '201 Created'. */
  | { readonly index: number; readonly kind: 'created'; readonly version: ServedVersion }
  /** A PUT of an existing resource: '200 OK'. */
  | { readonly index: number; readonly kind: 'updated'; readonly version: ServedVersion }
  /** A GET of one resource: '200 OK', with the resource. */
  | { readonly index: number; readonly kind: 'read'; readonly version: ServedVersion }
  /** A GET search: '200 OK', with the searchset Bundle. */
  | { readonly index: number; readonly kind: 'searched'; readonly bundle: JsonObject }
  /** A DELETE: '204 No Content', with the deletion's version when there is one. */
  | { readonly index: number; readonly kind: 'deleted'; readonly versionId?: number | undefined }
  /** A failure: in a batch, its status and OperationOutcome; a transaction fails whole. */
  | { readonly index: number; readonly kind: 'failed'; readonly error: FhirError };

/** Bundle.entry.response. */
export interface BundleEntryResponse {
  status: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  outcome?: OperationOutcome;
}

/** One Bundle.entry of a response Bundle. */
export interface ResponseEntry {
  resource?: JsonObject;
  response: BundleEntryResponse;
}

/** A batch-response or transaction-response Bundle. */
export interface ResponseBundle {
  resourceType: 'Bundle';
  type: 'batch-response' | 'transaction-response';
  entry: ResponseEntry[];
}

/** The Prefer header's return preference (R4 http.html#ins-return); 'minimal' leaves written resources out. */
export type ReturnPreference = 'minimal' | 'representation';

/**
 * The response Bundle of `plan`, given one result for each of its steps (in any order). A
 * batch's entryErrors answer for their entries. A transaction with a failed step has no
 * response Bundle: this throws that step's FhirError, the first in `results`, for the caller to
 * send as the transaction's OperationOutcome. Results that do not match the steps one to one
 * are a server bug, so a plain Error.
 */
export function responseBundle(
  plan: BundlePlan,
  results: readonly EntryResult[],
  prefer: ReturnPreference = 'minimal',
): ResponseBundle {
  checkCoverage(plan, results);
  const failure = results.find((result) => result.kind === 'failed');
  if (plan.type === 'transaction' && failure?.kind === 'failed') throw failure.error;
  const all: EntryResult[] = [
    ...results,
    ...plan.entryErrors.map(({ index, error }) => ({ index, kind: 'failed' as const, error })),
  ];
  return {
    resourceType: 'Bundle',
    type: plan.type === 'batch' ? 'batch-response' : 'transaction-response',
    entry: all.sort((a, b) => a.index - b.index).map((result) => responseEntry(result, prefer)),
  };
}

function checkCoverage(plan: BundlePlan, results: readonly EntryResult[]): void {
  const expected = plan.steps.map((step) => step.index).sort((a, b) => a - b);
  const actual = results.map((result) => result.index).sort((a, b) => a - b);
  if (expected.join() !== actual.join())
    throw new Error('responseBundle needs exactly one result per planned step');
}

function responseEntry(result: EntryResult, prefer: ReturnPreference): ResponseEntry {
  switch (result.kind) {
    case 'created':
    case 'updated':
      return withResource(prefer === 'representation' ? result.version.resource : undefined, {
        status: result.kind === 'created' ? '201 Created' : '200 OK',
        location: locationOf(result.version),
        ...versionHeaders(result.version),
      });
    case 'read':
      return {
        resource: result.version.resource,
        response: { status: '200 OK', ...versionHeaders(result.version) },
      };
    case 'searched':
      return { resource: result.bundle, response: { status: '200 OK' } };
    case 'deleted':
      return {
        response: {
          status: '204 No Content',
          ...(result.versionId === undefined ? {} : { etag: etagOf(result.versionId) }),
        },
      };
    case 'failed':
      return {
        response: { status: statusLine(result.error.status), outcome: result.error.outcome },
      };
  }
}

function withResource(
  resource: JsonObject | undefined,
  response: BundleEntryResponse,
): ResponseEntry {
  return resource === undefined ? { response } : { resource, response };
}

/** response.location: the version-specific relative URL, [type]/[id]/_history/[vid]. */
function locationOf(version: ServedVersion): string {
  return `${String(version.resource['resourceType'])}/${String(version.resource['id'])}/_history/${version.versionId}`;
}

function versionHeaders(version: ServedVersion): { etag: string; lastModified: string } {
  return { etag: etagOf(version.versionId), lastModified: version.lastUpdated };
}

/** An HTTP status line without the version, as Bundle.entry.response.status carries it: '404 Not Found'. */
function statusLine(status: number): string {
  const reason = STATUS_CODES[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}
