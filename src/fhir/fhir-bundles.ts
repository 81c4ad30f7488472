/**
 * Executing FHIR batch and transaction Bundles (R4 http.html#transaction) planned by
 * src/fhir/bundle. A transaction's writes become one records.batch on the ledger, so they land
 * together or not at all; a batch runs entry by entry, each failure reported in its entry.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../contracts/index.js';
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
import {
  applyResolvedReferences,
  checkTransactionSize,
  planBundle,
  responseBundle,
  type BundlePlan,
  type EntryResult,
  type PlannedEntry,
  type ReturnPreference,
} from './bundle/index.js';
import type { BundleWrite, FhirRecords } from './fhir-records.js';
import { failureEntry, type FhirSearch, type SearchCaller } from './fhir-search.js';
import { etagVersion } from './etag.js';
import { conditionalKey, singleMatch } from './fhir-conditional.js';
import type { KeyedLock } from './keyed-lock.js';
import { FhirError } from './outcome.js';
import { BATCH_ENTRIES_IN_FLIGHT_MAX } from '../ledger/index.js';

/** Runs batch and transaction Bundles against one node's records and search index. */
export class FhirBundles {
  /** `creating` is the conditional creates' lock, shared with FhirConditional. */
  constructor(
    private readonly records: FhirRecords,
    private readonly search: FhirSearch,
    private readonly creating: KeyedLock,
  ) {}

  /**
   * Plans, resolves and runs `bundle`; resolves with the response Bundle. Throws FhirError for a
   * transaction that fails, and (413) for one that cannot fit one ledger transaction, before
   * anything is validated, sealed or stored. `mayRead` is the token's scopes for the types searches may return.
   */
  async execute(
    principal: Principal,
    bundle: unknown,
    purpose: string,
    prefer: ReturnPreference,
    mayRead: (type: string) => boolean = () => true,
  ): Promise<JsonObject> {
    const caller: SearchCaller = { principal, purpose, mayRead };
    const planned = planBundle(bundle, randomUUID);
    if (planned.type === 'transaction') checkTransactionSize(planned);
    const { resolved, failed } = this.#resolveConditional(caller, planned);
    const plan = withFailedEntries(applyResolvedReferences(planned, resolved), failed);
    const results =
      plan.type === 'transaction'
        ? await this.#transaction(caller, plan)
        : await this.#batch(caller, plan);
    return responseBundle(plan, results, prefer) as unknown as JsonObject;
  }

  /**
   * Each conditional reference's single match as 'Type/id'; none stays unresolved (a 422 later);
   * several is a 412. A search that fails (several matches, an unknown parameter) fails a
   * transaction, and in a batch only the entry holding the reference (`failed`, by entry index).
   */
  #resolveConditional(
    caller: SearchCaller,
    plan: BundlePlan,
  ): { resolved: Map<string, string>; failed: Map<number, FhirError> } {
    const resolved = new Map<string, string>();
    const failed = new Map<number, FhirError>();
    for (const { index, path, reference, type } of plan.conditionalReferences) {
      if (resolved.has(reference) || failed.has(index)) continue;
      try {
        const match = singleMatch(
          this.search,
          caller,
          type,
          reference.slice(reference.indexOf('?') + 1),
        );
        if (match !== undefined) resolved.set(reference, `${type}/${match}`);
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        const located = new FhirError(
          error.status,
          error.issues.map((issue) => ({
            ...issue,
            diagnostics: `the conditional reference at ${path}: ${issue.diagnostics}`,
            expression: [path],
          })),
        );
        if (plan.type === 'transaction') throw located;
        failed.set(index, located);
      }
    }
    return { resolved, failed };
  }

  /** A transaction holds the search of each of its conditional creates until it has committed. */
  async #transaction(caller: SearchCaller, plan: BundlePlan): Promise<EntryResult[]> {
    const searches = plan.steps.flatMap((step) =>
      step.method === 'POST' && step.ifNoneExist !== undefined
        ? [conditionalKey(step.type, step.ifNoneExist)]
        : [],
    );
    return this.creating.runAll(searches, () => this.#transactionHeld(caller, plan));
  }

  async #transactionHeld(caller: SearchCaller, plan: BundlePlan): Promise<EntryResult[]> {
    const { principal, purpose } = caller;
    const existing = this.#conditionalCreates(caller, plan);
    const writes: { step: PlannedEntry; write: BundleWrite }[] = [];
    for (const step of plan.steps) {
      if (step.method === 'GET' || existing.has(step.index)) continue;
      const resource =
        step.resource === undefined ? undefined : redirect(step.resource, existing, plan);
      writes.push({ step, write: bundleWrite(step, resource) });
    }
    const landed = await this.records.writeAll(
      principal,
      writes.map(({ write }) => write),
    );
    const results: EntryResult[] = writes.map(({ step }, i) => writeResult(step.index, landed[i]!));
    for (const [index, match] of existing)
      results.push({
        index,
        kind: 'read',
        version: await this.records.read(principal, match.type, match.id, purpose),
      });
    for (const step of plan.steps)
      if (step.method === 'GET') results.push(await this.#get(caller, step));
    return results;
  }

  /**
   * A batch's entries are independent (R4), so a slice of them runs at once and shares block
   * commits. Results of the planned steps only: responseBundle answers the entries that failed
   * planning from plan.entryErrors.
   */
  async #batch(caller: SearchCaller, plan: BundlePlan): Promise<EntryResult[]> {
    const results: EntryResult[] = [];
    for (let start = 0; start < plan.steps.length; start += BATCH_ENTRIES_IN_FLIGHT_MAX) {
      const slice = plan.steps.slice(start, start + BATCH_ENTRIES_IN_FLIGHT_MAX);
      results.push(
        ...(await Promise.all(slice.map((step) => this.#batchEntryOrFailure(caller, step)))),
      );
    }
    return results;
  }

  async #batchEntryOrFailure(caller: SearchCaller, step: PlannedEntry): Promise<EntryResult> {
    try {
      return await this.#batchEntry(caller, step);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      return { index: step.index, kind: 'failed', error };
    }
  }

  async #batchEntry(caller: SearchCaller, step: PlannedEntry): Promise<EntryResult> {
    const { principal, purpose } = caller;
    if (step.method === 'GET') return this.#get(caller, step);
    const ifNoneExist = step.ifNoneExist;
    if (step.method === 'POST' && ifNoneExist !== undefined)
      return this.creating.run(conditionalKey(step.type, ifNoneExist), async () => {
        const match = singleMatch(this.search, caller, step.type, ifNoneExist);
        if (match === undefined)
          return {
            index: step.index,
            kind: 'created',
            version: await this.records.create(principal, step.resource!),
          };
        return {
          index: step.index,
          kind: 'read',
          version: await this.records.read(principal, step.type, match, purpose),
        };
      });
    if (step.method === 'POST')
      return {
        index: step.index,
        kind: 'created',
        version: await this.records.create(principal, step.resource!),
      };
    if (step.method === 'DELETE')
      return {
        index: step.index,
        kind: 'deleted',
        versionId: await this.records.delete(principal, step.type, step.id!),
      };
    const updated = await this.records.update(
      principal,
      step.type,
      step.id!,
      step.resource!,
      etagVersion(step.ifMatch),
    );
    return { index: step.index, kind: updated.created ? 'created' : 'updated', version: updated };
  }

  /** POST entries whose ifNoneExist finds a match: by entry index, the existing resource. */
  #conditionalCreates(
    caller: SearchCaller,
    plan: BundlePlan,
  ): Map<number, { type: string; id: string }> {
    const existing = new Map<number, { type: string; id: string }>();
    for (const step of plan.steps) {
      if (step.method !== 'POST' || step.ifNoneExist === undefined) continue;
      const match = singleMatch(this.search, caller, step.type, step.ifNoneExist);
      if (match !== undefined) existing.set(step.index, { type: step.type, id: match });
    }
    return existing;
  }

  async #get(caller: SearchCaller, step: PlannedEntry): Promise<EntryResult> {
    if (step.id !== undefined)
      return {
        index: step.index,
        kind: 'read',
        version: await this.records.read(caller.principal, step.type, step.id, caller.purpose),
      };
    const page = await this.search.search(
      caller,
      step.type,
      new URLSearchParams(step.url.split('?')[1] ?? ''),
    );
    const entry = [
      ...page.matches.map((match) => ({ resource: match.resource, search: { mode: 'match' } })),
      ...page.failures.map(failureEntry),
    ];
    return {
      index: step.index,
      kind: 'searched',
      bundle: { resourceType: 'Bundle', type: 'searchset', entry },
    };
  }
}

/** `plan` with the entries in `failed` taken out of its steps and answered by their errors instead. */
function withFailedEntries(plan: BundlePlan, failed: ReadonlyMap<number, FhirError>): BundlePlan {
  if (failed.size === 0) return plan;
  const entryErrors = plan.entryErrors.filter(({ index }) => !failed.has(index));
  return {
    ...plan,
    steps: plan.steps.filter((step) => !failed.has(step.index)),
    entryErrors: [...entryErrors, ...[...failed].map(([index, error]) => ({ index, error }))],
  };
}

function bundleWrite(step: PlannedEntry, resource: JsonObject | undefined): BundleWrite {
  if (step.method === 'DELETE') return { method: 'DELETE', type: step.type, id: step.id! };
  const ifMatch = etagVersion(step.ifMatch);
  return {
    method: step.method === 'PUT' ? 'PUT' : 'POST',
    type: step.type,
    id: step.id!,
    resource: resource!,
    ...(ifMatch === undefined ? {} : { ifMatch }),
  };
}

function writeResult(
  index: number,
  landed: Awaited<ReturnType<FhirRecords['writeAll']>>[number],
): EntryResult {
  if ('deleted' in landed) return { index, kind: 'deleted', versionId: landed.deleted };
  return { index, kind: landed.created ? 'created' : 'updated', version: landed };
}

/**
 * `resource` with references to a conditionally created entry's assigned id pointed at the
 * resource that already existed instead (R4: a conditional create that matches creates nothing).
 */
function redirect(
  resource: JsonObject,
  existing: ReadonlyMap<number, { type: string; id: string }>,
  plan: BundlePlan,
): JsonObject {
  if (existing.size === 0) return resource;
  const moved = new Map<string, string>();
  for (const step of plan.steps) {
    const match = existing.get(step.index);
    if (match !== undefined && step.id !== undefined)
      moved.set(`${step.type}/${step.id}`, `${match.type}/${match.id}`);
  }
  return rewrite(resource, moved) as JsonObject;
}

function rewrite(value: JsonValue, moved: ReadonlyMap<string, string>): JsonValue {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, moved));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === 'reference' && typeof item === 'string'
        ? (moved.get(item) ?? item)
        : rewrite(item, moved),
    ]),
  );
}
