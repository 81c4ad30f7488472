/**
 * The FHIR side of one node: a handler per kind of resource, search over a node-local index at
 * `<data>/search.db`, and both the index and the node's map of FHIR ids to ledger pseudonyms
 * kept in step with the chain as blocks commit and ciphertexts arrive.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RECORDS, type VersionRow, type WriteSetEntry } from '../contracts/index.js';
import type { NodeFacade } from '../node/index.js';
import { FhirAuditEvents } from './fhir-audit-events.js';
import { putEntry, relearnFromChain, relearnRecord, type Relearning } from './relearn.js';
import { FhirBundles } from './fhir-bundles.js';
import { FhirBulkExport } from './bulk-export.js';
import { FhirSubscriptions, type SessionCheck } from './subscriptions/fhir-subscriptions.js';
import { FhirConditional } from './fhir-conditional.js';
import { FhirConsents } from './fhir-consents.js';
import { DERIVED_PROVENANCE_ID, FhirProvenance } from './fhir-provenance.js';
import { FhirRecords } from './fhir-records.js';
import { KeyedLock } from './keyed-lock.js';
import type { RecordLedger } from './record-ledger.js';
import { FhirSearch } from './fhir-search.js';
import {
  hasCurrentSchema,
  removeIndexFile,
  SearchIndex,
  type SearchIndexFault,
} from './search/index.js';
import type { TypeHandler } from './type-handler.js';

/** The search index's file in a node's data directory. */
export const SEARCH_INDEX_FILE = 'search.db';

/** First wait before rebuilding a faulted search index, doubling after each failed attempt up to the max. */
const INDEX_REBUILD_DELAY_MS = 1_000;
const INDEX_REBUILD_DELAY_MAX_MS = 60_000;
/** How long a start may spend relearning from the chain before the node serves; the rest runs in slices. */
export const RELEARN_AT_START_MS = 1_000;

/** Every FHIR service of one node. */
export class FhirService {
  readonly records: FhirRecords;
  readonly consents: FhirConsents;
  readonly auditEvents: FhirAuditEvents;
  readonly provenance: FhirProvenance;
  readonly search: FhirSearch;
  readonly bundles: FhirBundles;
  readonly conditional: FhirConditional;
  readonly bulkExport: FhirBulkExport;
  readonly subscriptions: FhirSubscriptions;
  readonly #index: SearchIndex;
  readonly #handlers: Readonly<Record<string, TypeHandler>>;

  readonly #inUse: string;
  readonly #stopFollowing: () => void;
  #rebuildTimer: NodeJS.Timeout | undefined;
  #rebuildDelayMs = INDEX_REBUILD_DELAY_MS;
  /**
   * Whether the pseudonym map may lack pairs of records that have yet to commit here: it was
   * lost, or not closed cleanly (a crash; a restored backup), so writes queued then, or blocks
   * the orderer or peers deliver after this start, may name records whose pairs it lost. A
   * map closed cleanly (or a new node's, made empty at init) has every pair, and every record
   * written since gets its pair before its write is submitted.
   */
  readonly #mayLackPairs: boolean;
  /** The walk relearning ids and index entries from the chain, until it has ended. */
  #relearning: Relearning | undefined;
  #relearnt: Promise<void> = Promise.resolve();
  /** Other organisations' versions whose ciphertexts arrived while the map was incomplete. */
  #arrivedWhileLearning: VersionRow[] = [];

  /**
   * Opens the index, rebuilding it from the chain when it is missing or was made by an older
   * schema or parameter set, and catching it up with the chain when the last process using it
   * did not close it (puts are not fsynced, so a crash may have lost the newest). FHIR ids are
   * learnt from the chain in the same cases, and when the pseudonym map is new: after a clean
   * close the map has every pair this node could learn. Either walks every record on the chain:
   * it runs for up to `options.relearnAtStartMs` (RELEARN_AT_START_MS) here, and then in slices
   * while the node serves (see relearn.ts and `relearnt`).
   * Writes commit through `options.ledger`, the node's own unless a benchmark passes another.
   */
  constructor(
    private readonly node: NodeFacade,
    options: {
      ledger?: RecordLedger | undefined;
      sessionActive?: SessionCheck;
      relearnAtStartMs?: number;
    } = {},
  ) {
    const path = join(node.dataDir, SEARCH_INDEX_FILE);
    this.#inUse = `${path}.in-use`;
    const rebuild = !existsSync(path) || !hasCurrentSchema(path);
    const reindex = rebuild || existsSync(this.#inUse);
    this.#mayLackPairs = node.pseudonyms.incomplete;
    if (rebuild) removeIndexFile(path);
    writeFileSync(this.#inUse, `${process.pid}\n`);
    this.#index = new SearchIndex(path, { onFault: (fault) => this.#indexFaulted(fault) });
    if (reindex || node.pseudonyms.incomplete)
      this.#startRelearning(reindex, options.relearnAtStartMs ?? RELEARN_AT_START_MS);
    this.records = new FhirRecords(node, { ledger: options.ledger, index: this.#index });
    this.consents = new FhirConsents(node);
    this.auditEvents = new FhirAuditEvents(node);
    this.provenance = new FhirProvenance(node);
    this.search = new FhirSearch(node, this.#index);
    const creating = new KeyedLock();
    this.bundles = new FhirBundles(this.records, this.search, creating);
    this.conditional = new FhirConditional(this.records, this.search, creating);
    this.bulkExport = new FhirBulkExport(this.search, node.dataDir);
    this.subscriptions = new FhirSubscriptions(node, Date.now, options.sessionActive);
    this.#handlers = {
      Consent: this.consents,
      AuditEvent: this.auditEvents,
      Provenance: provenanceHandler(this.provenance, this.records),
    };
    const stops = [
      node.onCommitted((writeSet) => this.#followCommitted(writeSet)),
      node.peerBlobs.onArrival((version) => this.#indexArrived(version)),
    ];
    this.#stopFollowing = () => stops.forEach((stop) => stop());
  }

  /** The handler of `type`'s instance interactions. */
  handlerFor(type: string): TypeHandler {
    return Object.hasOwn(this.#handlers, type) ? this.#handlers[type]! : this.records;
  }

  /**
   * Resolves once what this start (or the last rebuild) relearns from the chain is learnt and
   * indexed, or the walk has failed (an alarm; it is walked again on a timer) or been stopped.
   */
  get relearnt(): Promise<void> {
    return this.#relearnt;
  }

  /** Relearns the ids the map lacks and, when `reindex`, fills the index: see relearn.ts. */
  #startRelearning(reindex: boolean, firstSliceMs: number): void {
    this.#relearning?.stop();
    const index = reindex ? this.#index : undefined;
    const relearning = (this.#relearning = relearnFromChain(this.node, { index, firstSliceMs }));
    this.#relearnt = relearning.done.then(
      () => {
        if (this.#relearning !== relearning) return;
        this.#relearning = undefined;
        if (!this.node.pseudonyms.complete) return; // stopped: the node is closing
        const arrived = this.#arrivedWhileLearning;
        this.#arrivedWhileLearning = [];
        for (const version of arrived) this.#indexArrived(version);
      },
      (error: unknown) => {
        if (this.#relearning !== relearning) return;
        this.node.records.alarm(
          'search-index',
          `relearning FHIR ids and search entries from the chain failed (${error instanceof Error ? error.message : String(error)}); trying again`,
        );
        // Through #rebuildIndex when the index is refilled: a fault may have closed it meanwhile.
        this.#retryLater(() => (reindex ? this.#rebuildIndex() : this.#startRelearning(false, 0)));
      },
    );
  }

  /** Why the node is not ready for FHIR traffic (for /readyz), or undefined. */
  get notReady(): string | undefined {
    if (this.#relearning !== undefined)
      return 'relearning FHIR ids and search entries from the chain: searches and unknown ids answer 503';
    if (!this.#index.available) return 'the search index is out of service: searches answer 503';
    return undefined;
  }

  /** Closes the search index; the next start trusts it as complete (unless it is still awaiting its rebuild or being filled). */
  async close(): Promise<void> {
    this.#relearning?.stop();
    await this.subscriptions.close();
    this.bulkExport.close();
    this.#stopFollowing();
    clearTimeout(this.#rebuildTimer);
    const complete = this.#index.available;
    this.#index.close();
    if (complete) rmSync(this.#inUse, { force: true });
  }

  /**
   * A storage fault took the search index out of service (searches answer 503 meanwhile): an
   * alarm, then a rebuild from the chain on a timer, retried with backoff while it fails.
   */
  #indexFaulted(fault: SearchIndexFault): void {
    this.node.records.alarm(
      'search-index',
      `search index out of service (${fault.kind}: ${fault.reason}); its file was deleted; rebuilding from the chain`,
    );
    if (fault.kind === 'disk-full')
      this.node.records.raiseCondition(
        'disk-full',
        `disk full writing the search index: ${fault.reason}`,
      );
    this.#retryLater(() => this.#rebuildIndex());
  }

  /** Runs `retry` after the current backoff (replacing any retry pending), then doubles it up to the max. */
  #retryLater(retry: () => void): void {
    clearTimeout(this.#rebuildTimer);
    this.#rebuildTimer = setTimeout(retry, this.#rebuildDelayMs);
    this.#rebuildTimer.unref();
    this.#rebuildDelayMs = Math.min(this.#rebuildDelayMs * 2, INDEX_REBUILD_DELAY_MAX_MS);
  }

  #rebuildIndex(): void {
    this.#rebuildTimer = undefined;
    // On failure reopen() has reported the fault again, which scheduled the next attempt.
    if (!this.#index.reopen()) return;
    this.#rebuildDelayMs = INDEX_REBUILD_DELAY_MS;
    this.#startRelearning(true, 0);
  }

  /**
   * A version another organisation wrote, whose ciphertext has just arrived from a peer, is
   * indexed if it is still its record's newest, so this node's searches find records shared
   * with it (each hit is still decided before anything is released).
   */
  #indexArrived(version: VersionRow): void {
    // Learnt now, another organisation's record could take the FHIR id of one of ours that the
    // walk has yet to relearn: it waits for the walk's own records (and is looked at after it).
    if (!this.node.pseudonyms.complete) {
      this.#arrivedWhileLearning.push(version);
      return;
    }
    const record = this.node.records.record(version.recordId);
    if (record?.status !== 'active' || record.latestVersion !== version.version) return;
    putEntry(this.node, this.#index, version.recordId);
  }

  /**
   * As blocks commit: this organisation's records the pseudonym map lacks are learnt, and
   * deleted and erased records leave the index, whoever deleted them.
   */
  #followCommitted(writeSet: readonly WriteSetEntry[]): void {
    for (const [table, recordId, value] of writeSet) {
      const record = RECORDS.rowOf(table, value);
      if (record === undefined) continue;
      // After a clean start an active record's pair is known: no lookup per record written.
      if (!this.#mayLackPairs && record.status === 'active') continue;
      // An own record whose pair a power cut took (pairs are not fsynced: the chain has them),
      // committing after the start's rebuild: learnt, and found by search again.
      let fhirId = this.node.pseudonyms.fhirIdOf(recordId);
      if (fhirId === undefined && record.org === this.node.config.orgId) {
        relearnRecord(this.node, this.#index, record);
        fhirId = this.node.pseudonyms.fhirIdOf(recordId);
      }
      if (record.status !== 'active' && fhirId !== undefined)
        this.#index.remove(fhirId.type, fhirId.id);
    }
  }
}

/**
 * Provenance is both: the ledger's derived view of each version (ids `<recordId>.v<n>`, read
 * only) and, when a client sends one (as Synthea does), a record like any other.
 */
function provenanceHandler(derived: FhirProvenance, records: FhirRecords): TypeHandler {
  const isDerived = (id: string): boolean => DERIVED_PROVENANCE_ID.test(id);
  return {
    create: (principal, resource) => records.create(principal, resource),
    update: (principal, type, id, resource, ifMatch) =>
      isDerived(id) ? derived.update() : records.update(principal, type, id, resource, ifMatch),
    delete: (principal, type, id) =>
      isDerived(id) ? derived.delete() : records.delete(principal, type, id),
    read: (principal, type, id, purpose, versionId) =>
      isDerived(id)
        ? derived.read(principal, type, id, purpose)
        : records.read(principal, type, id, purpose, versionId),
    history: (principal, type, id, purpose) =>
      isDerived(id)
        ? derived.history(principal, type, id, purpose)
        : records.history(principal, type, id, purpose),
  };
}
