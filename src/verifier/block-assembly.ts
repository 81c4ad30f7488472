/**
 * Executes a batch on top of the committed chain and derives everything the header commits to:
 * statuses, write-set, appHash, txRoot and the global log after the block. The proposer and
 * every validating node run this same function.
 */
import { toHex } from '../crypto/index.js';
import { runSteps, type Executor, type SignatureCheck, type Steps } from '../contracts/index.js';
import {
  blockHashOf,
  hashLeaf,
  MerkleLog,
  txRootOfLeafHashes,
  GENESIS_PREV_APP_HASH,
  GENESIS_PREV_HASH,
  type BlockHeader,
  type DecodedTransaction,
  type UnsignedBlockHeader,
} from '../ledger/index.js';
import { PendingNodeStore, type BlockCommit } from '../storage/index.js';
import type { StateReader } from '../contracts/index.js';
import type { MerkleNodeStore } from '../ledger/index.js';

/** What assembly reads: the head header, committed state and the committed log. ChainStore is one. */
export interface ChainView {
  head(): BlockHeader | undefined;
  readonly state: StateReader;
  readonly logNodes: MerkleNodeStore;
}

/** A block executed but not yet signed or committed. */
export interface AssembledBlock {
  readonly header: UnsignedBlockHeader;
  /** The commit for this block under its signed header. */
  readonly commitFor: (header: BlockHeader) => BlockCommit;
  readonly statuses: readonly BlockCommit['txs'][number]['status'][];
}

/** Where a block goes: its height and time, and the key id that will sign it. */
export interface BlockPosition {
  readonly height: number;
  readonly time: number;
  readonly proposer: string;
}

/** Executes `txs` as block `height` at `time` on top of `store`'s head. */
export function assembleBlock(
  store: ChainView,
  executor: Executor,
  txs: readonly DecodedTransaction[],
  position: BlockPosition,
  checkSignature: SignatureCheck,
): AssembledBlock {
  return runSteps(assembleBlockSteps(store, executor, txs, position, checkSignature));
}

/** Transactions hashed into the log between two pauses of assembleBlockSteps: about a third of a millisecond. */
const LEAVES_PER_STEP = 64;

/** assembleBlock in steps: one per transaction, then a few for its write-set and log (see Executor.executeBlockSteps). */
export function* assembleBlockSteps(
  store: ChainView,
  executor: Executor,
  txs: readonly DecodedTransaction[],
  position: BlockPosition,
  checkSignature: SignatureCheck,
): Steps<AssembledBlock> {
  const previous = store.head();
  const logSizeBefore = previous?.logSize ?? 0;
  const prevAppHash = previous?.appHash ?? GENESIS_PREV_APP_HASH;
  const context = { height: position.height, time: position.time, logSizeBefore };
  const execution = yield* executor.executeBlockSteps(
    store.state,
    txs,
    context,
    prevAppHash,
    checkSignature,
  );
  yield; // Encoding the write-set's last entries and hashing it ended that step.
  const nodes = new PendingNodeStore(store.logNodes);
  const log = new MerkleLog(nodes, logSizeBefore);
  const leafHashes: Uint8Array[] = [];
  for (const { bytes } of txs) {
    const leafHash = hashLeaf(bytes);
    leafHashes.push(leafHash);
    log.appendLeafHash(leafHash);
    if (leafHashes.length % LEAVES_PER_STEP === 0) yield;
  }
  yield; // The transaction root is a second tree over the same leaves.
  const header: UnsignedBlockHeader = {
    height: position.height,
    prevHash: previous === undefined ? GENESIS_PREV_HASH : blockHashOf(previous),
    time: position.time,
    txRoot: txRootOfLeafHashes(leafHashes),
    logSize: log.treeSize,
    logRoot: toHex(log.root()),
    appHash: execution.appHash,
    proposer: position.proposer,
  };
  const logNodes = nodes.written();
  const commitFor = (signed: BlockHeader): BlockCommit => ({
    header: signed,
    txs: txs.map(({ bytes, txId }, i) => ({ bytes, txId, status: execution.statuses[i]! })),
    logNodes,
    writeSet: execution.writeSet,
    valueTexts: execution.valueTexts,
  });
  return { header, commitFor, statuses: execution.statuses };
}
