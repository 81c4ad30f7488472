/**
 * How the FHIR layer names what the ledger holds under pseudonyms (src/node/pseudonyms.ts):
 * a record by its FHIR type and id, and back; a patient by their FHIR Patient id.
 */
import type { RecordRow } from '../contracts/index.js';
import type { NodeFacade } from '../node/index.js';
import { FhirError } from './outcome.js';

/** Seconds a client is asked to wait while the node relearns FHIR ids from the chain. */
export const RELEARNING_RETRY_AFTER_SECONDS = 5;

/**
 * The ledger record of FHIR `type/id`, when this node knows one of that type. Throws FhirError
 * 503 for an id it does not know while it is still relearning ids from the chain (relearn.ts):
 * the record may well exist, and a 404, or a create under that id, would be wrong.
 */
export function recordOf(node: NodeFacade, type: string, id: string): RecordRow | undefined {
  const recordId = node.pseudonyms.recordIdOf(type, id);
  if (recordId === undefined) refuseWhileRelearning(node);
  const record = recordId === undefined ? undefined : node.records.record(recordId);
  return record?.resourceType === type ? record : undefined;
}

/** The pseudonym of the patient whose FHIR Patient id is `id`, when known here; 503 as recordOf() while ids are relearnt. */
export function patientOf(node: NodeFacade, id: string): string | undefined {
  const patientId = node.pseudonyms.patientIdOf(id);
  if (patientId === undefined) refuseWhileRelearning(node);
  return patientId;
}

function refuseWhileRelearning(node: NodeFacade): void {
  if (node.pseudonyms.complete) return;
  const diagnostics =
    'this node is relearning FHIR ids from the chain after an unclean stop; retry later';
  throw new FhirError(503, [{ severity: 'error', code: 'transient', diagnostics }], {
    'Retry-After': String(RELEARNING_RETRY_AFTER_SECONDS),
  });
}

/** The FHIR 'Type/id' of ledger record `recordId`, when known here. */
export function fhirReferenceOf(node: NodeFacade, recordId: string): string | undefined {
  const fhirId = node.pseudonyms.fhirIdOf(recordId);
  return fhirId === undefined ? undefined : `${fhirId.type}/${fhirId.id}`;
}

/** The FHIR Patient id of pseudonym `patientId`; a patient registered outside FHIR, with no Patient here, keeps the pseudonym. */
export function fhirPatientOf(node: NodeFacade, patientId: string): string {
  return node.pseudonyms.fhirPatientIdOf(patientId) ?? patientId;
}
