/**
 * Which patient a resource belongs to: ChartChain stores resources of the R4 Patient
 * compartment (hl7.org/fhir/R4/compartmentdefinition-patient.html), each under its patient.
 */
import { SHARED_DIRECTORY_TYPES } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { loadR4Definitions } from './validation/definitions.js';

/** The element that names the patient, for the compartment types the API serves. */
export const PATIENT_REFERENCE_ELEMENT: Readonly<Record<string, string>> = {
  AllergyIntolerance: 'patient',
  CarePlan: 'subject',
  CareTeam: 'subject',
  Claim: 'patient',
  Condition: 'subject',
  Coverage: 'beneficiary',
  Device: 'patient',
  DiagnosticReport: 'subject',
  DocumentReference: 'subject',
  Encounter: 'subject',
  ExplanationOfBenefit: 'patient',
  Goal: 'subject',
  ImagingStudy: 'subject',
  Immunization: 'patient',
  MedicationAdministration: 'subject',
  MedicationRequest: 'subject',
  MedicationStatement: 'subject',
  Observation: 'subject',
  Procedure: 'subject',
  Provenance: 'target',
  ServiceRequest: 'subject',
};

/**
 * Directory types: resources about organisations and their staff and places, not about one
 * patient. They are stored as directory records, read by their organisation without consent
 * (its patients and auditors only the types the access contract shares with them: not a Group,
 * which lists patients). Any other type outside the Patient compartment is refused rather than
 * guessed at.
 */
export const DIRECTORY_TYPES: readonly string[] = [...SHARED_DIRECTORY_TYPES, 'Group'].sort();

/** Every type stored as records: Patient, the compartment types above, and the directory types. */
export const SERVED_TYPES: readonly string[] = [
  'Patient',
  ...Object.keys(PATIENT_REFERENCE_ELEMENT),
  ...DIRECTORY_TYPES,
].sort();

/**
 * The id of the patient `resource` belongs to, or a reason it has none: for a Patient, its own
 * id; for a directory type, null; otherwise the 'Patient/<id>' reference in its compartment element.
 */
export function patientIdOf(
  resource: JsonObject,
  id: string,
): { patientId: string | null } | { missing: string } {
  const type = String(resource['resourceType']);
  if (type === 'Patient') return { patientId: id };
  if (DIRECTORY_TYPES.includes(type)) return { patientId: null };
  const element = PATIENT_REFERENCE_ELEMENT[type];
  if (element === undefined)
    return {
      missing: `${type} is not stored here: only Patient-compartment and directory types are`,
    };
  // Most compartment elements hold one Reference; Provenance.target holds many, one of them the patient.
  const value = resource[element];
  const candidates = Array.isArray(value) ? value : [value];
  for (const candidate of candidates) {
    const reference =
      candidate !== null && typeof candidate === 'object' && !Array.isArray(candidate)
        ? candidate['reference']
        : undefined;
    const match =
      typeof reference === 'string'
        ? /^(?:.*\/)?Patient\/([A-Za-z0-9.-]{1,64})$/.exec(reference)
        : null;
    if (match !== null) return { patientId: match[1]! };
  }
  return { missing: `${type}.${element} must reference the patient as Patient/[id]` };
}

/** True when `name` is a FHIR R4 resource type. */
export function isResourceTypeName(name: string): boolean {
  return loadR4Definitions().resourceTypes.has(name);
}
