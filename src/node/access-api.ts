/**
 * The read path (DESIGN.md, Read path: log before release): authenticate (the caller hands in
 * a Principal its authentication produced), decide from committed contract state, make the
 * access transaction durable, and only then unwrap, decrypt, check the commitment and return.
 * Denials are logged the same way. Nothing is released if the log cannot be written.
 */
import {
  AUDIT_ENTRY_TABLE,
  auditCount,
  auditKey,
  BTG_REVIEW_TABLE,
  BTG_TABLE,
  decideAccess,
  RECORD_TABLE,
  type AccessBasis,
  type AuditEntry,
  type BreakTheGlassRow,
  type Principal,
  type RecordRow,
  type VersionRow,
} from '../contracts/index.js';
import type { JsonObject, Transaction } from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';
import { inclusionProof, type InclusionProofResponse } from './proofs.js';
import type { NodeRecords, RecordReader } from './records-api.js';

/** What submitting a transaction came to: durable with its id, or refused. */
export type Submitted = { readonly ok: true; readonly txId: string } | { readonly ok: false; readonly status: string; readonly reason: string };

/** The node services the access path needs. */
export interface AccessHost {
  readonly chain: ChainStore;
  readonly records: NodeRecords;
  readonly orgId: string;
  signAsOrg(type: string, body: JsonObject): Transaction;
  submit(tx: Transaction): Promise<Submitted>;
  waitForTx(txId: string, timeoutMs?: number): Promise<{ status: string }>;
  submitAndWait(tx: Transaction): Promise<{ status: string; txId?: string }>;
  /** Brings a version's ciphertext from a peer when this node lacks it; never rejects (the read reports what is missing). */
  fetchBlob?(recordId: string, version: number): Promise<void>;
}

/** The answer to a read: the resource with its basis, or the denial; either way the access transaction's id. */
export type AccessResult =
  | { readonly outcome: 'permit'; readonly resource: JsonObject; readonly salt: string; readonly version: VersionRow; readonly basis: AccessBasis; readonly txId: string }
  | { readonly outcome: 'deny'; readonly reason: string; readonly txId: string };

/** The access transaction could not be made durable, so nothing was released. */
export class AccessLogUnavailableError extends Error {
  constructor(readonly status: string, reason: string) {
    super(`access log unavailable (${status}): ${reason}; nothing was released`);
    this.name = 'AccessLogUnavailableError';
  }
}

/** An audit entry with the inclusion proof of its transaction, once committed. */
export interface ProvenEntry {
  readonly entry: AuditEntry;
  readonly proof: InclusionProofResponse;
}

/** The access path of one node. */
export class NodeAccess {
  constructor(private readonly host: AccessHost) {}

  /**
   * Reads version `version` (default: latest) of `recordId` for `principal`, for `purpose`.
   * Throws AccessLogUnavailableError when the log cannot be written, and what NodeRecords.read
   * throws (integrity errors, a deleted version) after a permit.
   */
  async read(principal: Principal, recordId: string, options: { purpose: string; version?: number }): Promise<AccessResult> {
    if (principal.org !== this.host.orgId) throw new RangeError('principal must be authenticated by this node\'s organisation');
    const record = this.host.chain.state.get(RECORD_TABLE, recordId) as RecordRow | undefined;
    const version = options.version ?? record?.latestVersion ?? 1;
    const time = this.host.chain.head()?.time ?? 0;
    const decision = decideAccess(this.host.chain.state, { principal, action: 'read', recordId, version, purpose: options.purpose, time });
    const released = decision.outcome === 'permit';
    const txId = await this.#log({ principal: { kind: principal.kind, id: principal.id }, recordId, version, action: 'read', purpose: options.purpose, released });
    if (decision.outcome === 'deny') return { outcome: 'deny', reason: decision.reason, txId };
    await this.host.fetchBlob?.(recordId, version);
    const read = this.host.records.read(readerOf(principal), recordId, version);
    return { outcome: 'permit', resource: read.resource, salt: read.salt, version: read.version, basis: decision.basis, txId };
  }

  /** Requests break-the-glass for a practitioner and waits for the contract's decision. */
  async breakTheGlass(principal: Principal, patientId: string, request: { purpose: string; reason: string; minutes?: number }): Promise<BreakTheGlassRow> {
    const body: JsonObject = { principal: { kind: principal.kind, id: principal.id }, patientId, purpose: request.purpose, reason: request.reason };
    if (request.minutes !== undefined) body['minutes'] = request.minutes;
    const txId = await this.#log(body, 'access.break-the-glass');
    const status = (await this.host.waitForTx(txId)).status;
    if (status !== 'ok') throw new RangeError(`break-the-glass refused: ${status}`);
    return this.host.chain.state.get(BTG_TABLE, txId) as unknown as BreakTheGlassRow;
  }

  /** The privacy officer's verdict on a break-the-glass event; resolves with the transaction's status. */
  async review(btgId: string, justified: boolean, note?: string): Promise<string> {
    const body: JsonObject = note === undefined ? { btgId, justified } : { btgId, justified, note };
    return (await this.host.waitForTx(await this.#log(body, 'access.review-break-the-glass'))).status;
  }

  /** Granted break-the-glass events of this organisation awaiting review, oldest key first. */
  reviewQueue(): BreakTheGlassRow[] {
    const prefix = `${this.host.orgId}|`;
    return this.host.chain
      .stateKeys(BTG_REVIEW_TABLE)
      .filter((key) => key.startsWith(prefix))
      .map((key) => this.host.chain.state.get(BTG_TABLE, key.slice(prefix.length)) as unknown as BreakTheGlassRow);
  }

  /**
   * The accounting of disclosures for `patientId`: every access, denial, grant, revocation,
   * break-the-glass, key share and erasure, in ledger order, each with its inclusion proof.
   * `fromSeq` pages through long trails.
   */
  trail(patientId: string, options: { fromSeq?: number; limit?: number; kinds?: readonly AuditEntry['kind'][] } = {}): ProvenEntry[] {
    const count = auditCount(this.host.chain.state, patientId);
    const entries: ProvenEntry[] = [];
    for (let seq = options.fromSeq ?? 1; seq <= count && entries.length < (options.limit ?? 1000); seq++) {
      const entry = this.host.chain.state.get(AUDIT_ENTRY_TABLE, auditKey(patientId, seq)) as unknown as AuditEntry;
      if (options.kinds !== undefined && !options.kinds.includes(entry.kind)) continue;
      entries.push({ entry, proof: inclusionProof(this.host.chain, entry.txId) });
    }
    return entries;
  }

  /** The patient's notification feed: break-the-glass events and their reviews. */
  notifications(patientId: string, fromSeq = 1): ProvenEntry[] {
    return this.trail(patientId, { fromSeq, kinds: ['break-the-glass', 'break-the-glass-review'] });
  }

  async #log(body: JsonObject, type = 'access.log'): Promise<string> {
    const result = await this.host.submit(this.host.signAsOrg(type, body));
    if (!result.ok) throw new AccessLogUnavailableError(result.status, result.reason);
    return result.txId;
  }
}

function readerOf(principal: Principal): RecordReader {
  if (principal.kind === 'patient') return { kind: 'patient', patientId: principal.id };
  if (principal.kind === 'practitioner') return { kind: 'practitioner', practitionerId: principal.id };
  return { kind: 'organisation' };
}
