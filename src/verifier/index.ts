/**
 * Public API of src/verifier: the chain's rules applied from its blocks alone, trusting no node.
 * Block assembly and validation (what every node runs on every block), replay into a chain
 * held in memory, and `chartchain verify` of an export or a data directory.
 */
export {
  assembleBlock,
  assembleBlockSteps,
  type AssembledBlock,
  type BlockPosition,
  type ChainView,
} from './block-assembly.js';
export {
  BlockValidationError,
  claimedProposer,
  validateBlock,
  validateBlockSteps,
} from './block-validation.js';
export {
  verifyBlocks,
  storedBlocks,
  compareStoredState,
  compareStoredLog,
  ChainVerificationError,
  type VerifySummary,
  type VerifyProgress,
} from './verify-chain.js';
export { exportChain, readExport, type ExportPreamble } from './chain-export.js';
export { AdmissionVerifier, SignatureCache } from './signature-cache.js';
export { MemoryChain } from './memory-chain.js';
export {
  verifyDataDir,
  verifyExportFile,
  countBlocks,
  type VerifyOptions,
} from './verify-sources.js';
export { erasureLine, erasureStatus, erasureStatuses, type ErasureStatus } from './erasures.js';
