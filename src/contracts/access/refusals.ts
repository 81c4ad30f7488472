/**
 * Every refusal the access contract gives (TB: domain outcomes are a closed union): a status outside this
 * list does not compile where a contract refuses, and HTTP and FHIR map each one exhaustively.
 */
export const ACCESS_REFUSALS = [
  'denied:already-reviewed',
  'denied:auditor-reads-no-content',
  'denied:no-such-break-the-glass',
  'denied:no-such-patient',
  'denied:no-such-record',
  'denied:no-such-version',
  'denied:not-a-practitioner',
  'denied:not-an-organisation',
  'denied:not-home-organisation',
  'denied:not-shared',
  'denied:not-your-record',
  'denied:organisation-inactive',
  'denied:patient-opted-out',
  'denied:practitioner-suspended',
  'denied:purpose-not-break-the-glass',
  'denied:record-erased',
  'denied:restricted-by-patient',
  'denied:unknown-principal',
  'invalid:bad-body',
  'invalid:note-recipients',
] as const;
export type AccessRefusal = (typeof ACCESS_REFUSALS)[number];
