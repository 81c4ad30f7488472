/**
 * Executes an ordered block deterministically: the ledger's own checks (type, duplicate txId,
 * signer, signature, nonce), then the owning contract, then the state commitment. Every node
 * runs this on every block and must reach the same statuses and appHash.
 */
import assert from 'node:assert/strict';
import type { DecodedTransaction, EnvelopeRejection, TxStatus } from '../ledger/index.js';
import { canonicalWriteSetSteps, nextAppHash } from './app-hash.js';
import { runSteps, type Steps } from './steps.js';
import type {
  BlockContext,
  Contract,
  ContractEvent,
  Signer,
  SignerDirectory,
  TxContext,
} from './contract.js';
import { BlockState, type StateReader, type Write, type WriteSetEntry } from './state.js';
import { defineTable } from './table.js';

/** System table: txId → { height, leafIndex, status }. The tx index, and the replay guard. */
export const TX_TABLE = 'ledger_tx';
/** System table: signer key id → highest nonce used. */
export const NONCE_TABLE = 'ledger_nonce';

/** Checks a transaction's signature against a public key (hex). Must be synchronous and pure. */
export type SignatureCheck = (decoded: DecodedTransaction, publicKey: string) => boolean;

/** Where the block's transactions start in the global log. */
export interface ExecutionContext extends BlockContext {
  readonly logSizeBefore: number;
}

/** The outcome of executing a block. */
export interface BlockExecution {
  readonly statuses: TxStatus[];
  readonly writeSet: WriteSetEntry[];
  /** Canonical JSON of each write-set value, in the same order: stored as is. */
  readonly valueTexts: string[];
  readonly appHash: string;
  readonly events: ContractEvent[];
}

export { runSteps, type Steps } from './steps.js';

/** The value stored in TX_TABLE for each transaction. */
export interface TxRecord {
  readonly height: number;
  readonly leafIndex: number;
  readonly status: TxStatus;
}

/** The typed TX_TABLE. */
export const TX_RECORDS = defineTable<TxRecord>(TX_TABLE);

interface TxOutcome {
  readonly status: TxStatus;
  readonly writes: readonly Write[];
  readonly events: readonly ContractEvent[];
}

/** Runs blocks through a fixed set of contracts. */
export class Executor {
  readonly #byType = new Map<string, Contract>();

  constructor(
    readonly contracts: readonly Contract[],
    private readonly directory: SignerDirectory,
  ) {
    for (const contract of contracts) {
      for (const type of contract.txTypes) {
        assert(!this.#byType.has(type), `transaction type ${type} has two contracts`);
        this.#byType.set(type, contract);
      }
    }
  }

  /** Every state table, system tables included, sorted. */
  get tables(): string[] {
    return [TX_TABLE, NONCE_TABLE, ...this.contracts.flatMap((contract) => contract.tables)].sort();
  }

  /** True when some contract owns `type`. */
  knowsType(type: string): boolean {
    return this.#byType.has(type);
  }

  /** The signer `decoded` names, as state `base` knows it; undefined when unknown. */
  resolveSigner(
    base: StateReader,
    decoded: DecodedTransaction,
    block: BlockContext,
  ): Signer | undefined {
    return this.directory(base, decoded.tx, block);
  }

  /** Executes `txs` in order on top of `base`. Pure: same inputs, same BlockExecution. */
  executeBlock(
    base: StateReader,
    txs: readonly DecodedTransaction[],
    context: ExecutionContext,
    prevAppHash: string,
    checkSignature: SignatureCheck,
  ): BlockExecution {
    return runSteps(this.executeBlockSteps(base, txs, context, prevAppHash, checkSignature));
  }

  /**
   * executeBlock, yielding after each transaction and every few hundred write-set entries
   * encoded, so a caller can spread a large block over several turns of its event loop. `base` must not change until the generator returns.
   */
  *executeBlockSteps(
    base: StateReader,
    txs: readonly DecodedTransaction[],
    context: ExecutionContext,
    prevAppHash: string,
    checkSignature: SignatureCheck,
  ): Steps<BlockExecution> {
    const state = new BlockState(base);
    const statuses: TxStatus[] = [];
    const events: ContractEvent[] = [];
    for (const [i, decoded] of txs.entries()) {
      const duplicate = TX_RECORDS.get(state, decoded.txId) !== undefined;
      const outcome = duplicate
        ? rejection('invalid:duplicate-txid')
        : this.#executeTx(state, decoded, context, checkSignature);
      state.apply(outcome.writes);
      if (!duplicate) {
        const record: TxRecord = {
          height: context.height,
          leafIndex: context.logSizeBefore + i,
          status: outcome.status,
        };
        state.apply([{ table: TX_TABLE, key: decoded.txId, value: { ...record } }]);
      }
      statuses.push(outcome.status);
      events.push(...outcome.events);
      yield;
    }
    const writeSet = state.writeSet();
    const { json, valueTexts } = yield* canonicalWriteSetSteps(writeSet);
    yield; // Hashing the encoded write-set (hundreds of kilobytes for a large block) is a step of its own.
    return { statuses, writeSet, valueTexts, appHash: nextAppHash(prevAppHash, json), events };
  }

  #executeTx(
    state: BlockState,
    decoded: DecodedTransaction,
    block: BlockContext,
    checkSignature: SignatureCheck,
  ): TxOutcome {
    const { tx, txId } = decoded;
    const contract = this.#byType.get(tx.type);
    if (contract === undefined) return rejection('invalid:unknown-type');
    const signer = this.directory(state, tx, block);
    if (signer === undefined) return rejection('invalid:unknown-signer');
    if (!checkSignature(decoded, signer.publicKey)) return rejection('invalid:bad-signature');
    const lastNonce = state.get(NONCE_TABLE, signer.keyId);
    if (typeof lastNonce === 'number' && tx.nonce <= lastNonce)
      return rejection('invalid:stale-nonce');
    // From here the signer really sent this transaction: its nonce is spent whatever the outcome.
    const nonceWrite: Write = { table: NONCE_TABLE, key: signer.keyId, value: tx.nonce };
    if (!signer.active) return { ...rejection('denied:signer-inactive'), writes: [nonceWrite] };
    const context: TxContext = { block, txId, signer };
    const result = contract.execute(state, tx, context);
    if (result.status !== 'ok')
      return { status: result.status, writes: [nonceWrite], events: result.events };
    for (const write of result.writes) {
      assert(
        contract.tables.includes(write.table) || contract.appendsTo?.includes(write.table) === true,
        `${contract.name} wrote to ${write.table}, which it does not own`,
      );
    }
    return { status: 'ok', writes: [...result.writes, nonceWrite], events: result.events };
  }
}

function rejection(status: EnvelopeRejection): TxOutcome {
  return { status, writes: [], events: [] };
}
