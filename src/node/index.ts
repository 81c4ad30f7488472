/** Public API of src/node: the node, its proofs, and chain verification. Knows nothing of HTTP. */
export { ChartChainNode, isInitialised, type InitOptions, type SubmitRejection, type SubmitResult, type TxLookup } from './node.js';
export { readNodeConfig, DEFAULT_ORDERER, type NodeConfig } from './node-config.js';
export { inclusionProof, consistencyProof, ProofRequestError, type InclusionProofResponse, type ConsistencyProofResponse } from './proofs.js';
export { BlockValidationError } from './block-validation.js';
