/**
 * The FHIR side of one node: a handler per kind of resource, search over a node-local index at
 * `<data>/search.db`, and the index kept in step with deletions and erasures as blocks commit.
 */
import { join } from 'node:path';
import { RECORD_TABLE, type RecordRow, type WriteSetEntry } from '../contracts/index.js';
import type { ChartChainNode } from '../node/index.js';
import { FhirAuditEvents } from './fhir-audit-events.js';
import { FhirConsents } from './fhir-consents.js';
import { FhirProvenance } from './fhir-provenance.js';
import { FhirRecords } from './fhir-records.js';
import { FhirSearch } from './fhir-search.js';
import { SearchIndex } from './search/index.js';
import type { TypeHandler } from './type-handler.js';

/** The search index's file in a node's data directory. */
export const SEARCH_INDEX_FILE = 'search.db';

/** Every FHIR service of one node. */
export class FhirService {
  readonly records: FhirRecords;
  readonly consents: FhirConsents;
  readonly auditEvents: FhirAuditEvents;
  readonly provenance: FhirProvenance;
  readonly search: FhirSearch;
  readonly #index: SearchIndex;
  readonly #handlers: Readonly<Record<string, TypeHandler>>;

  /** `ledger: 'off-for-benchmarks'` is FhirRecords' benchmark switch. */
  constructor(node: ChartChainNode, options: { ledger?: 'on' | 'off-for-benchmarks' } = {}) {
    this.#index = new SearchIndex(join(node.dataDir, SEARCH_INDEX_FILE));
    this.records = new FhirRecords(node, { ledger: options.ledger ?? 'on', index: this.#index });
    this.consents = new FhirConsents(node);
    this.auditEvents = new FhirAuditEvents(node);
    this.provenance = new FhirProvenance(node);
    this.search = new FhirSearch(this.records, this.#index);
    this.#handlers = { Consent: this.consents, AuditEvent: this.auditEvents, Provenance: this.provenance };
    node.onCommitted((writeSet) => this.#unindexRemoved(writeSet));
  }

  /** The handler of `type`'s instance interactions. */
  handlerFor(type: string): TypeHandler {
    return Object.hasOwn(this.#handlers, type) ? this.#handlers[type]! : this.records;
  }

  /** Closes the search index. */
  close(): void {
    this.#index.close();
  }

  /** Deleted and erased records leave the index as their block commits, whoever deleted them. */
  #unindexRemoved(writeSet: readonly WriteSetEntry[]): void {
    for (const [table, recordId, value] of writeSet) {
      if (table !== RECORD_TABLE || value === null) continue;
      const record = value as unknown as RecordRow;
      if (record.status !== 'active') this.#index.remove(record.resourceType, recordId);
    }
  }
}
