/** Public API of src/ledger: transactions, blocks, the RFC 9162 log and its proofs. Depends only on src/crypto. */
export * from './limits.js';
export { isTxStatus, type TxStatus, type EnvelopeRejection } from './tx-status.js';
export {
  decodeTransaction,
  encodeTransaction,
  signTransaction,
  signTransactionWithMessage,
  signingMessage,
  signatureOf,
  txIdOf,
  type DecodeResult,
  type DecodedTransaction,
  type JsonObject,
  type Transaction,
  type UnsignedTransaction,
} from './transaction.js';
export {
  blockHashOf,
  headerSigningMessage,
  signHeader,
  txRootOf,
  txRootOfLeafHashes,
  verifyHeaderSignature,
  GENESIS_PREV_APP_HASH,
  GENESIS_PREV_HASH,
  type Block,
  type BlockEntry,
  type BlockHeader,
  type UnsignedBlockHeader,
} from './block.js';
export { hashLeaf, hashChildren, EMPTY_ROOT, MERKLE_HASH_BYTES } from './merkle-hash.js';
export { MerkleLog, MemoryNodeStore, type MerkleNodeStore } from './merkle-log.js';
export {
  verifyInclusion,
  verifyConsistency,
  rootFromInclusionProof,
  inclusionProofLength,
  consistencyProofLength,
  ProofError,
  RootMismatchError,
  ProofLengthError,
  HashLengthError,
  IndexOutOfRangeError,
  TreeSizeOrderError,
} from './merkle-proof.js';
export {
  encodeBlock,
  encodeBlockParts,
  decodeBlock,
  checkHeader,
  BlockFormatError,
  type DecodedBlock,
} from './block-codec.js';
export {
  NETWORK_GENESIS_KEY,
  NETWORK_GENESIS_KEY_ID,
  NETWORK_GENESIS_PUBLIC_KEY,
} from './genesis-key.js';
export {
  signCheckpoint,
  verifyCheckpointSignature,
  checkpointOf,
  checkpointSigningMessage,
  type Checkpoint,
  type UnsignedCheckpoint,
} from './checkpoint.js';
