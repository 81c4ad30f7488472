/** Public API of src/fhir: FHIR R4 on ChartChain: resources as encrypted records, Consent ⇄ grants, OperationOutcome errors. */
export {
  grantToConsent,
  consentToGrantTerms,
  type ConsentIssue,
  type ConsentWriteOptions,
  type GrantTermsResult,
} from './consent.js';
export type {
  Coding,
  CodeableConcept,
  Consent,
  ConsentActor,
  ConsentData,
  ConsentProvision,
  Identifier,
  Period,
  Reference,
} from './datatypes.js';
export { RECORD_ID_SYSTEM, securityLabelSystem } from './terminology.js';
export { capabilityStatement } from './capability.js';
export { etagOf, etagVersion } from './etag.js';
export { defaultPurpose, FhirRecords } from './fhir-records.js';
export { applyPatch, JsonPatchError, parsePatch, type PatchOperation } from './json-patch.js';
export { applyFhirPathPatch } from './fhirpath-patch.js';
export { FhirConsents } from './fhir-consents.js';
export { FhirAuditEvents } from './fhir-audit-events.js';
export { FhirProvenance, TX_SIG_FORMAT } from './fhir-provenance.js';
export {
  checkResourceProof,
  proofFromParameters,
  proofParameters,
  type ProofCheck,
  type ResourceProof,
} from './resource-proof.js';
export { auditEventOf, AUDIT_KIND_SYSTEM, TX_ID_SYSTEM } from './audit-event.js';
export type { HistoryEntry, ServedVersion, TypeHandler } from './type-handler.js';
export {
  FhirError,
  operationOutcome,
  type IssueCode,
  type OperationOutcome,
  type OutcomeIssue,
} from './outcome.js';
export {
  DIRECTORY_TYPES,
  isResourceTypeName,
  PATIENT_REFERENCE_ELEMENT,
  patientIdOf,
  SERVED_TYPES,
} from './patient-of.js';
export {
  loadValidator,
  validateResource,
  type ValidationIssue,
  type ValidationIssueCode,
} from './validation/validate.js';
export {
  failureEntry,
  FhirSearch,
  nextOffsetOf,
  type SearchCaller,
  type SearchFailure,
  type SearchPage,
} from './fhir-search.js';
export { FhirService, SEARCH_INDEX_FILE } from './fhir-service.js';
export { FhirSubscriptions, type SessionCheck } from './subscriptions/fhir-subscriptions.js';
export {
  escapeV2,
  parseV2,
  v2Bundle,
  V2MessageError,
  v2Text,
  v2TextAnyway,
  type V2Message,
} from './v2/index.js';
export {
  EXPORT_TYPES,
  groupPatients,
  type ExportRequest,
  type ExportStatus,
  type FhirBulkExport,
} from './bulk-export.js';
export { nodeLedger, type CommittedVersion, type RecordLedger } from './record-ledger.js';
export { searchPage, SearchIndex, type IndexedMeta, type SearchResult } from './search/index.js';
export { FhirBundles } from './fhir-bundles.js';
export { storageError, STORAGE_RETRY_AFTER_SECONDS } from './storage-errors.js';
export type { BundleWrite, BundleWriteResult } from './fhir-records.js';
export {
  fhirPatientOf,
  fhirReferenceOf,
  patientOf,
  recordOf,
  RELEARNING_RETRY_AFTER_SECONDS,
} from './ledger-names.js';
export { relearnFromChain, type Relearning } from './relearn.js';
