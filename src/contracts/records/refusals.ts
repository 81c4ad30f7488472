import type { ConsentRefusal } from '../consent/index.js';

/**
 * Every refusal the records contract gives (TB: domain outcomes are a closed union): a status outside this
 * list does not compile where a contract refuses, and HTTP and FHIR map each one exhaustively.
 */
export const RECORDS_REFUSALS = [
  'denied:already-confirmed',
  'denied:grant-not-readable',
  'denied:legal-basis-required',
  'denied:missing-envelope',
  'denied:no-such-grant',
  'denied:no-such-grantee',
  'denied:no-such-patient',
  'denied:no-such-record',
  'denied:no-such-version',
  'denied:not-a-patient',
  'denied:not-a-practitioner',
  'denied:not-an-organisation',
  'denied:not-entitled',
  'denied:not-erased',
  'denied:not-your-record',
  'denied:record-deleted',
  'denied:record-erased',
  'denied:record-exists',
  'denied:too-many-envelopes',
  'denied:version-conflict',
  'invalid:bad-body',
] as const;
/** Its own refusals, and consent's refusal of a write from outside the patient's home organisation (writeRefusal). */
export type RecordsRefusal = (typeof RECORDS_REFUSALS)[number] | ConsentRefusal;
