/**
 * AuditEvent as a read-only view of the patients' audit trails. The patient sees their own;
 * this organisation's auditors and system clients see every patient's; practitioners do not.
 */
import {
  AUDIT_ENTRIES,
  auditCount,
  auditKey,
  type AuditEntry,
  type Principal,
} from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { auditEventOf, parseAuditEventId } from './audit-event.js';
import { fhirPatientOf, patientOf } from './ledger-names.js';
import { FhirError } from './outcome.js';
import { ReadOnlyHandler, type ServedVersion } from './type-handler.js';

/** AuditEvent interactions over one node. */
export class FhirAuditEvents extends ReadOnlyHandler {
  constructor(private readonly node: NodeFacade) {
    super();
  }

  protected readonly readOnlyBecause = 'AuditEvents are written by the ledger only';

  async read(
    principal: Principal,
    _type: string,
    id: string,
    _purpose: string,
    versionId?: number,
  ): Promise<ServedVersion> {
    const parsed = parseAuditEventId(id);
    const entry =
      parsed === undefined
        ? undefined
        : AUDIT_ENTRIES.get(this.node.ledger.state, auditKey(parsed.patientId, parsed.seq));
    if (
      parsed === undefined ||
      entry === undefined ||
      !mayReadTrail(principal, parsed.patientId) ||
      (versionId !== undefined && versionId !== 1)
    ) {
      throw FhirError.of(404, 'not-found', `AuditEvent/${id} is not known`);
    }
    return this.#served(parsed.patientId, entry);
  }

  /** Entries of the trail of the patient whose FHIR id is `fhirPatientId`, from `offset`, at most `count`, with the trail's length. */
  search(
    principal: Principal,
    fhirPatientId: string,
    offset: number,
    count: number,
  ): { found: ServedVersion[]; total: number } {
    const patientId = patientOf(this.node, fhirPatientId) ?? '';
    if (!mayReadTrail(principal, patientId))
      throw FhirError.of(
        403,
        'forbidden',
        'only the patient, auditors and system clients read audit events',
      );
    const total = patientId === '' ? 0 : auditCount(this.node.ledger.state, patientId);
    const found: ServedVersion[] = [];
    for (let seq = offset + 1; seq <= Math.min(total, offset + count); seq++) {
      found.push(
        this.#served(
          patientId,
          AUDIT_ENTRIES.get(this.node.ledger.state, auditKey(patientId, seq))!,
        ),
      );
    }
    return { found, total };
  }

  #served(patientId: string, entry: AuditEntry): ServedVersion {
    const names = {
      patient: fhirPatientOf(this.node, patientId),
      fhirIdOf: (recordId: string) => this.node.pseudonyms.fhirIdOf(recordId),
    };
    const resource: JsonObject = auditEventOf(patientId, entry, names);
    return {
      resource,
      versionId: 1,
      lastUpdated: new Date(entry.time).toISOString(),
      txId: entry.txId,
    };
  }
}

/** Who reads a patient's trail: the patient, and this organisation's auditors and system clients. */
export function mayReadTrail(principal: Principal, patientId: string): boolean {
  if (principal.kind === 'patient') return principal.id === patientId;
  return readsTrails(principal);
}

/** Whether `principal` reads any trail at all: a patient (their own), an auditor, a system client. */
export function readsTrails(principal: Principal): boolean {
  return ['patient', 'auditor', 'system'].includes(principal.kind);
}
