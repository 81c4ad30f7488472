/** FHIR R4 batch and transaction Bundles: planning (pure), conditional-reference resolution and the response Bundle. */
export { planBundle } from './plan.js';
export { applyResolvedReferences } from './resolve.js';
export { checkTransactionSize } from './size.js';
export {
  responseBundle,
  type BundleEntryResponse,
  type EntryResult,
  type ResponseBundle,
  type ResponseEntry,
  type ReturnPreference,
} from './response.js';
export type {
  BundlePlan,
  ConditionalReference,
  EntryError,
  PlannedEntry,
  PlannedMethod,
} from './types.js';
