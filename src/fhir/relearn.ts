/**
 * Relearning from the chain what a node derives from decrypted records: FHIR ids (learn-ids.ts)
 * after an unclean stop or a lost map, and the search index after an unclean stop, a lost file
 * or a schema change. Both mean decrypting records, about half a millisecond each: minutes at a
 * million. So only what is missing is decrypted: the records whose FHIR id the map lacks, and
 * those whose entry in the index is missing or older than the chain's newest version (each entry
 * names the record and version it was read from; a crash loses the last puts, not the rest).
 * The walk runs on the event loop in slices while the node serves. Until the ids are learnt,
 * a FHIR id the map lacks answers 503 rather than 404 (see ledger-names.ts); until the index is
 * filled, searches answer 503. A small chain is relearnt before the node starts serving.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RECORD_TABLE, type RecordRow, type Steps } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { runSliced, type NodeFacade } from '../node/index.js';
import { learnFrom, learnRecord, readerHere } from './learn-ids.js';
import type { IndexedMeta, SearchIndex } from './search/index.js';

/** How long one slice of the walk holds the event loop once the node serves. */
const RELEARN_SLICE_MS = 4;

/** What relearning is after: the ids the map lacks, and with `index`, every record's entry in it. */
export interface RelearnScope {
  readonly index?: SearchIndex | undefined;
  /** How long the walk may run before the caller goes on (the node's start); the rest is sliced. */
  readonly firstSliceMs: number;
}

/** A walk under way: `done` once everything is relearnt, or once it is stopped. */
export interface Relearning {
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Starts relearning: runs the walk for up to `firstSliceMs` now, then in slices of the event
 * loop. The map is marked learnt once every record it lacked has been read, and the index filled
 * (endFill) once every active record has been put. Stopped before the end (the node closing),
 * neither is marked, and the next start walks again.
 */
export function relearnFromChain(node: NodeFacade, scope: RelearnScope): Relearning {
  let stopped = false;
  const steps = untilStopped(relearnSteps(node, scope.index), () => stopped);
  const started = performance.now();
  let next = steps.next();
  while (next.done !== true && performance.now() - started < scope.firstSliceMs)
    next = steps.next();
  // The rest from the next turn on: whatever the caller goes on to do comes first.
  const done =
    next.done === true
      ? Promise.resolve()
      : nextTurn().then(() => runSliced(steps, undefined, RELEARN_SLICE_MS));
  return { done, stop: () => (stopped = true) };
}

/**
 * The walk, a record per step: those whose FHIR id the map lacks, in orderOf's order, then,
 * for the index, the rest (see catchUp).
 */
function* relearnSteps(node: NodeFacade, index: SearchIndex | undefined): Steps<void> {
  index?.beginFill();
  const all = node.ledger.stateKeys(RECORD_TABLE);
  const unknown = node.pseudonyms.unknown(all);
  yield;
  const ordered: string[][] = [[], [], [], []];
  for (const recordId of unknown) {
    ordered[orderOf(node, node.records.record(recordId)!)]!.push(recordId);
    yield;
  }
  for (const recordId of ordered.flat()) {
    relearnRecord(node, index, node.records.record(recordId)!);
    yield;
  }
  node.pseudonyms.learnt();
  if (index === undefined) return;
  const relearnt = new Set(unknown);
  for (const recordId of all) {
    if (!relearnt.has(recordId)) catchUp(node, index, node.records.record(recordId)!);
    yield;
  }
  index.endFill();
}

/** `steps` until `stopped()`: a step is never taken once the node is closing. */
function* untilStopped(steps: Steps<void>, stopped: () => boolean): Steps<void> {
  while (!stopped() && steps.next().done !== true) yield;
}

/**
 * Where `record` comes in the walk: this organisation's own records before any other's (another
 * organisation's record never takes an id from them), and Patients first among each (until their
 * Patient is relearnt a patient cannot sign in, and their session is not recognised).
 */
function orderOf(node: NodeFacade, record: RecordRow): number {
  const foreign = record.org === node.config.orgId ? 0 : 2;
  return foreign + (record.resourceType === 'Patient' ? 0 : 1);
}

/**
 * Learns `record`'s FHIR id again and, with `index`, brings its entry there up to date: an active
 * record indexed (which learns it too), any other forgotten.
 */
export function relearnRecord(
  node: NodeFacade,
  index: SearchIndex | undefined,
  record: RecordRow,
): void {
  if (index === undefined) return learnRecord(node, record);
  if (record.status === 'active') return putOrForget(node, index, record.recordId);
  learnRecord(node, record);
  index.removeRecord(record.recordId);
}

/**
 * Brings the entry of `record`, whose FHIR id the map knows, up to date in `index` without
 * decrypting what is there already: put again when missing or older than its newest version (a
 * put the crash lost), forgotten when the record is no longer active (a removal it lost).
 */
function catchUp(node: NodeFacade, index: SearchIndex, record: RecordRow): void {
  if (record.status !== 'active') index.removeRecord(record.recordId);
  else if (index.entryOf(record.recordId)?.version !== record.latestVersion)
    putOrForget(node, index, record.recordId);
}

/**
 * Puts `recordId`'s newest version in `index`; when it yields no entry (see indexEntry), forgets
 * what an older one left there, as a rebuild would not have it.
 */
function putOrForget(node: NodeFacade, index: SearchIndex, recordId: string): void {
  if (!putEntry(node, index, recordId)) index.removeRecord(recordId);
}

/**
 * Puts `recordId`'s newest version in `index` (learning its FHIR id on the way), when this
 * organisation can read it. Returns whether it did.
 */
export function putEntry(node: NodeFacade, index: SearchIndex, recordId: string): boolean {
  const entry = indexEntry(node, recordId);
  if (entry !== undefined) index.putSoon(entry.resource, entry.meta);
  return entry !== undefined;
}

/** The index entry of `recordId`'s newest version, under its FHIR id; undefined when this organisation cannot decrypt it. */
function indexEntry(
  node: NodeFacade,
  recordId: string,
): { resource: JsonObject; meta: IndexedMeta } | undefined {
  const record = node.records.record(recordId);
  const latest =
    record === undefined ? undefined : node.records.version(recordId, record.latestVersion);
  const reader = latest === undefined ? undefined : readerHere(node, latest);
  if (reader === undefined) return undefined;
  try {
    const { resource, version } = node.records.read(reader, recordId);
    learnFrom(node.pseudonyms, version, resource);
    // The index holds what this organisation's keys and its practitioners' open: a record
    // wrapped to a custodial patient alone (not to this organisation) names its FHIR id here,
    // nothing more.
    if (reader.kind === 'patient') return undefined;
    const fhirId = node.pseudonyms.fhirIdOf(recordId);
    // A FHIR id another record holds here already: the record stays out of the index rather than replace it.
    if (fhirId === undefined || fhirId.type !== resource['resourceType']) return undefined;
    return {
      resource: { ...resource, id: fhirId.id },
      meta: {
        patientId: version.patientId,
        lastUpdated: version.time,
        recordId,
        version: version.version,
      },
    };
  } catch {
    return undefined; // not wrapped for the key it names after all, or failing its integrity checks (which raise an alarm)
  }
}
