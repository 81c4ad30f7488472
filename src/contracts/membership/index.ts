/** Public API of the membership contract. */
export { membershipContract } from './membership.js';
export { resolveSigner } from './directory.js';
export * from './tables.js';
