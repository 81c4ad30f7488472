/**
 * records.batch: several record writes by one practitioner that land together or not at all,
 * what a FHIR transaction Bundle needs. Each write is checked exactly as on its own, against
 * state that already holds the batch's earlier writes; the first refusal refuses the batch.
 */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { enumField, objectField, onlyFields } from '../body.js';
import { accept, refuse, type ContractEvent, type ContractResult, type TxContext, type TxHandler } from '../contract.js';
import { BlockState, type StateReader, type Write } from '../state.js';
import { BATCH_WRITE_COUNT_MAX } from './limits.js';
import { executeAnchor, executeSupersede, executeTombstone } from './write-version.js';

const WRITE_KINDS = ['anchor', 'supersede', 'tombstone'] as const;
const EXECUTORS: Readonly<Record<(typeof WRITE_KINDS)[number], TxHandler>> = { anchor: executeAnchor, supersede: executeSupersede, tombstone: executeTombstone };

/** Executes `records.batch`: { writes: [{ kind: 'anchor' | 'supersede' | 'tombstone', body }] }, signed by a practitioner. */
export function executeBatch(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.signer.role !== 'practitioner') return refuse('denied:not-a-practitioner');
  const writes = writesOf(tx.body);
  if (writes === undefined) return refuse('invalid:bad-body');
  const overlay = new BlockState(state);
  const all: Write[] = [];
  const events: ContractEvent[] = [];
  for (const { kind, body } of writes) {
    const result = EXECUTORS[kind](overlay, { ...tx, body }, context);
    if (result.status !== 'ok') return refuse(result.status);
    overlay.apply(result.writes);
    all.push(...result.writes);
    events.push(...result.events);
  }
  return accept(all, events);
}

function writesOf(body: JsonObject): { kind: (typeof WRITE_KINDS)[number]; body: JsonObject }[] | undefined {
  const value: JsonValue | undefined = body['writes'];
  if (!onlyFields(body, ['writes']) || !Array.isArray(value) || value.length === 0 || value.length > BATCH_WRITE_COUNT_MAX) return undefined;
  const writes: { kind: (typeof WRITE_KINDS)[number]; body: JsonObject }[] = [];
  for (const item of value) {
    if (item === null || typeof item !== 'object' || Array.isArray(item) || !onlyFields(item, ['kind', 'body'])) return undefined;
    const kind = enumField(item, 'kind', WRITE_KINDS);
    const writeBody = objectField(item, 'body');
    if (kind === undefined || writeBody === undefined) return undefined;
    writes.push({ kind, body: writeBody });
  }
  return writes;
}
