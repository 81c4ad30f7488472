/**
 * Every refusal the membership contract gives (TB: domain outcomes are a closed union): a status outside this
 * list does not compile where a contract refuses, and HTTP and FHIR map each one exhaustively.
 */
export const MEMBERSHIP_REFUSALS = [
  'denied:already-active',
  'denied:already-suspended',
  'denied:already-voted',
  'denied:consortium-full',
  'denied:genesis-closed',
  'denied:key-in-use',
  'denied:key-unchanged',
  'denied:last-member',
  'denied:no-such-proposal',
  'denied:not-a-member',
  'denied:not-an-organisation',
  'denied:not-your-practitioner',
  'denied:org-exists',
  'denied:patient-exists',
  'denied:practitioner-exists',
  'denied:proposal-closed',
  'denied:proposal-expired',
  'invalid:bad-body',
] as const;
export type MembershipRefusal = (typeof MEMBERSHIP_REFUSALS)[number];
