/** Public API of the agreements contract. */
export { agreementsContract } from './agreements.js';
export { coveringAgreement, type AgreementRefusal, type DisclosureQuery } from './covering.js';
export { AGREEMENT_CODE_PATTERN } from './terms.js';
export * from './tables.js';
