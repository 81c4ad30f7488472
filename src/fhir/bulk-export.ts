/**
 * FHIR Bulk Data export (Bulk Data Access IG 2.0, export.html), patient and group level: a
 * system client kicks off a job, polls its status, and downloads one NDJSON file per resource
 * type. Every record goes out through the ordinary search path, a page at a time, so each is
 * consent-checked and its release logged on the ledger (one access.search per page) before it
 * is decrypted.
 *
 * The files hold decrypted records, so they never rest in plaintext: each page is sealed with
 * AES-256-GCM under a key that lives only in this process's memory, and written owner-only
 * under `<data>/exports`. A job and its files are deleted when the client deletes it, when it
 * expires, and at every start (their key died with the last process).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { principalKey } from '../contracts/index.js';
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, fromUtf8, utf8 } from '../crypto/index.js';
import {
  EXPORT_ERRORS_LISTED_MAX,
  EXPORT_GROUP_CHUNK,
  EXPORT_GROUP_MEMBERS_MAX,
  EXPORT_JOBS_MAX,
  EXPORT_JOBS_PER_OWNER_MAX,
  EXPORT_PAGE_COUNT,
  EXPORT_RETENTION_MS,
  type JsonObject,
} from '../ledger/index.js';
import type { FhirSearch, SearchCaller } from './fhir-search.js';
import { memberPatientId } from './group-members.js';
import { FhirError } from './outcome.js';
import { PATIENT_REFERENCE_ELEMENT } from './patient-of.js';
import type { ServedVersion } from './type-handler.js';

/** What a patient-level export covers: Patient and the Patient compartment types this node stores. */
export const EXPORT_TYPES: readonly string[] = [
  'Patient',
  ...Object.keys(PATIENT_REFERENCE_ELEMENT),
].sort();

/** What a client asked for: resource types (all exportable ones when empty) and `_since`. */
export interface ExportRequest {
  readonly types: readonly string[];
  /** Only resources last updated at or after this instant (ms), when given. */
  readonly sinceMs?: number | undefined;
  /** The kick-off URL, echoed in the manifest. */
  readonly requestUrl: string;
  /** For a Group export: its members' FHIR Patient ids; only their compartments are exported. */
  readonly patients?: readonly string[] | undefined;
}

/** One output file of a finished job. */
export interface ExportOutput {
  readonly type: string;
  readonly count: number;
}

/** A job as its client sees it. */
export type ExportStatus =
  | { readonly state: 'running'; readonly progress: string }
  | { readonly state: 'failed'; readonly reason: string }
  | {
      readonly state: 'done';
      readonly transactionTime: string;
      readonly request: string;
      readonly output: readonly ExportOutput[];
      /** Records the caller may read that could not be served (a corrupt or missing blob). */
      readonly errors: number;
    };

interface Job {
  /** principalKey() of the caller that started it: the principal and, for a system, its client. */
  readonly owner: string;
  readonly caller: SearchCaller;
  readonly request: ExportRequest;
  readonly key: Uint8Array;
  readonly startedAt: number;
  readonly counts: Map<string, number>;
  /** 'Type/id: stage' of each record that could not be served, at most EXPORT_ERRORS_LISTED_MAX. */
  readonly failures: string[];
  finishedAt: number | undefined;
  status: ExportStatus;
  cancelled: boolean;
}

/** Patient-level exports over one node's search. */
export class FhirBulkExport {
  readonly #jobs = new Map<string, Job>();
  readonly #dir: string;

  constructor(
    private readonly search: FhirSearch,
    dataDir: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.#dir = join(dataDir, 'exports');
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Throws FhirError 429 when no job can start for `caller` now: checked before a kick-off reads anything. */
  admit(caller: SearchCaller): void {
    this.#expire();
    const owned = [...this.#jobs.values()].filter(
      (job) => job.owner === principalKey(caller.principal),
    ).length;
    if (this.#jobs.size >= EXPORT_JOBS_MAX || owned >= EXPORT_JOBS_PER_OWNER_MAX)
      throw FhirError.of(
        429,
        'throttled',
        'too many export jobs; delete one or wait for it to expire',
      );
  }

  /** Starts a job for `caller`; resolves with its id at once, the export running on. */
  start(caller: SearchCaller, request: ExportRequest): string {
    this.admit(caller);
    const id = randomUUID();
    const job: Job = {
      owner: principalKey(caller.principal),
      caller,
      request,
      key: randomBytes(32),
      startedAt: this.clock(),
      counts: new Map(),
      failures: [],
      finishedAt: undefined,
      status: { state: 'running', progress: 'starting' },
      cancelled: false,
    };
    this.#jobs.set(id, job);
    mkdirSync(join(this.#dir, id), { recursive: true, mode: 0o700 });
    void this.#run(id, job);
    return id;
  }

  /** The status of job `id`, for the caller that started it only (anyone else: 404). */
  status(caller: SearchCaller, id: string): ExportStatus {
    return this.#own(caller, id).status;
  }

  /** The NDJSON of `type` from finished job `id`, decrypted, for the caller that started it while its token still reads `type`. */
  file(caller: SearchCaller, id: string, type: string): string {
    const job = this.#own(caller, id);
    if (type !== 'OperationOutcome' && !caller.mayRead(type))
      throw FhirError.of(403, 'forbidden', `the token's scopes do not allow reading ${type}`);
    if (job.status.state === 'done' && type === 'OperationOutcome' && job.failures.length > 0)
      return job.failures.map((failure) => JSON.stringify(failureOutcome(failure)) + '\n').join('');
    if (job.status.state !== 'done' || !job.counts.has(type))
      throw FhirError.of(404, 'not-found', 'no such export file');
    return openFrames(readFileSync(this.#path(id, type)), job.key);
  }

  /** Cancels job `id` or deletes its files (DELETE on the status URL). */
  delete(caller: SearchCaller, id: string): void {
    const job = this.#own(caller, id);
    job.cancelled = true;
    this.#jobs.delete(id);
    rmSync(join(this.#dir, id), { recursive: true, force: true });
  }

  /** Deletes every job and its files. */
  close(): void {
    for (const job of this.#jobs.values()) job.cancelled = true;
    this.#jobs.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #run(id: string, job: Job): Promise<void> {
    try {
      for (const type of job.request.types) {
        if (job.cancelled) return;
        job.status = { state: 'running', progress: `exporting ${type}` };
        await this.#exportType(id, job, type);
      }
      job.status = {
        state: 'done',
        transactionTime: new Date(job.startedAt).toISOString(),
        request: job.request.requestUrl,
        output: [...job.counts].map(([type, count]) => ({ type, count })),
        errors: job.failures.length,
      };
      job.finishedAt = this.clock();
    } catch (error) {
      const reason = error instanceof FhirError ? error.message : 'the export failed on this node';
      job.status = { state: 'failed', reason };
      job.finishedAt = this.clock();
    }
  }

  /** Every `type` resource the caller may read (of the job's patients, for a Group), into its file. */
  async #exportType(id: string, job: Job, type: string): Promise<void> {
    const { patients } = job.request;
    if (patients === undefined) return this.#exportPages(id, job, type, new URLSearchParams());
    const param = type === 'Patient' ? '_id' : 'patient';
    const prefix = type === 'Patient' ? '' : 'Patient/';
    // A record of two members (a Provenance naming both) is matched by both their chunks.
    const exported = new Set<string>();
    for (let at = 0; at < patients.length && !job.cancelled; at += EXPORT_GROUP_CHUNK) {
      const chunk = patients.slice(at, at + EXPORT_GROUP_CHUNK);
      const filter = new URLSearchParams({ [param]: chunk.map((p) => prefix + p).join(',') });
      await this.#exportPages(id, job, type, filter, { patients: chunk, exported });
    }
  }

  /**
   * The `type` resources matching `filter` that the caller may read, sealed into its file a
   * search page at a time, each page in `_id` order after the last: every page costs the same,
   * and a record written meanwhile is neither skipped nor exported twice. For a Group, only
   * records of `group.patients` (by ledger patient, not by what a record's content names), each
   * once across the job's chunks (`group.exported`).
   */
  async #exportPages(
    id: string,
    job: Job,
    type: string,
    filter: URLSearchParams,
    group?: { readonly patients: readonly string[]; readonly exported: Set<string> },
  ): Promise<void> {
    const params = new URLSearchParams(filter);
    params.set('_count', String(EXPORT_PAGE_COUNT));
    params.set('_sort', '_id');
    if (job.request.sinceMs !== undefined)
      params.set('_lastUpdated', `ge${new Date(job.request.sinceMs).toISOString()}`);
    for (let after: string | undefined, more = true; more && !job.cancelled;) {
      const within = { afterId: after, patients: group?.patients };
      const page = await this.search.search(job.caller, type, params, within);
      if (job.cancelled) return;
      for (const failure of page.failures)
        if (job.failures.length < EXPORT_ERRORS_LISTED_MAX)
          job.failures.push(`${failure.reference}: ${failure.stage}`);
      const matches = page.matches.filter((match) => firstTime(group?.exported, match));
      if (matches.length > 0) {
        const lines = matches.map((match) => JSON.stringify(match.resource) + '\n').join('');
        appendFileSync(this.#path(id, type), sealFrame(lines, job.key), { mode: 0o600 });
        job.counts.set(type, (job.counts.get(type) ?? 0) + matches.length);
      }
      more = page.nextOffset !== undefined;
      after = page.lastId;
    }
  }

  #own(caller: SearchCaller, id: string): Job {
    this.#expire();
    const job = this.#jobs.get(id);
    if (job === undefined || job.owner !== principalKey(caller.principal))
      throw FhirError.of(404, 'not-found', 'no such export job');
    return job;
  }

  /** Jobs finished more than EXPORT_RETENTION_MS ago go, with their files; running ones stay. */
  #expire(): void {
    const now = this.clock();
    for (const [id, job] of this.#jobs) {
      if (job.finishedAt === undefined || now - job.finishedAt < EXPORT_RETENTION_MS) continue;
      job.cancelled = true;
      this.#jobs.delete(id);
      rmSync(join(this.#dir, id), { recursive: true, force: true });
    }
  }

  #path(id: string, type: string): string {
    return join(this.#dir, id, `${type}.ndjson.sealed`);
  }
}

/**
 * The FHIR Patient ids a Group exports: each `member.entity` naming a Patient of this server
 * (`Patient/[id]`), not marked inactive, once each, in member order. Members of other types have
 * no compartment to export. Throws FhirError 400 past EXPORT_GROUP_MEMBERS_MAX.
 */
export function groupPatients(group: JsonObject): string[] {
  const members = Array.isArray(group['member']) ? group['member'] : [];
  const ids: string[] = [];
  for (const member of members) {
    const patientId = memberPatientId(member);
    if (patientId !== undefined && (member as JsonObject)['inactive'] !== true) ids.push(patientId);
  }
  const unique = [...new Set(ids)];
  if (unique.length > EXPORT_GROUP_MEMBERS_MAX)
    throw FhirError.of(
      400,
      'too-costly',
      `a Group export covers at most ${EXPORT_GROUP_MEMBERS_MAX} members`,
    );
  return unique;
}

/** True the first time `exported` sees `match`'s id (always, without a set). */
function firstTime(exported: Set<string> | undefined, match: ServedVersion): boolean {
  const id = String(match.resource['id']);
  if (exported?.has(id) === true) return false;
  exported?.add(id);
  return true;
}

/** One unserved record as the IG's error file lists it: an OperationOutcome per line. */
function failureOutcome(failure: string): JsonObject {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: 'exception', diagnostics: `${failure} could not be served` },
    ],
  };
}

/** One sealed page: length (4 bytes, big-endian) ‖ nonce ‖ AES-256-GCM(lines). */
function sealFrame(lines: string, key: Uint8Array): Uint8Array {
  const nonce = randomBytes(AEAD_NONCE_BYTES);
  const sealed = aeadSeal(key, nonce, new Uint8Array(0), utf8(lines));
  const frame = new Uint8Array(4 + AEAD_NONCE_BYTES + sealed.byteLength);
  new DataView(frame.buffer).setUint32(0, AEAD_NONCE_BYTES + sealed.byteLength);
  frame.set(nonce, 4);
  frame.set(sealed, 4 + AEAD_NONCE_BYTES);
  return frame;
}

function openFrames(bytes: Uint8Array, key: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pages: string[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const length = view.getUint32(at);
    const nonce = bytes.subarray(at + 4, at + 4 + AEAD_NONCE_BYTES);
    const sealed = bytes.subarray(at + 4 + AEAD_NONCE_BYTES, at + 4 + length);
    pages.push(fromUtf8(aeadOpen(key, nonce, new Uint8Array(0), sealed)));
    at += 4 + length;
  }
  return pages.join('');
}
