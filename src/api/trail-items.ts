/**
 * A patient's trail as the ledger API serves it (GET /ledger/trail, its stream, a
 * break-the-glass event's reads): each audit entry with its inclusion proof and, for an entry
 * about one record, that record's FHIR reference when this node knows its pseudonym's FHIR name.
 */
import type { AuditEntry } from '../contracts/index.js';
import { fhirReferenceOf } from '../fhir/index.js';
import type { NodeFacade, InclusionProofResponse, ProvenEntry } from '../node/index.js';

/** One served trail entry. */
export interface TrailItem {
  readonly entry: AuditEntry;
  readonly proof: InclusionProofResponse;
  /** The FHIR `Type/id` of `entry.recordId`; null without a record, or when this node has not learnt its FHIR name. */
  readonly record: string | null;
}

/** `proven` as served: with the FHIR reference of its record. */
export function trailItemOf(node: NodeFacade, proven: ProvenEntry): TrailItem {
  const { recordId } = proven.entry;
  return {
    entry: proven.entry,
    proof: proven.proof,
    record: recordId === null ? null : (fhirReferenceOf(node, recordId) ?? null),
  };
}

/** The trail of `patientId` from `fromSeq`, at most `limit` entries, as served. */
export function trailItems(
  node: NodeFacade,
  patientId: string,
  options: { fromSeq: number; limit: number },
): TrailItem[] {
  return node.trail(patientId, options).map((proven) => trailItemOf(node, proven));
}
