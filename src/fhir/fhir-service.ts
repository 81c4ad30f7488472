/**
 * The FHIR side of one node: a handler per kind of resource, search over a node-local index at
 * `<data>/search.db`, and both the index and the node's map of FHIR ids to ledger pseudonyms
 * kept in step with the chain as blocks commit and ciphertexts arrive.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RECORDS,
  RECORD_TABLE,
  type RecordRow,
  type VersionRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { FhirAuditEvents } from './fhir-audit-events.js';
import { learnFrom, learnIds, learnRecord, readerHere } from './learn-ids.js';
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
  SearchIndex,
  type IndexedMeta,
  type SearchIndexFault,
} from './search/index.js';
import type { TypeHandler } from './type-handler.js';

/** The search index's file in a node's data directory. */
export const SEARCH_INDEX_FILE = 'search.db';

/** First wait before rebuilding a faulted search index, doubling after each failed attempt up to the max. */
const INDEX_REBUILD_DELAY_MS = 1_000;
const INDEX_REBUILD_DELAY_MAX_MS = 60_000;

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

  /**
   * Opens the index, rebuilding it from the chain when it is missing, was made by an older
   * schema or parameter set, or the last process using it did not close it (puts are not
   * fsynced, so a crash may have lost the newest). FHIR ids are learnt from the chain in the
   * same cases, and when the pseudonym map is new: after a clean close the map has every pair
   * this node could learn, and learning reads every record on the chain.
   * Writes commit through `options.ledger`, the node's own unless a benchmark passes another.
   */
  constructor(
    private readonly node: NodeFacade,
    options: { ledger?: RecordLedger | undefined; sessionActive?: SessionCheck } = {},
  ) {
    const path = join(node.dataDir, SEARCH_INDEX_FILE);
    this.#inUse = `${path}.in-use`;
    const rebuild = !existsSync(path) || existsSync(this.#inUse) || !hasCurrentSchema(path);
    this.#mayLackPairs = node.pseudonyms.incomplete;
    if (rebuild)
      for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
    writeFileSync(this.#inUse, `${process.pid}\n`);
    if (rebuild || node.pseudonyms.incomplete) {
      learnIds(node);
      node.pseudonyms.learnt();
    }
    this.#index = new SearchIndex(path, { onFault: (fault) => this.#indexFaulted(fault) });
    if (rebuild) this.#index.putAll(indexableRecords(node));
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

  /** Closes the search index; the next start trusts it as complete (unless it is still awaiting its rebuild). */
  async close(): Promise<void> {
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
    clearTimeout(this.#rebuildTimer);
    this.#rebuildTimer = setTimeout(() => this.#rebuildIndex(), this.#rebuildDelayMs);
    this.#rebuildTimer.unref();
    this.#rebuildDelayMs = Math.min(this.#rebuildDelayMs * 2, INDEX_REBUILD_DELAY_MAX_MS);
  }

  #rebuildIndex(): void {
    this.#rebuildTimer = undefined;
    // On failure rebuild() has reported the fault again, which scheduled the next attempt.
    if (this.#index.rebuild(() => indexableRecords(this.node)))
      this.#rebuildDelayMs = INDEX_REBUILD_DELAY_MS;
  }

  /**
   * A version another organisation wrote, whose ciphertext has just arrived from a peer, is
   * indexed if it is still its record's newest, so this node's searches find records shared
   * with it (each hit is still decided before anything is released).
   */
  #indexArrived(version: VersionRow): void {
    const record = this.node.records.record(version.recordId);
    if (record?.status !== 'active' || record.latestVersion !== version.version) return;
    const entry = indexEntry(this.node, version.recordId);
    if (entry !== undefined) this.#index.putSoon(entry.resource, entry.meta);
  }

  /** Learns `record`'s FHIR id again and, while it is active, indexes it again (indexing learns it too). */
  #relearn(record: RecordRow): void {
    if (record.status !== 'active') return learnRecord(this.node, record);
    const entry = indexEntry(this.node, record.recordId);
    if (entry !== undefined) this.#index.putSoon(entry.resource, entry.meta);
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
        this.#relearn(record);
        fhirId = this.node.pseudonyms.fhirIdOf(recordId);
      }
      if (record.status !== 'active' && fhirId !== undefined)
        this.#index.remove(fhirId.type, fhirId.id);
    }
  }
}

/** Every active record this organisation can decrypt, as index entries: the index rebuilt from the chain. */
function indexableRecords(node: NodeFacade): { resource: JsonObject; meta: IndexedMeta }[] {
  const entries: { resource: JsonObject; meta: IndexedMeta }[] = [];
  for (const recordId of node.ledger.stateKeys(RECORD_TABLE)) {
    if (node.records.record(recordId)?.status !== 'active') continue;
    const entry = indexEntry(node, recordId);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** The index entry of `recordId`'s newest version, under its FHIR id; undefined when this organisation cannot decrypt it. */
function indexEntry(
  node: NodeFacade,
  recordId: string,
): { resource: JsonObject; meta: IndexedMeta } | undefined {
  const record = node.records.record(recordId);
  const latest =
    record === undefined ? undefined : node.records.version(recordId, record.latestVersion);
  const reader = latest === undefined ? undefined : readerHere(node, latest);
  if (reader === undefined) return undefined;
  try {
    const { resource, version } = node.records.read(reader, recordId);
    learnFrom(node.pseudonyms, version, resource);
    // The index holds what this organisation's keys and its practitioners' open: a record
    // wrapped to a custodial patient alone (not to this organisation) names its FHIR id here,
    // nothing more.
    if (reader.kind === 'patient') return undefined;
    const fhirId = node.pseudonyms.fhirIdOf(recordId);
    // A FHIR id another record holds here already: the record stays out of the index rather than replace it.
    if (fhirId === undefined || fhirId.type !== resource['resourceType']) return undefined;
    return {
      resource: { ...resource, id: fhirId.id },
      meta: { patientId: version.patientId, lastUpdated: version.time },
    };
  } catch {
    return undefined; // not wrapped for the key it names after all, or failing its integrity checks (which raise an alarm)
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
