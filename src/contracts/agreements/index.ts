/** Public API of the agreements contract. */
export { agreementsContract } from './agreements.js';
export { coveringAgreement, type AgreementRefusal, type DisclosureQuery } from './covering.js';
export * from './tables.js';
export * from './txs.js';
