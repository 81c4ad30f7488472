/**
 * The deterministic contract interface (DESIGN.md, Contracts). A contract is a synchronous,
 * pure function of (state view, transaction, block context) returning { status, writes, events }.
 * Time comes only from the block header; ids come from transaction hashes.
 */
import type { Transaction } from '../ledger/index.js';
import type { KnownTxStatus, Refusal } from './refusals.js';
import type { StateReader, Write } from './state.js';

/** What a contract may know about the block it runs in. */
export interface BlockContext {
  readonly height: number;
  /** Orderer time of this block, ms since the Unix epoch; never less than the previous block's. */
  readonly time: number;
}

/** The authenticated author of a transaction, resolved from membership state. */
export interface Signer {
  readonly keyId: string;
  readonly publicKey: string;
  readonly role: 'org' | 'practitioner' | 'patient';
  /** Id of the organisation, practitioner or patient the key belongs to. */
  readonly subject: string;
  /** The organisation the subject belongs to (its home organisation, for a patient). */
  readonly org: string;
  readonly active: boolean;
}

/** Everything a contract sees about one transaction. */
export interface TxContext {
  readonly block: BlockContext;
  readonly txId: string;
  readonly signer: Signer;
}

/** A notable domain event, for notification feeds; not part of consensus state. */
export interface ContractEvent {
  readonly type: string;
  readonly subject: string;
}

/** A contract's answer. Writes are applied only when status is 'ok'. */
export interface ContractResult {
  readonly status: KnownTxStatus;
  readonly writes: readonly Write[];
  readonly events: readonly ContractEvent[];
}

/** A contract: the transaction types it owns, the tables it writes, and its state transition. */
export interface Contract {
  readonly name: string;
  readonly tables: readonly string[];
  readonly txTypes: readonly string[];
  /** Tables another contract owns that this one may also write: the shared audit trail. */
  readonly appendsTo?: readonly string[];
  execute(state: StateReader, tx: Transaction, context: TxContext): ContractResult;
}

/** Resolves a transaction's signer from state; membership owns the key directory. */
export type SignerDirectory = (
  state: StateReader,
  tx: Transaction,
  block: BlockContext,
) => Signer | undefined;

/** A result with no writes, for denials and invalid bodies. */
export function refuse(status: Refusal): ContractResult {
  return { status, writes: [], events: [] };
}

/** A successful result. */
export function accept(
  writes: readonly Write[],
  events: readonly ContractEvent[] = [],
): ContractResult {
  return { status: 'ok', writes, events };
}

/** One transaction type's state transition. */
export type TxHandler = (state: StateReader, tx: Transaction, context: TxContext) => ContractResult;

/** A contract that dispatches each of its transaction types to one handler. */
export function contractOf(definition: {
  name: string;
  tables: readonly string[];
  appendsTo?: readonly string[];
  handlers: Readonly<Record<string, TxHandler>>;
}): Contract {
  const { handlers } = definition;
  return {
    name: definition.name,
    tables: definition.tables,
    ...(definition.appendsTo === undefined ? {} : { appendsTo: definition.appendsTo }),
    txTypes: Object.keys(handlers).sort(),
    execute(state, tx, context) {
      const handler = Object.hasOwn(handlers, tx.type) ? handlers[tx.type] : undefined;
      return handler === undefined ? refuse('invalid:unknown-type') : handler(state, tx, context);
    },
  };
}
