/** The consent contract: patients' grants, revocations and break-the-glass choice. */
export { consentContract, grantsOf, patientConsent } from './consent.js';
export { CONSENT_REFUSALS, coveringGrant, coversRecord, readGrantsCovering, writeRefusal, type ConsentQuery, type ConsentRefusal } from './covering.js';
export { GRANT_COUNT_MAX, GRANT_LIST_COUNT_MAX } from './limits.js';
export * from './tables.js';
