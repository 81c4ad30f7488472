/**
 * The FHIR R4 search parameters this node indexes (hl7.org/fhir/R4/searchparameter-registry.html),
 * with the R4 names and types. Paths are simple dotted element names from the resource root:
 * each step descends into an object or every item of an array, and a step ending in `[x]` is a
 * choice element that matches every `<name><Type>` key, such as effectiveDateTime and
 * effectivePeriod for `effective[x]`. Values of a type the parameter cannot index (a string in
 * onset[x] for a date parameter) are skipped at extraction.
 */

/** R4 search parameter types handled here (hl7.org/fhir/R4/search.html#ptypes). */
export type SearchParameterKind = 'token' | 'date' | 'string' | 'quantity' | 'reference';

/** One search parameter: its type, where its values are, and for references the types it may point at. */
export interface SearchParameterDefinition {
  readonly kind: SearchParameterKind;
  readonly paths: readonly string[];
  /** Reference parameters only: the resource types a reference may name; others are not indexed. */
  readonly target?: readonly string[];
}

type ParameterTable = Readonly<Record<string, SearchParameterDefinition>>;

/** Parameters for all resources (R4 search.html#all): _id, _lastUpdated and _security. */
export const COMMON_SEARCH_PARAMETERS: ParameterTable = {
  _id: { kind: 'token', paths: ['id'] },
  _lastUpdated: { kind: 'date', paths: ['meta.lastUpdated'] },
  _security: { kind: 'token', paths: ['meta.security'] },
};

const PATIENT_ONLY = ['Patient'] as const;
const PATIENT_OR_GROUP = ['Patient', 'Group'] as const;
const OBSERVATION_SUBJECTS = ['Patient', 'Group', 'Device', 'Location'] as const;

/** The patient parameter of a resource whose subject names the patient: the subject, when it references a Patient. */
function patientBySubject(): SearchParameterDefinition {
  return { kind: 'reference', paths: ['subject'], target: PATIENT_ONLY };
}

/** Type-specific parameters, by resource type then parameter name. */
export const SEARCH_PARAMETERS: Readonly<Record<string, ParameterTable>> = {
  Patient: {
    name: {
      kind: 'string',
      paths: ['name.family', 'name.given', 'name.text', 'name.prefix', 'name.suffix'],
    },
    family: { kind: 'string', paths: ['name.family'] },
    given: { kind: 'string', paths: ['name.given'] },
    birthdate: { kind: 'date', paths: ['birthDate'] },
    gender: { kind: 'token', paths: ['gender'] },
    identifier: { kind: 'token', paths: ['identifier'] },
  },
  // Directory types: what conditional references (Organization?identifier=sys|val) and clinicians look up.
  Organization: {
    identifier: { kind: 'token', paths: ['identifier'] },
    name: { kind: 'string', paths: ['name', 'alias'] },
  },
  Practitioner: {
    identifier: { kind: 'token', paths: ['identifier'] },
    name: {
      kind: 'string',
      paths: ['name.family', 'name.given', 'name.text', 'name.prefix', 'name.suffix'],
    },
    family: { kind: 'string', paths: ['name.family'] },
    given: { kind: 'string', paths: ['name.given'] },
  },
  PractitionerRole: {
    identifier: { kind: 'token', paths: ['identifier'] },
    practitioner: { kind: 'reference', paths: ['practitioner'], target: ['Practitioner'] },
    organization: { kind: 'reference', paths: ['organization'], target: ['Organization'] },
  },
  Location: {
    identifier: { kind: 'token', paths: ['identifier'] },
    name: { kind: 'string', paths: ['name', 'alias'] },
  },
  Observation: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: OBSERVATION_SUBJECTS },
    patient: patientBySubject(),
    code: { kind: 'token', paths: ['code'] },
    date: { kind: 'date', paths: ['effective[x]'] },
    category: { kind: 'token', paths: ['category'] },
    'value-quantity': { kind: 'quantity', paths: ['valueQuantity'] },
    status: { kind: 'token', paths: ['status'] },
  },
  Condition: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: PATIENT_OR_GROUP },
    patient: patientBySubject(),
    code: { kind: 'token', paths: ['code'] },
    'onset-date': { kind: 'date', paths: ['onset[x]'] },
    'clinical-status': { kind: 'token', paths: ['clinicalStatus'] },
    category: { kind: 'token', paths: ['category'] },
  },
  Encounter: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: PATIENT_OR_GROUP },
    patient: patientBySubject(),
    date: { kind: 'date', paths: ['period'] },
    status: { kind: 'token', paths: ['status'] },
    class: { kind: 'token', paths: ['class'] },
    type: { kind: 'token', paths: ['type'] },
  },
  MedicationRequest: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: PATIENT_OR_GROUP },
    patient: patientBySubject(),
    code: { kind: 'token', paths: ['medicationCodeableConcept'] },
    authoredon: { kind: 'date', paths: ['authoredOn'] },
    status: { kind: 'token', paths: ['status'] },
    intent: { kind: 'token', paths: ['intent'] },
  },
  AllergyIntolerance: {
    identifier: { kind: 'token', paths: ['identifier'] },
    patient: { kind: 'reference', paths: ['patient'], target: PATIENT_ONLY },
    code: { kind: 'token', paths: ['code', 'reaction.substance'] },
    'clinical-status': { kind: 'token', paths: ['clinicalStatus'] },
    date: { kind: 'date', paths: ['recordedDate'] },
  },
  DiagnosticReport: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: OBSERVATION_SUBJECTS },
    patient: patientBySubject(),
    code: { kind: 'token', paths: ['code'] },
    date: { kind: 'date', paths: ['effective[x]'] },
    status: { kind: 'token', paths: ['status'] },
    category: { kind: 'token', paths: ['category'] },
  },
  Procedure: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: PATIENT_OR_GROUP },
    patient: patientBySubject(),
    code: { kind: 'token', paths: ['code'] },
    date: { kind: 'date', paths: ['performed[x]'] },
    status: { kind: 'token', paths: ['status'] },
  },
  DocumentReference: {
    identifier: { kind: 'token', paths: ['identifier'] },
    subject: { kind: 'reference', paths: ['subject'], target: OBSERVATION_SUBJECTS },
    patient: patientBySubject(),
    type: { kind: 'token', paths: ['type'] },
    category: { kind: 'token', paths: ['category'] },
    date: { kind: 'date', paths: ['date'] },
    status: { kind: 'token', paths: ['status'] },
  },
  Immunization: {
    identifier: { kind: 'token', paths: ['identifier'] },
    patient: { kind: 'reference', paths: ['patient'], target: PATIENT_ONLY },
    'vaccine-code': { kind: 'token', paths: ['vaccineCode'] },
    date: { kind: 'date', paths: ['occurrence[x]'] },
    status: { kind: 'token', paths: ['status'] },
  },
  // The other Patient-compartment types: `patient` only, so $everything and a Group export reach them.
  CarePlan: { patient: patientBySubject() },
  CareTeam: { patient: patientBySubject() },
  Claim: { patient: { kind: 'reference', paths: ['patient'], target: PATIENT_ONLY } },
  Coverage: { patient: { kind: 'reference', paths: ['beneficiary'], target: PATIENT_ONLY } },
  Device: { patient: { kind: 'reference', paths: ['patient'], target: PATIENT_ONLY } },
  ExplanationOfBenefit: {
    patient: { kind: 'reference', paths: ['patient'], target: PATIENT_ONLY },
  },
  Goal: { patient: patientBySubject() },
  ImagingStudy: { patient: patientBySubject() },
  MedicationAdministration: { patient: patientBySubject() },
  MedicationStatement: { patient: patientBySubject() },
  // R4: target.where(resolve() is Patient); the index keeps only the targets that name a Patient.
  Provenance: { patient: { kind: 'reference', paths: ['target'], target: PATIENT_ONLY } },
  ServiceRequest: { patient: patientBySubject() },
};

/** The definition of parameter `name` on `type`, or undefined when this node does not index it. */
export function searchParameter(type: string, name: string): SearchParameterDefinition | undefined {
  if (Object.hasOwn(COMMON_SEARCH_PARAMETERS, name)) return COMMON_SEARCH_PARAMETERS[name];
  const table = Object.hasOwn(SEARCH_PARAMETERS, type) ? SEARCH_PARAMETERS[type]! : {};
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Every parameter indexed for `type`, common ones first, as [name, definition] pairs. */
export function searchParametersOf(type: string): [string, SearchParameterDefinition][] {
  const own = Object.hasOwn(SEARCH_PARAMETERS, type) ? SEARCH_PARAMETERS[type]! : {};
  return [...Object.entries(COMMON_SEARCH_PARAMETERS), ...Object.entries(own)];
}
