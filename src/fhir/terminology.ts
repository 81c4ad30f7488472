/**
 * Code systems and codes of the Consent mapping (hl7.org/fhir/R4/consent.html#terminology), and
 * the identifier systems ChartChain mints for its own ids.
 */
import type { ConsentAction } from '../contracts/index.js';
import type { CodeableConcept, Coding } from './datatypes.js';

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const LOINC_SYSTEM = 'http://loinc.org';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const PARTICIPATION_TYPE_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types';
/** Identifier system of ChartChain record ids, for logical references to records in Consent.provision.data. */
export const RECORD_ID_SYSTEM = 'urn:chartchain:record-id';

/** Roles of Consent.provision.actor read as the grantee: information recipient, and its specialisation primary recipient. */
export const RECIPIENT_ROLES: readonly string[] = ['IRCP', 'PRCP'];

/**
 * ChartChain action → consentaction code. There is no 'write' in consentaction: 'correct'
 * ("allow manipulation of information, e.g. correction") is the closest, and the only code read
 * back as 'write'. 'collect', 'use' and 'disclose' have no ChartChain equivalent.
 */
export const ACTION_CODES: Readonly<Record<ConsentAction, { code: string; display: string }>> = {
  read: { code: 'access', display: 'Access' },
  write: { code: 'correct', display: 'Access and Correct' },
};

/** Every consentaction code (R4 codesystem-consent-action), so an unknown code is a bad value, not a gap. */
export const CONSENT_ACTION_CODES: readonly string[] = [
  'collect',
  'access',
  'use',
  'disclose',
  'correct',
];

/** Confidentiality codes (v3-Confidentiality); every other security label is taken to be a v3-ActCode. */
const CONFIDENTIALITY_CODES: readonly string[] = ['U', 'L', 'M', 'N', 'R', 'V'];

/**
 * The code system of a security label code: v3-Confidentiality for U, L, M, N, R and V, and
 * v3-ActCode otherwise, which holds the sensitivity codes (PSY, HIV, ETH, SEX, ...), the privacy
 * laws (42CFRPart2, ...) and the handling policies. Labels live in grants as bare codes, so this
 * table is what keeps a label's system stable across the round trip.
 */
export function securityLabelSystem(code: string): string {
  return CONFIDENTIALITY_CODES.includes(code) ? CONFIDENTIALITY_SYSTEM : ACT_CODE_SYSTEM;
}

/** A CodeableConcept of one Coding. */
export function concept(system: string, code: string, display?: string): CodeableConcept {
  const coding: Coding = display === undefined ? { system, code } : { system, code, display };
  return { coding: [coding] };
}
