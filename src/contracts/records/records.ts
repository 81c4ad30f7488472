/** The records contract: anchors of encrypted record versions, deletion and erasure (DESIGN.md, Contracts). */
import type { Transaction } from '../../ledger/index.js';
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE } from '../audit/index.js';
import { refuse, type Contract, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader } from '../state.js';
import { executeErase, executeErasureReceipt } from './erasure.js';
import { executeShareKeys } from './key-share.js';
import { ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE } from './tables.js';
import { executeAnchor, executeSupersede, executeTombstone } from './write-version.js';

type Handler = (state: StateReader, tx: Transaction, context: TxContext) => ContractResult;

const HANDLERS: Readonly<Record<string, Handler>> = {
  'records.anchor': executeAnchor,
  'records.supersede': executeSupersede,
  'records.tombstone': executeTombstone,
  'records.erase': executeErase,
  'records.erasure-receipt': executeErasureReceipt,
  'records.share-keys': executeShareKeys,
};

/** The records contract. */
export const recordsContract: Contract = {
  name: 'records',
  tables: [ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE],
  txTypes: Object.keys(HANDLERS).sort(),
  appendsTo: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE],
  execute(state, tx, context) {
    const handler = HANDLERS[tx.type];
    return handler === undefined ? refuse('invalid:unknown-type') : handler(state, tx, context);
  },
};
