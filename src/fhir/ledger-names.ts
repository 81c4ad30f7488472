/**
 * How the FHIR layer names what the ledger holds under pseudonyms (src/node/pseudonyms.ts):
 * a record by its FHIR type and id, and back; a patient by their FHIR Patient id.
 */
import type { RecordRow } from '../contracts/index.js';
import type { NodeFacade } from '../node/index.js';

/** The ledger record of FHIR `type/id`, when this node knows one of that type. */
export function recordOf(node: NodeFacade, type: string, id: string): RecordRow | undefined {
  const recordId = node.pseudonyms.recordIdOf(type, id);
  const record = recordId === undefined ? undefined : node.records.record(recordId);
  return record?.resourceType === type ? record : undefined;
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
