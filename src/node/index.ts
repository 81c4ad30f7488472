/** Public API of src/node: the node, its proofs, and chain verification. Knows nothing of HTTP. */
export { ChartChainNode, isInitialised, type InitOptions, type SubmitRejection, type SubmitResult, type TxLookup } from './node.js';
export { readNodeConfig, writeNodeConfig, DEFAULT_ORDERER, type NodeConfig, type OrdererKind } from './node-config.js';
export { inclusionProof, consistencyProof, ProofRequestError, type InclusionProofResponse, type ConsistencyProofResponse } from './proofs.js';
export { BlockValidationError } from './block-validation.js';
export { verifyBlocks, storedBlocks, compareStoredState, compareStoredLog, ChainVerificationError, type VerifySummary, type VerifyProgress } from './verify-chain.js';
export { exportChain, readExport, type ExportPreamble } from './chain-export.js';
export { SignatureCache } from './signature-cache.js';
export { MemoryChain } from './memory-chain.js';
export { verifyDataDir, verifyExportFile, countBlocks, type VerifyOptions } from './verify-sources.js';
export { loadOrgKeys, type OrgKeys } from './org-keys.js';
export { erasureLine, erasureStatus, erasureStatuses, type ErasureStatus } from './erasures.js';
export { NodeAccess, AccessLogUnavailableError, type AccessResult, type ProvenEntry } from './access-api.js';
export { NodeConsent } from './consent-api.js';
export type { NodeAlarm, RecordReader, VersionInput } from './records-api.js';
