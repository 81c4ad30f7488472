/** Public API of src/fhir: FHIR R4 mapping of ChartChain state. For now, consent grants ⇄ Consent. */
export { grantToConsent, consentToGrantTerms, type ConsentIssue, type ConsentWriteOptions, type GrantTermsResult } from './consent.js';
export type { Coding, CodeableConcept, Consent, ConsentActor, ConsentData, ConsentProvision, Identifier, Period, Reference } from './datatypes.js';
export { RECORD_ID_SYSTEM, securityLabelSystem } from './terminology.js';
