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
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { auditWrites, type SearchedRecord } from '../audit/index.js';
import { booleanField, CODE_PATTERN, countField, ID_PATTERN, onlyFields, RECORD_ID_PATTERN, stringField } from '../body.js';
import { accept, refuse, type ContractEvent, type ContractResult, type TxContext } from '../contract.js';
import { RECORDS, RECORD_VERSION_MAX } from '../records/index.js';
import type { StateReader, Write } from '../state.js';
import { decideAccess } from './decide.js';
import { SEARCH_RECORD_COUNT_MAX } from './limits.js';
import { actorOf, principalField } from './principal-body.js';
import type { Principal } from './tables.js';

/** One listed record as the body names it. */
interface ListedRecord {
  readonly recordId: string;
  readonly version: number;
  readonly released: boolean;
}

/**
 * Executes `access.search`: { principal: {kind, id}, purpose, patientId: string | null, records:
 * [{recordId, version, released}] }, 1 to SEARCH_RECORD_COUNT_MAX records, each once.
 * `patientId` names the one patient the search was scoped to, or null; a record listed with
 * `released: false` must be that patient's (invalid:bad-body otherwise). Refused with
 * denied:no-such-record when a listed record is unknown, so nothing is logged half.
 */
export function executeSearch(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (!onlyFields(tx.body, ['principal', 'purpose', 'patientId', 'records'])) return refuse('invalid:bad-body');
  const principal = principalField(state, tx.body, context);
  const purpose = stringField(tx.body, 'purpose', CODE_PATTERN);
  const scope = tx.body['patientId'] === null ? null : stringField(tx.body, 'patientId', ID_PATTERN);
  const listed = recordsField(tx.body['records']);
  if (principal === undefined || purpose === undefined || scope === undefined || listed === undefined) return refuse('invalid:bad-body');
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
    writes.push(...auditWrites(state, patientId, {
      kind: 'search', actor: actorOf(principal), purpose, records,
      outcome: denial === undefined ? 'permit' : 'deny', reason: denial?.reason ?? null, released: records.some((record) => record.released),
    }, context));
    events.push({ type: denial === undefined ? 'access.permitted' : 'access.denied', subject: patientId });
  }
  return accept(writes, events);
}

function searchedRecord(state: StateReader, principal: Principal, item: ListedRecord, purpose: string, time: number): SearchedRecord {
  const decision = decideAccess(state, { principal, action: 'read', recordId: item.recordId, version: item.version, purpose, time });
  const { recordId, version, released } = item;
  if (decision.outcome === 'permit') return { recordId, version, released, outcome: 'permit', reason: null, basis: decision.basis };
  return { recordId, version, released, outcome: 'deny', reason: decision.reason, basis: null };
}

/** The listed records, or undefined when the list is malformed, empty, too long or names a record twice. */
function recordsField(value: JsonValue | undefined): ListedRecord[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > SEARCH_RECORD_COUNT_MAX) return undefined;
  const listed: ListedRecord[] = [];
  const seen = new Set<string>();
  for (const item of value) {
    if (item === null || typeof item !== 'object' || Array.isArray(item) || !onlyFields(item, ['recordId', 'version', 'released'])) return undefined;
    const body = item as JsonObject;
    const recordId = stringField(body, 'recordId', RECORD_ID_PATTERN);
    const version = countField(body, 'version');
    const released = booleanField(body, 'released');
    if (recordId === undefined || version === undefined || version < 1 || version > RECORD_VERSION_MAX || released === undefined || seen.has(recordId)) return undefined;
    seen.add(recordId);
    listed.push({ recordId, version, released });
  }
  return listed;
}

