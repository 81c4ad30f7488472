/** The access contract: the access log, break-the-glass and its review, and the access decision. */
export { accessContract } from './access.js';
export {
  decideAccess,
  SHARED_DIRECTORY_TYPES,
  type AccessDecision,
  type AccessRequest,
} from './decide.js';
export * from './tables.js';
export type { NamedPrincipal } from './principal-body.js';
export { principalKey } from './principal-key.js';
export type { ListedRecord } from './search-body.js';
export * from './txs.js';
