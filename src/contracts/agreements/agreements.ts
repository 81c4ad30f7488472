/** The agreements contract: data-sharing agreements between member organisations. */
import type { Transaction } from '../../ledger/index.js';
import { refuse, type Contract, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader } from '../state.js';
import { executeCountersign, executePropose, executeTerminate } from './lifecycle.js';
import { AGREEMENT_PAIR_TABLE, AGREEMENT_TABLE } from './tables.js';

type Handler = (state: StateReader, tx: Transaction, context: TxContext) => ContractResult;

const HANDLERS: Readonly<Record<string, Handler>> = {
  'agreements.propose': executePropose,
  'agreements.countersign': executeCountersign,
  'agreements.terminate': executeTerminate,
};

/** The agreements contract. */
export const agreementsContract: Contract = {
  name: 'agreements',
  tables: [AGREEMENT_TABLE, AGREEMENT_PAIR_TABLE],
  txTypes: Object.keys(HANDLERS).sort(),
  execute(state, tx, context) {
    const handler = HANDLERS[tx.type];
    return handler === undefined ? refuse('invalid:unknown-type') : handler(state, tx, context);
  },
};
