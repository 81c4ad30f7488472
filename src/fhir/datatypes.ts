/**
 * The few FHIR R4 datatypes and the Consent resource, as plain JSON object types: only the
 * elements ChartChain writes (hl7.org/fhir/R4/datatypes.html, hl7.org/fhir/R4/consent.html).
 * Input is never trusted to have these shapes; readers take `unknown` and check every field.
 */

/** A code from a code system (R4 datatypes.html#Coding). */
export interface Coding {
  system: string;
  code: string;
  display?: string;
}

/** One concept, as codings from one or more systems (R4 datatypes.html#CodeableConcept). */
export interface CodeableConcept {
  coding: Coding[];
  text?: string;
}

/** A business identifier (R4 datatypes.html#Identifier). */
export interface Identifier {
  system: string;
  value: string;
}

/** A literal reference 'Type/id' (relative or absolute), or a logical one by identifier (R4 references.html). */
export interface Reference {
  reference?: string;
  identifier?: Identifier;
  display?: string;
}

/** A time range; `end` is inclusive at its stated precision (R4 datatypes.html#Period). */
export interface Period {
  start?: string;
  end?: string;
}

/** Consent.provision.actor: who the rule applies to, and in what role. */
export interface ConsentActor {
  role: CodeableConcept;
  reference: Reference;
}

/** Consent.provision.data: a resource the rule is about. */
export interface ConsentData {
  meaning: 'instance' | 'related' | 'dependents' | 'authoredby';
  reference: Reference;
}

/** Consent.provision: a permit or deny rule, with nested exceptions. */
export interface ConsentProvision {
  type?: 'deny' | 'permit';
  period?: Period;
  actor?: ConsentActor[];
  action?: CodeableConcept[];
  securityLabel?: Coding[];
  purpose?: Coding[];
  class?: Coding[];
  data?: ConsentData[];
  provision?: ConsentProvision[];
}

/** The R4 Consent resource, reduced to the elements a ChartChain grant maps to. */
export interface Consent {
  resourceType: 'Consent';
  id?: string;
  status: 'draft' | 'proposed' | 'active' | 'rejected' | 'inactive' | 'entered-in-error';
  scope: CodeableConcept;
  category: CodeableConcept[];
  patient: Reference;
  dateTime?: string;
  policyRule: CodeableConcept;
  provision: ConsentProvision;
}
