/**
 * Planning a batch or transaction Bundle (R4 http.html#transaction), the I/O-free half of
 * processing one: check every entry, assign the ids a transaction's creates get, rewrite the
 * references between entries (bundle.html#references), collect conditional references, and
 * order the entries as the R4 transaction processing rules require.
 */
import { FhirError } from '../outcome.js';
import { checkEntry, isObject, R4_ID, type CheckedEntry } from './entry.js';
import { conditionalType, forEachReference, isBundleLocalUrn } from './references.js';
import { rewriteUris } from './uris.js';
import type { BundlePlan, ConditionalReference, EntryError, PlannedEntry } from './types.js';
import { BUNDLE_ENTRIES_MAX } from '../../ledger/index.js';

/** R4 processing order (http.html#trules): DELETE, then POST, then PUT (and PATCH), then GET. */
const METHOD_ORDER: Readonly<Record<PlannedEntry['method'], number>> = {
  DELETE: 0,
  POST: 1,
  PUT: 2,
  GET: 3,
};
/** R4 BundleType codes this does not process. */
const OTHER_BUNDLE_TYPES = [
  'document',
  'message',
  'transaction-response',
  'batch-response',
  'history',
  'searchset',
  'collection',
];

/**
 * Plans `bundle`, a Bundle of type 'batch' or 'transaction'. `assignId` gives the server id of
 * each transaction POST, called in entry order. A transaction with any invalid entry, and any
 * Bundle that is not a batch or transaction, throws a 400 FhirError; a batch's invalid entries
 * become its plan's entryErrors.
 *
 * A transaction POST with request.ifNoneExist (conditional create) is planned like any POST:
 * references to its fullUrl name its assigned id, so an executor that finds a match must
 * point them at the match instead.
 */
export function planBundle(bundle: unknown, assignId: () => string): BundlePlan {
  const { type, entries } = checkBundle(bundle);
  checkFullUrlsUnique(entries);
  const checked: (CheckedEntry | EntryError)[] = entries.map((entry, index) =>
    attempt(type, index, () => checkEntry(entry, index)),
  );
  const ids = type === 'transaction' ? assignIds(checked as CheckedEntry[], assignId) : undefined;
  const idMap = type === 'transaction' ? mapFullUrls(ids!) : new Map<string, string>();
  const identities = new Map<string, number>();
  const conditionalReferences: ConditionalReference[] = [];
  const planned = (ids ?? checked).map((entry) =>
    isEntryError(entry)
      ? entry
      : attempt(type, entry.index, () => {
          const found = linkReferences(entry, idMap);
          checkIdentity(entry, identities);
          conditionalReferences.push(...found);
          return toPlannedEntry(entry);
        }),
  );
  const steps = planned.filter((entry): entry is PlannedEntry => !isEntryError(entry));
  return {
    type,
    steps: steps.sort(
      (a, b) => METHOD_ORDER[a.method] - METHOD_ORDER[b.method] || a.index - b.index,
    ),
    conditionalReferences,
    idMap,
    entryErrors: planned.filter(isEntryError),
  };
}

function checkBundle(bundle: unknown): { type: BundlePlan['type']; entries: unknown[] } {
  if (!isObject(bundle))
    throw FhirError.of(400, 'structure', 'the request body must be a Bundle resource', ['Bundle']);
  if (bundle['resourceType'] !== 'Bundle')
    throw FhirError.of(400, 'value', 'resourceType must be Bundle', ['Bundle.resourceType']);
  const type = bundle['type'];
  if (type === undefined)
    throw FhirError.of(400, 'required', 'Bundle.type is required', ['Bundle.type']);
  if (type !== 'batch' && type !== 'transaction') {
    const known = typeof type === 'string' && OTHER_BUNDLE_TYPES.includes(type);
    throw FhirError.of(
      400,
      known ? 'not-supported' : 'value',
      'Bundle.type must be batch or transaction here',
      ['Bundle.type'],
    );
  }
  const entries = bundle['entry'] ?? [];
  if (!Array.isArray(entries))
    throw FhirError.of(400, 'structure', 'Bundle.entry must be an array', ['Bundle.entry']);
  if (entries.length > BUNDLE_ENTRIES_MAX)
    throw FhirError.of(
      413,
      'too-costly',
      `a Bundle may carry at most ${BUNDLE_ENTRIES_MAX} entries`,
      ['Bundle.entry'],
    );
  return { type, entries };
}

/** R4 invariant bdl-7: fullUrl is unique in a Bundle other than a history. */
function checkFullUrlsUnique(entries: readonly unknown[]): void {
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const fullUrl = isObject(entry) ? entry['fullUrl'] : undefined;
    if (typeof fullUrl !== 'string') return;
    if (seen.has(fullUrl))
      throw FhirError.of(
        400,
        'invariant',
        `Bundle.entry[${index}].fullUrl repeats an earlier entry's fullUrl (bdl-7)`,
        [`Bundle.entry[${index}].fullUrl`],
      );
    seen.add(fullUrl);
  });
}

/** Runs `check`; in a batch its FhirError becomes the entry's error, in a transaction it fails the whole Bundle. */
function attempt<T>(type: BundlePlan['type'], index: number, check: () => T): T | EntryError {
  try {
    return check();
  } catch (error) {
    if (type === 'batch' && error instanceof FhirError) return { index, error };
    throw error;
  }
}

function isEntryError(entry: CheckedEntry | PlannedEntry | EntryError): entry is EntryError {
  return 'error' in entry;
}

/**
 * Gives each POST its server id (the id in the resource, if any, is ignored: R4 http.html#create).
 * An `assignId` that repeats an id or returns no R4 id is a server bug, so a plain Error.
 */
function assignIds(entries: readonly CheckedEntry[], assignId: () => string): CheckedEntry[] {
  const assigned = new Set<string>();
  return entries.map((entry) => {
    if (entry.method !== 'POST') return entry;
    const id = assignId();
    if (!R4_ID.test(id) || assigned.has(id))
      throw new Error('assignId must return a fresh R4 id on every call');
    assigned.add(id);
    return { ...entry, id, resource: { ...entry.resource!, id } };
  });
}

/** fullUrl → 'Type/id' for each entry whose identity is known before execution: POSTs and PUT [type]/[id]. */
function mapFullUrls(entries: readonly CheckedEntry[]): Map<string, string> {
  const idMap = new Map<string, string>();
  for (const entry of entries) {
    if (
      entry.fullUrl !== undefined &&
      entry.id !== undefined &&
      (entry.method === 'POST' || entry.method === 'PUT')
    ) {
      idMap.set(entry.fullUrl, `${entry.type}/${entry.id}`);
    }
  }
  return idMap;
}

/**
 * R4 transaction rule: the resource identities written by DELETE, POST and PUT must not
 * overlap. In a batch, an entry that repeats an earlier identity fails: batch entries must be
 * independent.
 */
function checkIdentity(entry: CheckedEntry, identities: Map<string, number>): void {
  if (entry.method === 'GET' || entry.id === undefined) return;
  const identity = `${entry.type}/${entry.id}`;
  const earlier = identities.get(identity);
  if (earlier !== undefined) {
    throw FhirError.of(
      400,
      'processing',
      `Bundle.entry[${entry.index}] writes the same resource as Bundle.entry[${earlier}]`,
      [`Bundle.entry[${entry.index}].request.url`],
    );
  }
  identities.set(identity, entry.index);
}

/**
 * Rewrites the references, uri elements and narrative links in the entry's resource that name
 * another entry's fullUrl (uris.ts), and returns its conditional references. A urn:uuid: or urn:oid: reference that names no entry is
 * a 400 'processing'.
 */
function linkReferences(
  entry: CheckedEntry,
  idMap: ReadonlyMap<string, string>,
): ConditionalReference[] {
  const found: ConditionalReference[] = [];
  if (entry.resource === undefined) return found;
  forEachReference(entry.resource, `Bundle.entry[${entry.index}].resource`, (site) => {
    const target = idMap.get(site.reference);
    const type = conditionalType(site.reference);
    if (target !== undefined) site.replace(target);
    else if (type !== undefined)
      found.push({ index: entry.index, path: site.path, reference: site.reference, type });
    else if (isBundleLocalUrn(site.reference)) {
      throw FhirError.of(
        400,
        'processing',
        `${site.path} names no entry of this Bundle by fullUrl`,
        [site.path],
      );
    }
  });
  rewriteUris(entry.resource, idMap);
  return found;
}

function toPlannedEntry(entry: CheckedEntry): PlannedEntry {
  const { fullUrl, ...planned } = entry;
  void fullUrl;
  return planned;
}
