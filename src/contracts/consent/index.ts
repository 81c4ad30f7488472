/** The consent contract: patients' grants, revocations, restrictions of their home organisation and break-the-glass choice. */
export { consentContract, grantsOf, patientConsent } from './consent.js';
export {
  CONSENT_REFUSALS,
  coveringGrant,
  coversRecord,
  readGrantsCovering,
  writeRefusal,
  type ConsentQuery,
  type ConsentRefusal,
} from './covering.js';
export {
  HOME_ORGANISATION_PURPOSES,
  restrictionCovering,
  type RestrictionQuery,
} from './home-organisation.js';
export { restrictionsOf } from './restriction.js';
export * from './tables.js';
export * from './txs.js';
