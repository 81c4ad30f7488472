/**
 * AuditEvent as a read-only view of the patients' audit trails. The patient sees their own;
 * this organisation's auditors and system clients see every patient's; practitioners do not.
 */
import { AUDIT_ENTRY_TABLE, auditCount, auditKey, RECORD_TABLE, type AuditEntry, type Principal, type RecordRow } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { ChartChainNode } from '../node/index.js';
import { auditEventOf, parseAuditEventId } from './audit-event.js';
import { FhirError } from './outcome.js';
import type { HistoryEntry, ServedVersion, TypeHandler } from './type-handler.js';

/** AuditEvent interactions over one node. */
export class FhirAuditEvents implements TypeHandler {
  constructor(private readonly node: ChartChainNode) {}

  async create(): Promise<ServedVersion> {
    throw readOnly();
  }

  async update(): Promise<ServedVersion & { created: boolean }> {
    throw readOnly();
  }

  async delete(): Promise<number | undefined> {
    throw readOnly();
  }

  async read(principal: Principal, _type: string, id: string, _purpose: string, versionId?: number): Promise<ServedVersion> {
    const parsed = parseAuditEventId(id);
    const entry = parsed === undefined ? undefined : (this.node.store.state.get(AUDIT_ENTRY_TABLE, auditKey(parsed.patientId, parsed.seq)) as AuditEntry | undefined);
    if (parsed === undefined || entry === undefined || !mayRead(principal, parsed.patientId) || (versionId !== undefined && versionId !== 1)) {
      throw FhirError.of(404, 'not-found', `AuditEvent/${id} is not known`);
    }
    return this.#served(parsed.patientId, entry);
  }

  async history(principal: Principal, type: string, id: string, purpose: string): Promise<HistoryEntry[]> {
    return [await this.read(principal, type, id, purpose)];
  }

  /** Entries of `patientId`'s trail from `offset`, at most `count`, with the trail's length. */
  search(principal: Principal, patientId: string, offset: number, count: number): { found: ServedVersion[]; total: number } {
    if (!mayRead(principal, patientId)) throw FhirError.of(403, 'forbidden', 'only the patient, auditors and system clients read audit events');
    const total = auditCount(this.node.store.state, patientId);
    const found: ServedVersion[] = [];
    for (let seq = offset + 1; seq <= Math.min(total, offset + count); seq++) {
      found.push(this.#served(patientId, this.node.store.state.get(AUDIT_ENTRY_TABLE, auditKey(patientId, seq)) as unknown as AuditEntry));
    }
    return { found, total };
  }

  #served(patientId: string, entry: AuditEntry): ServedVersion {
    const record = entry.recordId === null ? undefined : (this.node.store.state.get(RECORD_TABLE, entry.recordId) as RecordRow | undefined);
    const resource: JsonObject = auditEventOf(patientId, entry, record?.resourceType);
    return { resource, versionId: 1, lastUpdated: new Date(entry.time).toISOString(), txId: entry.txId };
  }
}

function mayRead(principal: Principal, patientId: string): boolean {
  if (principal.kind === 'patient') return principal.id === patientId;
  return principal.kind === 'auditor' || principal.kind === 'system';
}

function readOnly(): FhirError {
  return FhirError.of(405, 'not-supported', 'AuditEvents are written by the ledger only');
}
