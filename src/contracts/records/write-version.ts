/**
 * Writing record versions (DESIGN.md, Contracts: records). `records.anchor` creates a record at
 * version 1, `records.supersede` appends a version and `records.tombstone` deletes the record
 * while keeping its history. A version is anchored by ciphertext hash and commitment only.
 * Every write names the version it creates, which must be the latest plus one: of two writes
 * racing for the same version exactly one wins, and FHIR If-Match builds on that.
 */
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { writeRefusal } from '../consent/index.js';
import { PATIENTS } from '../membership/index.js';
import type { StateReader, Write } from '../state.js';
import type { VersionContent } from './record-body.js';
import { requiredRecipients } from './recipients.js';
import { RECORDS_ANCHOR, RECORDS_SUPERSEDE, RECORDS_TOMBSTONE } from './txs.js';
import {
  RECORD_TABLE,
  RECORDS,
  VERSION_TABLE,
  VERSIONS,
  versionKey,
  type RecordRow,
  type SecurityLabel,
  type VersionKind,
  type VersionRow,
} from './tables.js';

/**
 * Executes `records.anchor`: { recordId, patientId, resourceType, version: 1, ...CONTENT_FIELDS },
 * signed by a practitioner, for a registered patient (or null for a directory record) and a
 * record id not used before.
 */
export function executeAnchor(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'practitioner') return refuse('denied:not-a-practitioner');
  const body = RECORDS_ANCHOR.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId, patientId, resourceType, content } = body;
  if (RECORDS.get(state, recordId) !== undefined) return refuse('denied:record-exists');
  if (patientId !== null && PATIENTS.get(state, patientId) === undefined)
    return refuse('denied:no-such-patient');
  const record: RecordRow = {
    recordId,
    patientId,
    resourceType,
    org: context.signer.org,
    latestVersion: 1,
    status: 'active',
    updatedAt: context.block.time,
  };
  return writeVersion(state, context, record, 'anchor', content);
}

/** Executes `records.supersede`: { recordId, version, ...CONTENT_FIELDS }, signed by a practitioner, for an active record. */
export function executeSupersede(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'practitioner') return refuse('denied:not-a-practitioner');
  const body = RECORDS_SUPERSEDE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId, version, content } = body;
  const record = nextVersionOf(state, recordId, version, context.block.time);
  if (typeof record === 'string') return refuse(record);
  return writeVersion(state, context, record, 'supersede', content);
}

/** Executes `records.tombstone`: { recordId, version }, signed by a practitioner, for an active record. */
export function executeTombstone(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'practitioner') return refuse('denied:not-a-practitioner');
  const body = RECORDS_TOMBSTONE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { recordId, version } = body;
  const record = nextVersionOf(state, recordId, version, context.block.time);
  if (typeof record === 'string') return refuse(record);
  const latest = VERSIONS.get(state, versionKey(recordId, version - 1));
  const refusal = writerRefusal(state, context, record, latest?.securityLabels ?? []);
  if (refusal !== undefined) return refuse(refusal);
  const row: VersionRow = {
    ...versionHeader(record, context, 'tombstone'),
    ciphertextHash: null,
    ciphertextSize: null,
    commitment: null,
    securityLabels: [],
    envelopes: [],
  };
  return accept(versionWrites({ ...record, status: 'deleted' }, row), [
    { type: 'records.tombstoned', subject: record.recordId },
  ]);
}

/** `recordId`'s row advanced to `version` at `time`, when the record is active and `version` is its next one. */
function nextVersionOf(
  state: StateReader,
  recordId: string,
  version: number,
  time: number,
): RecordRow | Refusal {
  const record = RECORDS.get(state, recordId);
  if (record === undefined) return 'denied:no-such-record';
  if (record.status !== 'active') return `denied:record-${record.status}`;
  if (version !== record.latestVersion + 1) return 'denied:version-conflict';
  return { ...record, latestVersion: version, updatedAt: time };
}

/** Why the signing practitioner may not write `record` with `labels`, or undefined when they may (see writeRefusal). */
function writerRefusal(
  state: StateReader,
  context: TxContext,
  record: RecordRow,
  labels: readonly SecurityLabel[],
): Refusal | undefined {
  // A directory record is its organisation's to keep.
  if (record.patientId === null)
    return context.signer.org === record.org ? undefined : 'denied:not-your-record';
  const patient = PATIENTS.get(state, record.patientId);
  if (patient === undefined) return 'denied:no-such-patient';
  const query = {
    patientId: record.patientId,
    practitionerId: context.signer.subject,
    orgId: context.signer.org,
    recordId: record.recordId,
    resourceType: record.resourceType,
    labels: labels.map((label) => label.code),
    time: context.block.time,
  };
  return writeRefusal(state, query, patient.homeOrg);
}

/** Writes `record` at its latest version with `content`, once every required recipient has an envelope. */
function writeVersion(
  state: StateReader,
  context: TxContext,
  record: RecordRow,
  kind: 'anchor' | 'supersede',
  content: VersionContent,
): ContractResult {
  const refusal = writerRefusal(state, context, record, content.securityLabels);
  if (refusal !== undefined) return refuse(refusal);
  const recipients = new Set(content.envelopes.map((envelope) => envelope.recipient));
  const required = requiredRecipients(state, {
    patientId: record.patientId,
    recordId: record.recordId,
    resourceType: record.resourceType,
    securityLabels: content.securityLabels,
    orgIds: [record.org, context.signer.org],
    time: context.block.time,
  });
  if (!required.every((recipient) => recipients.has(recipient)))
    return refuse('denied:missing-envelope');
  const row: VersionRow = { ...versionHeader(record, context, kind), ...content };
  return accept(versionWrites(record, row), [
    {
      type: kind === 'anchor' ? 'records.anchored' : 'records.superseded',
      subject: record.recordId,
    },
  ]);
}

function versionHeader(
  record: RecordRow,
  context: TxContext,
  kind: VersionKind,
): Pick<
  VersionRow,
  'recordId' | 'version' | 'resourceType' | 'patientId' | 'author' | 'txId' | 'time' | 'kind'
> {
  const { recordId, latestVersion: version, resourceType, patientId } = record;
  const author = { practitioner: context.signer.subject, org: context.signer.org };
  return {
    recordId,
    version,
    resourceType,
    patientId,
    author,
    txId: context.txId,
    time: context.block.time,
    kind,
  };
}

function versionWrites(record: RecordRow, row: VersionRow): Write[] {
  return [
    { table: RECORD_TABLE, key: record.recordId, value: { ...record } },
    { table: VERSION_TABLE, key: versionKey(row.recordId, row.version), value: { ...row } },
  ];
}
