/**
 * The read path (DESIGN.md, Read path: log before release): authenticate (the caller hands in
 * a Principal its authentication produced), decide from committed contract state, make the
 * access transaction durable, and only then unwrap, decrypt, check the commitment and return.
 * Denials are logged the same way. Nothing is released if the log cannot be written.
 */
import {
  ACCESS_LOG,
  ACCESS_SEARCH,
  AUDIT_ENTRIES,
  auditCount,
  auditKey,
  decideAccess,
  RECORD_TABLE,
  RECORDS,
  type AccessBasis,
  type ListedRecord,
  type NamedPrincipal,
  type AccessDecision,
  type AccessRequest,
  type AuditEntry,
  type Principal,
  type RecordRow,
  type StateReader,
  type VersionRow,
} from '../contracts/index.js';
import type { JsonObject, Transaction } from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';
import { decisionTime } from './chain-time.js';
import { inclusionProof, type InclusionProofResponse } from './proofs.js';
import { RecordIntegrityError, RecordUnavailableError } from './record-service.js';
import type { NodeRecords, RecordReader } from './records-api.js';
import { typedTx } from './tx-type.js';
import { SEARCH_RECORD_COUNT_MAX } from '../ledger/index.js';

/** What submitting a transaction came to: durable with its id, or refused. */
export type Submitted =
  | { readonly ok: true; readonly txId: string }
  | { readonly ok: false; readonly status: string; readonly reason: string };

/** The node services the access path needs. */
export interface AccessHost {
  readonly chain: ChainStore;
  readonly records: NodeRecords;
  readonly orgId: string;
  signAsOrg(type: string, body: JsonObject): Transaction;
  /** Signs as the organisation and submits, resynchronising the nonce and retrying once if it was stale. Bodies come from typedTx(). */
  submitAsOrg(type: string, body: JsonObject): Promise<Submitted>;
  submit(tx: Transaction): Promise<Submitted>;
  waitForTx(txId: string, timeoutMs?: number): Promise<{ status: string }>;
  submitAndWait(tx: Transaction): Promise<{ status: string; txId?: string }>;
  /** Brings a version's ciphertext from a peer when this node lacks it; never rejects (the read reports what is missing). */
  fetchBlob?(recordId: string, version: number): Promise<void>;
}

/** The answer to a read: the resource with its basis, or the denial; either way the access transaction's id. */
export type AccessResult =
  | {
      readonly outcome: 'permit';
      readonly resource: JsonObject;
      readonly salt: string;
      readonly version: VersionRow;
      readonly basis: AccessBasis;
      readonly txId: string;
    }
  | { readonly outcome: 'deny'; readonly reason: string; readonly txId: string };

/** A record version a search names: what the node decided to release, or (for a scoped search) refused. */
export interface SearchedVersion {
  readonly recordId: string;
  readonly version: number;
}

/** What releasing one record of a search came to: its plaintext, or the stage at which it could not be served. */
export type ReleasedRecord =
  | {
      readonly outcome: 'permit';
      readonly recordId: string;
      readonly resource: JsonObject;
      readonly salt: string;
      readonly version: VersionRow;
    }
  | {
      readonly outcome: 'failed';
      readonly recordId: string;
      readonly version: number;
      readonly stage: string;
    };

/** The access transaction could not be made durable, so nothing was released. */
export class AccessLogUnavailableError extends Error {
  constructor(
    readonly status: string,
    reason: string,
  ) {
    super(`access log unavailable (${status}): ${reason}; nothing was released`);
    this.name = 'AccessLogUnavailableError';
  }
}

/** An audit entry with the inclusion proof of its transaction, once committed. */
export interface ProvenEntry {
  readonly entry: AuditEntry;
  readonly proof: InclusionProofResponse;
}

/**
 * How much later than the node's decision the block that logs an access may be cut: the
 * contract decides the access again at that block's time.
 */
const ACCESS_DECISION_AHEAD_MS = 2_000;

/** Bases that can lapse with time: a grant's or agreement's period, a break-the-glass window. */
const LAPSING_BASES: ReadonlySet<AccessBasis['kind']> = new Set(['consent', 'break-the-glass']);

/**
 * `request` decided as of now, not as of the newest block: on a quiet node that block can be
 * arbitrarily old, and a break-the-glass window or a grant's period may have ended since. A
 * permit on a basis that can lapse must also hold ACCESS_DECISION_AHEAD_MS later, when the block
 * logging the access is cut, so a window ending in between is not used to its last instant and
 * the ledger never records a release it refuses.
 */
function decideNow(
  chain: ChainStore,
  state: StateReader,
  request: Omit<AccessRequest, 'time'>,
): AccessDecision {
  const now = decisionTime(chain);
  const decision = decideAccess(state, { ...request, time: now });
  if (decision.outcome === 'deny' || !LAPSING_BASES.has(decision.basis.kind)) return decision;
  const ahead = decideAccess(state, { ...request, time: now + ACCESS_DECISION_AHEAD_MS });
  return ahead.outcome === 'deny' ? ahead : decision;
}

/** The access path of one node. */
export class NodeAccess {
  constructor(private readonly host: AccessHost) {}

  /**
   * Reads version `version` (default: latest) of `recordId` for `principal`, for `purpose`.
   * Throws AccessLogUnavailableError when the log cannot be written, and what NodeRecords.read
   * throws (integrity errors, a deleted version) after a permit.
   */
  async read(
    principal: Principal,
    recordId: string,
    options: { purpose: string; version?: number },
  ): Promise<AccessResult> {
    if (principal.org !== this.host.orgId)
      throw new RangeError("principal must be authenticated by this node's organisation");
    const record = RECORDS.get(this.host.chain.state, recordId);
    const version = options.version ?? record?.latestVersion ?? 1;
    const decision = decideNow(this.host.chain, this.host.chain.state, {
      principal,
      action: 'read',
      recordId,
      version,
      purpose: options.purpose,
    });
    const released = decision.outcome === 'permit';
    const txId = await this.#log(
      this.host.submitAsOrg(
        ...typedTx(ACCESS_LOG, {
          principal: namedPrincipal(principal),
          recordId,
          version,
          action: 'read',
          purpose: options.purpose,
          released,
        }),
      ),
    );
    if (decision.outcome === 'deny') return { outcome: 'deny', reason: decision.reason, txId };
    await this.host.fetchBlob?.(recordId, version);
    const read = await this.host.records.readOffThread(readerOf(principal), recordId, version);
    return {
      outcome: 'permit',
      resource: read.resource,
      salt: read.salt,
      version: read.version,
      basis: decision.basis,
      txId,
    };
  }

  /**
   * Decides, from committed contract state and without logging, whether `principal` may read
   * version `version` (default: the latest) of `recordId` for `purpose`. This is what a search
   * filters and pages by before anything is logged or released; releaseAll() then logs the result.
   */
  decide(
    principal: Principal,
    recordId: string,
    options: { purpose: string; version?: number; ignoringErasure?: boolean },
  ): AccessDecision {
    const record = RECORDS.get(this.host.chain.state, recordId);
    const version = options.version ?? record?.latestVersion ?? 1;
    // Whether the caller could have read an erased record decides if they may learn it was erased (410) or get a plain 404.
    const state =
      options.ignoringErasure === true && record?.status === 'erased'
        ? withRecord(this.host.chain.state, { ...record, status: 'active' })
        : this.host.chain.state;
    return decideNow(this.host.chain, state, {
      principal,
      action: 'read',
      recordId,
      version,
      purpose: options.purpose,
    });
  }

  /**
   * Logs one search for `principal` and then releases `released`: one access.search (several
   * past SEARCH_RECORD_COUNT_MAX records) is made durable before any key is unwrapped, listing
   * the released versions and, for a search scoped to one patient (`patientId`), the `denied`
   * versions of that patient. Resolves with one ReleasedRecord per released version, in order:
   * a version that fails its integrity checks (an alarm is raised) or cannot be opened is a
   * 'failed' entry naming the stage, so one bad record does not fail the search. Throws
   * AccessLogUnavailableError when the log cannot be written (nothing is released), RangeError
   * when `denied` is given without `patientId` or a record is named twice.
   */
  async releaseAll(
    principal: Principal,
    released: readonly SearchedVersion[],
    options: { purpose: string; patientId: string | null; denied?: readonly SearchedVersion[] },
  ): Promise<ReleasedRecord[]> {
    if (principal.org !== this.host.orgId)
      throw new RangeError("principal must be authenticated by this node's organisation");
    const denied = options.denied ?? [];
    if (denied.length > 0 && options.patientId === null)
      throw new RangeError('denied requires the patientId the search was scoped to');
    const listed = [
      ...released.map((item) => listedOf(item, true)),
      ...denied.map((item) => listedOf(item, false)),
    ];
    // The contract refuses a list naming a record twice; a refused log after release would be a release unaccounted for.
    if (new Set(listed.map((item) => item.recordId)).size !== listed.length)
      throw new RangeError('released and denied must name each record once');
    const pages: ListedRecord[][] = [];
    for (let start = 0; start < listed.length; start += SEARCH_RECORD_COUNT_MAX)
      pages.push(listed.slice(start, start + SEARCH_RECORD_COUNT_MAX));
    const named = namedPrincipal(principal);
    await Promise.all(
      pages.map((records) =>
        this.#log(
          this.host.submitAsOrg(
            ...typedTx(ACCESS_SEARCH, {
              principal: named,
              purpose: options.purpose,
              patientId: options.patientId,
              records,
            }),
          ),
        ),
      ),
    );
    return Promise.all(released.map((item) => this.#open(principal, item)));
  }

  async #open(principal: Principal, item: SearchedVersion): Promise<ReleasedRecord> {
    try {
      const read = await this.host.records.readOffThread(
        readerOf(principal),
        item.recordId,
        item.version,
      );
      return {
        outcome: 'permit',
        recordId: item.recordId,
        resource: read.resource,
        salt: read.salt,
        version: read.version,
      };
    } catch (error) {
      if (error instanceof RecordIntegrityError)
        return {
          outcome: 'failed',
          recordId: item.recordId,
          version: item.version,
          stage: error.stage,
        };
      if (error instanceof RecordUnavailableError)
        return {
          outcome: 'failed',
          recordId: item.recordId,
          version: item.version,
          stage: error.reason,
        };
      throw error;
    }
  }

  /**
   * The accounting of disclosures for `patientId`: every access, denial, grant, revocation,
   * break-the-glass, key share and erasure, in ledger order, each with its inclusion proof.
   * `fromSeq` pages through long trails.
   */
  trail(
    patientId: string,
    options: { fromSeq?: number; limit?: number; kinds?: readonly AuditEntry['kind'][] } = {},
  ): ProvenEntry[] {
    const count = auditCount(this.host.chain.state, patientId);
    const entries: ProvenEntry[] = [];
    for (
      let seq = options.fromSeq ?? 1;
      seq <= count && entries.length < (options.limit ?? 1000);
      seq++
    ) {
      const entry = AUDIT_ENTRIES.get(this.host.chain.state, auditKey(patientId, seq))!;
      if (options.kinds !== undefined && !options.kinds.includes(entry.kind)) continue;
      entries.push({ entry, proof: inclusionProof(this.host.chain, entry.txId) });
    }
    return entries;
  }

  /** The patient's notification feed: break-the-glass events and their reviews. */
  notifications(patientId: string, fromSeq = 1): ProvenEntry[] {
    return this.trail(patientId, { fromSeq, kinds: ['break-the-glass', 'break-the-glass-review'] });
  }

  /** The id of the access transaction `submitting`, once durable. */
  async #log(submitting: Promise<Submitted>): Promise<string> {
    const result = await submitting;
    if (!result.ok) throw new AccessLogUnavailableError(result.status, result.reason);
    return result.txId;
  }
}

/** `principal` as an access transaction names it: kind and id, and the client of a system principal. */
function namedPrincipal(principal: Principal): NamedPrincipal {
  const { kind, id, client } = principal;
  return client === undefined ? { kind, id } : { kind, id, client };
}

/** A record as access.search lists it: exactly these fields, whatever else the caller's object carries. */
function listedOf(item: SearchedVersion, released: boolean): ListedRecord {
  return { recordId: item.recordId, version: item.version, released };
}

/** `state` with `record` in place of its stored row. */
function withRecord(state: StateReader, record: RecordRow): StateReader {
  return {
    get: (table, key) =>
      table === RECORD_TABLE && key === record.recordId ? { ...record } : state.get(table, key),
  };
}

function readerOf(principal: Principal): RecordReader {
  if (principal.kind === 'patient') return { kind: 'patient', patientId: principal.id };
  if (principal.kind === 'practitioner')
    return { kind: 'practitioner', practitionerId: principal.id };
  return { kind: 'organisation' };
}
