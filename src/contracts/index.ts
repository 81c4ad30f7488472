/** Public API of src/contracts: the deterministic runtime and the contracts it runs. */
export { BlockState, type StateReader, type Write, type WriteSetEntry } from './state.js';
export { nextAppHash, canonicalWriteSet } from './app-hash.js';
export {
  accept,
  refuse,
  type BlockContext,
  type Contract,
  type ContractEvent,
  type ContractResult,
  type Signer,
  type SignerDirectory,
  type TxContext,
} from './contract.js';
export {
  Executor,
  NONCE_TABLE,
  runSteps,
  TX_RECORDS,
  TX_TABLE,
  type BlockExecution,
  type ExecutionContext,
  type SignatureCheck,
  type Steps,
  type TxRecord,
} from './executor.js';
export * from './membership/index.js';
export * from './records/index.js';
export * from './agreements/index.js';
export * from './consent/index.js';
export * from './access/index.js';
export * from './audit/index.js';
export { CLIENT_ID_PATTERN, CODE_PATTERN, ID_PATTERN } from './body.js';
export {
  CONTRACT_REFUSALS,
  ENVELOPE_REJECTIONS,
  isKnownTxStatus,
  type ContractRefusal,
  type KnownTxStatus,
  type Refusal,
} from './refusals.js';
export {
  boolean,
  constant,
  count,
  defineTx,
  field,
  fieldGroup,
  hex32,
  id,
  nullable,
  oneOf,
  optional,
  stringSet,
  text,
  type BodyOf,
  type BodyPart,
  type OptionalPart,
  type TxBuilder,
  type TxSchema,
} from './tx-schema.js';
export { defineTable, type JsonShaped, type Table, type TableName } from './table.js';

import { accessContract } from './access/index.js';
import { agreementsContract } from './agreements/index.js';
import { consentContract } from './consent/index.js';
import { Executor } from './executor.js';
import { membershipContract, resolveSigner } from './membership/index.js';
import { recordsContract } from './records/index.js';

/** The executor every ChartChain node runs: the same contracts, in the same order. */
export function standardExecutor(): Executor {
  return new Executor(
    [membershipContract, recordsContract, agreementsContract, consentContract, accessContract],
    resolveSigner,
  );
}
