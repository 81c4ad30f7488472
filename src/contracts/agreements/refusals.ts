/**
 * Every refusal the agreements contract gives (TB: domain outcomes are a closed union): a status outside this
 * list does not compile where a contract refuses, and HTTP and FHIR map each one exhaustively.
 */
export const AGREEMENTS_REFUSALS = [
  'denied:agreement-active',
  'denied:agreement-exists',
  'denied:agreement-expired',
  'denied:agreement-label',
  'denied:agreement-purpose',
  'denied:agreement-scope',
  'denied:agreement-terminated',
  'denied:no-agreement',
  'denied:no-such-agreement',
  'denied:not-a-member',
  'denied:not-a-party',
  'denied:not-an-organisation',
  'denied:proposer-cannot-countersign',
  'denied:too-many-agreements',
  'invalid:bad-body',
] as const;
export type AgreementsRefusal = (typeof AGREEMENTS_REFUSALS)[number];
