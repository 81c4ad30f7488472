/**
 * Every refusal the consent contract gives (TB: domain outcomes are a closed union): a status outside this
 * list does not compile where a contract refuses, and HTTP and FHIR map each one exhaustively.
 */
export const CONSENT_CONTRACT_REFUSALS = [
  'denied:action-not-permitted',
  'denied:consent-expired',
  'denied:consent-not-started',
  'denied:consent-revoked',
  'denied:grant-exists',
  'denied:grant-revoked',
  'denied:label-excluded',
  'denied:no-consent',
  'denied:no-such-grant',
  'denied:no-such-grantee',
  'denied:no-such-practitioner',
  'denied:no-such-restriction',
  'denied:not-a-patient',
  'denied:out-of-scope',
  'denied:purpose-not-permitted',
  'denied:restriction-exists',
  'denied:restriction-lifted',
  'denied:too-many-grants',
  'denied:too-many-restrictions',
  'invalid:bad-body',
] as const;
export type ConsentContractRefusal = (typeof CONSENT_CONTRACT_REFUSALS)[number];
