/** Public API of the membership contract. */
export { membershipContract } from './membership.js';
export { consentModelOf } from './consent-model.js';
export { resolveSigner } from './directory.js';
export { orgCandidate, type OrgCandidate } from './org-candidate.js';
export * from './tables.js';
export * from './txs.js';
