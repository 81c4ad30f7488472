/**
 * records.batch: several record writes by one practitioner that land together or not at all,
 * what a FHIR transaction Bundle needs. Each write is checked exactly as on its own, against
 * state that already holds the batch's earlier writes; the first refusal refuses the batch.
 */
import type { Transaction } from '../../ledger/index.js';
import {
  accept,
  refuse,
  type ContractEvent,
  type ContractResult,
  type TxContext,
  type TxHandler,
} from '../contract.js';
import { BlockState, type StateReader, type Write } from '../state.js';
import type { BatchWrite } from './record-body.js';
import { RECORDS_BATCH } from './txs.js';
import { executeAnchor, executeSupersede, executeTombstone } from './write-version.js';

const EXECUTORS: Readonly<Record<BatchWrite['kind'], TxHandler>> = {
  anchor: executeAnchor,
  supersede: executeSupersede,
  tombstone: executeTombstone,
};

/** Executes `records.batch`: { writes: [{ kind: 'anchor' | 'supersede' | 'tombstone', body }] }, signed by a practitioner. */
export function executeBatch(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'practitioner') return refuse('denied:not-a-practitioner');
  const body = RECORDS_BATCH.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const overlay = new BlockState(state);
  const all: Write[] = [];
  const events: ContractEvent[] = [];
  for (const write of body.writes) {
    const result = EXECUTORS[write.kind](overlay, { ...tx, body: write.body }, context);
    if (result.status !== 'ok') return refuse(result.status);
    overlay.apply(result.writes);
    all.push(...result.writes);
    events.push(...result.events);
  }
  return accept(all, events);
}
