/**
 * `access.search`: one transaction per search (or $everything, or _include/_revinclude page),
 * listing every record the node released, instead of one access.log per hit. The contract
 * decides each record again at its block, as access.log does, and appends ONE entry per patient
 * touched to that patient's trail, listing that patient's records with their decisions.
 *
 * A denial is recorded only for the patient the search was scoped to (`patientId`): records a
 * broad search filtered out were never released and touch nobody's trail, so a stranger's
 * accounting of disclosures is not filled with searches that were not about them.
 */
import type { Transaction } from '../../ledger/index.js';
import { auditWrites, type SearchedRecord } from '../audit/index.js';
import {
  accept,
  refuse,
  type ContractEvent,
  type ContractResult,
  type TxContext,
} from '../contract.js';
import { RECORDS } from '../records/index.js';
import type { StateReader, Write } from '../state.js';
import { decideAccess } from './decide.js';
import { actorOf, principalOf } from './principal-body.js';
import type { ListedRecord } from './search-body.js';
import { ACCESS_SEARCH } from './txs.js';
import type { Principal } from './tables.js';

/**
 * Executes `access.search`: { principal: {kind, id}, purpose, patientId: string | null, records:
 * [{recordId, version, released}] }, 1 to SEARCH_RECORD_COUNT_MAX records, each once.
 * `patientId` names the one patient the search was scoped to, or null; a record listed with
 * `released: false` must be that patient's (invalid:bad-body otherwise). Refused with
 * denied:no-such-record when a listed record is unknown, so nothing is logged half.
 */
export function executeSearch(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  const body = ACCESS_SEARCH.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { purpose, patientId: scope, records: listed } = body;
  const principal = principalOf(state, body.principal, context);
  if (typeof principal === 'string') return refuse(principal);
  const byPatient = new Map<string, SearchedRecord[]>();
  for (const item of listed) {
    const record = RECORDS.get(state, item.recordId);
    if (record === undefined) return refuse('denied:no-such-record');
    if (!item.released && record.patientId !== scope) return refuse('invalid:bad-body');
    if (record.patientId === null) continue; // a directory record has no patient, so no trail
    const searched = searchedRecord(state, principal, item, purpose, context.block.time);
    byPatient.set(record.patientId, [...(byPatient.get(record.patientId) ?? []), searched]);
  }
  const writes: Write[] = [];
  const events: ContractEvent[] = [];
  for (const patientId of [...byPatient.keys()].sort()) {
    const records = byPatient.get(patientId)!;
    const denial = records.find((record) => record.outcome === 'deny');
    writes.push(
      ...auditWrites(
        state,
        patientId,
        {
          kind: 'search',
          actor: actorOf(principal),
          purpose,
          records,
          outcome: denial === undefined ? 'permit' : 'deny',
          reason: denial?.reason ?? null,
          released: records.some((record) => record.released),
        },
        context,
      ),
    );
    events.push({
      type: denial === undefined ? 'access.permitted' : 'access.denied',
      subject: patientId,
    });
  }
  return accept(writes, events);
}

function searchedRecord(
  state: StateReader,
  principal: Principal,
  item: ListedRecord,
  purpose: string,
  time: number,
): SearchedRecord {
  const decision = decideAccess(state, {
    principal,
    action: 'read',
    recordId: item.recordId,
    version: item.version,
    purpose,
    time,
  });
  const { recordId, version, released } = item;
  if (decision.outcome === 'permit')
    return { recordId, version, released, outcome: 'permit', reason: null, basis: decision.basis };
  return { recordId, version, released, outcome: 'deny', reason: decision.reason, basis: null };
}
