/**
 * FHIR R4 instance interactions (create, read, vread, update, delete, history) on ChartChain
 * records. Every write is a practitioner-signed, encrypted version anchored on the ledger; every
 * read goes through the node's consent-checked, log-before-release access path.
 */
import { randomUUID } from 'node:crypto';
import { fromUtf8, type JsonValue } from '../crypto/index.js';
import {
  KEYS,
  MEMBERSHIP_REGISTER_PATIENT,
  type Principal,
  type RecordRow,
  type SecurityLabel,
  type VersionRow,
} from '../contracts/index.js';
import type { JsonObject, Transaction } from '../ledger/index.js';
import { type NodeFacade, type VersionInput } from '../node/index.js';
import { JsonPatchError } from './json-patch.js';
import { FhirError } from './outcome.js';
import { patientOf, recordOf } from './ledger-names.js';
import { checkWholeGroup, servedTo } from './group-members.js';
import { patientIdOf } from './patient-of.js';
import { nodeLedger, type RecordLedger } from './record-ledger.js';
import type { ResourceProof } from './resource-proof.js';
import type { SearchIndex } from './search/index.js';
import { validateResource } from './validation/validate.js';
import { statusError } from './status-errors.js';
import type { HistoryEntry, ServedVersion, TypeHandler } from './type-handler.js';

/** Purpose of use when a request names none: treatment for clinicians, the patient's own request for patients. */
export function defaultPurpose(principal: Principal): string {
  return principal.kind === 'patient' ? 'PATRQT' : 'TREAT';
}

/** FHIR instance interactions over one node. */
export class FhirRecords implements TypeHandler {
  readonly #ledger: RecordLedger;

  /** Writes commit through `options.ledger`, the node's own unless a benchmark passes another. */
  constructor(
    private readonly node: NodeFacade,
    private readonly options: {
      readonly ledger?: RecordLedger | undefined;
      readonly index?: SearchIndex;
    } = {},
  ) {
    this.#ledger = options.ledger ?? nodeLedger(node);
  }

  /** True when this node holds a record `type/id`, whoever may read it (what a plain PUT also learns). */
  exists(type: string, id: string): boolean {
    return recordOf(this.node, type, id) !== undefined;
  }

  /** Creates `resource` under a new server-assigned id (POST [type]). */
  async create(principal: Principal, resource: JsonObject): Promise<ServedVersion> {
    const id = randomUUID();
    return this.#write(principal, {
      method: 'POST',
      type: String(resource['resourceType']),
      id,
      resource: { ...resource, id },
    });
  }

  /**
   * Updates `type/id` to `resource` (PUT [type]/[id]), or creates it under that id when absent.
   * `ifMatch` is the version the client last saw: a stale one is 412.
   */
  async update(
    principal: Principal,
    type: string,
    id: string,
    resource: JsonObject,
    ifMatch?: number,
  ): Promise<ServedVersion & { created: boolean }> {
    if (resource['id'] !== id)
      throw FhirError.of(400, 'invalid', 'the resource id must match the id in the URL', [
        `${type}.id`,
      ]);
    const created = recordOf(this.node, type, id) === undefined;
    const served = await this.#write(principal, {
      method: 'PUT',
      type,
      id,
      resource,
      ...(ifMatch === undefined ? {} : { ifMatch }),
    });
    return { ...served, created };
  }

  /**
   * Applies a JSON Patch to the current version of `type/id` (PATCH [type]/[id], R4
   * http.html#patch). The current version is read like any read (consent-checked, logged
   * before release); the patched resource is validated and written as an update of exactly that
   * version, so a write in between is 412. `ifMatch`, when the client names a version, must be
   * the current one. A patch that does not apply, or changes resourceType or id, is 422.
   */
  async patch(
    principal: Principal,
    type: string,
    id: string,
    patch: (current: JsonObject) => JsonValue,
    purpose: string,
    ifMatch?: number,
  ): Promise<ServedVersion & { created: boolean }> {
    const current = await this.read(principal, type, id, purpose);
    if (ifMatch !== undefined && ifMatch !== current.versionId)
      throw FhirError.of(
        412,
        'conflict',
        `${type}/${id} is not at the version If-Match names; re-read and retry`,
      );
    const resource = patchedResource(withoutServerMeta(current.resource), patch);
    if (resource['resourceType'] !== type || resource['id'] !== id)
      throw FhirError.of(422, 'processing', 'a patch must not change resourceType or id', [
        `${type}.id`,
      ]);
    return this.update(principal, type, id, resource, current.versionId);
  }

  /**
   * Reads the current version, or version `versionId` (GET [type]/[id][/_history/[vid]]). A
   * caller who may not read the record gets the 404 of a record that never existed, whether it
   * exists, was deleted or erased (the denial is logged all the same); 410 and "no version n"
   * are answers only for a caller who could read it.
   */
  async read(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
    versionId?: number,
  ): Promise<ServedVersion> {
    const record = await this.#readable(principal, type, id, purpose, versionId);
    if (record.status === 'erased') throw FhirError.of(410, 'deleted', `${type}/${id} was erased`);
    if (record.status === 'deleted' && versionId === undefined)
      throw FhirError.of(410, 'deleted', `${type}/${id} was deleted; its history remains`);
    const version = versionId ?? record.latestVersion;
    if (version < 1 || version > record.latestVersion)
      throw FhirError.of(404, 'not-found', `${type}/${id} has no version ${version}`);
    if (record.status === 'deleted' && version === record.latestVersion)
      throw FhirError.of(410, 'deleted', `version ${version} of ${type}/${id} is its deletion`);
    const result = await this.node.as(principal, purpose).read(record.recordId, version);
    if (result.outcome === 'deny') throw notKnown(type, id); // a revocation that raced this read
    const resource = servedTo({ node: this.node, principal, purpose }, result.resource);
    return served(resource, result.version);
  }

  /**
   * Throws FhirError 403 when one of `writes` changes a Group that lists patients `principal`
   * may not read: their copy would drop those members (group-members.ts).
   */
  async #checkGroupWrites(principal: Principal, writes: readonly BundleWrite[]): Promise<void> {
    const purpose = defaultPurpose(principal);
    for (const write of writes) {
      const record = write.type === 'Group' ? recordOf(this.node, 'Group', write.id) : undefined;
      if (record?.status !== 'active') continue;
      const current = await this.node.as(principal, purpose).read(record.recordId);
      if (current.outcome === 'permit')
        checkWholeGroup({ node: this.node, principal, purpose }, current.resource);
    }
  }

  /**
   * The record `type/id` when `principal` may read it (version `versionId`, or the latest);
   * otherwise FhirError 404 not-known, the same as for a record that does not exist, after
   * logging the denial for an existing record (its patient was asked about). Decided from
   * committed state as if the record were not erased, so only a reader learns of an erasure.
   */
  async #readable(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
    versionId: number | undefined,
  ) {
    const record = recordOf(this.node, type, id);
    if (record === undefined) throw notKnown(type, id);
    const version =
      versionId !== undefined && versionId >= 1 && versionId <= record.latestVersion
        ? versionId
        : record.latestVersion;
    const caller = this.node.as(principal, purpose);
    if (caller.decide(record.recordId, { version, ignoringErasure: true }).outcome === 'permit')
      return record;
    await caller.read(record.recordId, version);
    throw notKnown(type, id);
  }

  /**
   * The writes of a transaction Bundle, committed as one records.batch: all land or none does.
   * Patients new to this node are enrolled first (their registration holds no record content,
   * so it stays even if the batch is refused). Resolves with one result per write, in order.
   */
  async writeAll(
    principal: Principal,
    writes: readonly BundleWrite[],
  ): Promise<BundleWriteResult[]> {
    const practitionerId = practitionerOf(principal);
    await this.#checkGroupWrites(principal, writes);
    const refused = await this.#refusedChanges(principal, writes);
    // A Patient's pseudonym first: a bundle may list an Observation before the Patient it belongs to.
    for (const write of writes)
      if (write.type === 'Patient' && write.method !== 'DELETE')
        this.node.pseudonyms.assign('Patient', write.id);
    const checked = writes.map((write) => this.#check(write, refused));
    const items = checked.filter(
      (item): item is VersionInput | { tombstone: string } => item !== undefined,
    );
    await this.#patientsReady(items.filter((item): item is VersionInput => !('tombstone' in item)));
    if (items.length === 0) return writes.map(() => ({ deleted: undefined }));
    const batch = await this.#sealed(() => this.node.records.writeBatch(practitionerId, items));
    await this.#commit(
      batch.tx,
      'the transaction Bundle',
      writes.some((write) => write.method !== 'DELETE' && write.ifMatch !== undefined),
    );
    return this.#results(checked, batch.writes);
  }

  /**
   * Whether `principal` may change `record`: only if they may read it, decided for their
   * default purpose (TREAT for a practitioner). To a caller whom consent refuses the record, it
   * is as if it did not exist (see #check): an update answers as for an unused id up to the 404
   * where that would be created, a DELETE does nothing, and neither learns the record's patient.
   */
  #mayChange(principal: Principal, record: RecordRow): boolean {
    const caller = this.node.as(principal, defaultPurpose(principal));
    const decision = caller.decide(record.recordId, {
      version: record.latestVersion,
      ignoringErasure: true,
    });
    return decision.outcome === 'permit';
  }

  /**
   * The records among `writes` that `principal` may not change (decided once, here), each
   * attempt logged as the refused read it amounts to, so the patient's trail shows it.
   */
  async #refusedChanges(
    principal: Principal,
    writes: readonly BundleWrite[],
  ): Promise<ReadonlySet<string>> {
    const refused = new Set<string>();
    for (const write of writes) {
      const record = existingRecord(this.node, write);
      if (record === undefined || this.#mayChange(principal, record)) continue;
      refused.add(record.recordId);
      await this.node.as(principal, defaultPurpose(principal)).read(record.recordId);
    }
    return refused;
  }

  /** One write checked (valid, of a served type, the version it expects), or undefined for a DELETE of nothing. */
  #check(
    write: BundleWrite,
    refused: ReadonlySet<string>,
  ): VersionInput | { tombstone: string } | undefined {
    const found = existingRecord(this.node, write);
    // A record consent withholds from the writer is, to them, an id nobody holds, up to where
    // such an id would be created: every check before that answers as it would for one.
    const current = found !== undefined && !refused.has(found.recordId) ? found : undefined;
    if (write.method === 'DELETE')
      return current?.status === 'active' ? { tombstone: current.recordId } : undefined;
    const stored = withoutServerMeta(write.resource);
    requireValid(stored);
    const recordId = found?.recordId ?? this.node.pseudonyms.assign(write.type, write.id);
    const owner = this.#ledgerPatientOf(write, recordId);
    if (current?.status === 'erased')
      throw FhirError.of(410, 'deleted', `${write.type}/${write.id} was erased`);
    if (write.ifMatch !== undefined && current?.latestVersion !== write.ifMatch)
      throw FhirError.of(
        412,
        'conflict',
        `If-Match names version ${write.ifMatch}, which is not the current version`,
      );
    if (found !== undefined && current === undefined) throw notKnown(write.type, write.id);
    // The ledger keeps a record's first patient; letting an update name another would leave the index and the ledger disagreeing.
    if (current !== undefined && current.patientId !== owner.patientId) {
      throw FhirError.of(
        422,
        'business-rule',
        `an update may not move ${write.type}/${write.id} to another patient; create a new resource instead`,
        [`${write.type}`],
      );
    }
    return {
      patientId: owner.patientId,
      resource: stored,
      recordId,
      expectedVersion: current?.latestVersion ?? 0,
      securityLabels: securityLabelsOf(write.resource),
    };
  }

  /**
   * The ledger patient of a write to ledger record `recordId`: for a Patient, the record itself
   * (its pseudonym); for a compartment resource, the pseudonym of the Patient it references; null
   * for a directory resource. A reference to a Patient this node does not know is refused as an
   * unknown patient.
   */
  #ledgerPatientOf(
    write: BundleWrite & { resource: JsonObject },
    recordId: string,
  ): { patientId: string | null } {
    const owner = patientIdOf(write.resource, write.id);
    if ('missing' in owner) throw FhirError.of(422, 'not-supported', owner.missing);
    if (owner.patientId === null) return owner;
    if (write.type === 'Patient') return { patientId: recordId };
    const patientId = patientOf(this.node, owner.patientId);
    if (patientId === undefined)
      throw statusError('denied:no-such-patient', `${write.type}/${write.id}`);
    return { patientId };
  }

  #results(
    checked: readonly (VersionInput | { tombstone: string } | undefined)[],
    landed: readonly { recordId: string; version: number }[],
  ): BundleWriteResult[] {
    let next = 0;
    return checked.map((item) => {
      if (item === undefined) return { deleted: undefined };
      const { recordId, version } = landed[next++]!;
      if ('tombstone' in item) return { deleted: version };
      const row = this.node.records.version(recordId, version)!;
      this.#index(item, recordId, version, row.time);
      return { ...served(item.resource, row), created: version === 1 };
    });
  }

  /**
   * The proof of version `versionId` of `type/id` ($verify): read like any read (consent-checked
   * and logged), then the anchoring transaction, its inclusion proof at the newest tree head,
   * and the keys that signed both, for a client to check with checkResourceProof.
   */
  async verify(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
    versionId: number,
  ): Promise<ResourceProof> {
    const record = await this.#readable(principal, type, id, purpose, versionId);
    if (versionId < 1 || versionId > record.latestVersion)
      throw FhirError.of(404, 'not-found', `${type}/${id} has no version ${versionId}`);
    const result = await this.node.as(principal, purpose).read(record.recordId, versionId);
    if (result.outcome === 'deny') throw notKnown(type, id);
    const { bytes, proof } = this.node.records.proveVersion(result.version);
    const transaction = fromUtf8(bytes);
    const signer = (JSON.parse(transaction) as { signer: string }).signer;
    return {
      resource: result.resource,
      salt: result.salt,
      transaction,
      signerPublicKey: this.#publicKey(signer),
      leafIndex: proof.leafIndex,
      treeSize: proof.treeSize,
      inclusionProof: proof.inclusionProof,
      treeHead: proof.treeHead,
      treeHeadSignerPublicKey: this.#publicKey(proof.treeHead.proposer),
    };
  }

  #publicKey(keyId: string): string {
    return KEYS.get(this.node.ledger.state, keyId)!.publicKey;
  }

  /** Deletes `type/id` (DELETE): a tombstone version, so history stays. Resolves with the tombstone's version. */
  async delete(principal: Principal, type: string, id: string): Promise<number | undefined> {
    const refused = await this.#refusedChanges(principal, [{ method: 'DELETE', type, id }]);
    const record = recordOf(this.node, type, id);
    if (record?.status !== 'active' || refused.has(record.recordId)) return undefined;
    const practitionerId = practitionerOf(principal);
    await this.#checkGroupWrites(principal, [{ method: 'DELETE', type, id }]);
    const write = this.node.records.tombstone(practitionerId, record.recordId);
    await this.#commit(write.tx, `${type}/${id}`);
    this.options.index?.remove(type, id);
    return write.version;
  }

  /** Every version of `type/id`, newest first; each readable one is read (and logged) for `principal`. */
  async history(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
  ): Promise<HistoryEntry[]> {
    const record = await this.#readable(principal, type, id, purpose, undefined);
    const entries: HistoryEntry[] = [];
    for (let number = record.latestVersion; number >= 1; number--) {
      const version = this.node.records.version(record.recordId, number)!;
      if (version.kind === 'tombstone') entries.push({ deleted: version });
      else entries.push(await this.read(principal, type, id, purpose, number));
    }
    return entries;
  }

  async #write(
    principal: Principal,
    write: BundleWrite & { method: 'POST' | 'PUT' },
  ): Promise<ServedVersion> {
    const practitionerId = practitionerOf(principal);
    await this.#checkGroupWrites(principal, [write]);
    const refused = await this.#refusedChanges(principal, [write]);
    const item = this.#check(write, refused) as VersionInput;
    await this.#patientsReady([item]);
    const prepared = await this.#sealed(() => this.node.records.write({ practitionerId, ...item }));
    const txId = await this.#commit(
      prepared.tx,
      `${write.type}/${write.id}`,
      write.ifMatch !== undefined,
    );
    const version = this.#ledger.committedVersion(prepared.recordId, prepared.version)!;
    this.#index(item, prepared.recordId, prepared.version, version.time);
    return { ...served(item.resource, version), txId };
  }

  /** Puts a committed version's values into the search index, unless something newer has committed since (see RecordLedger.isNewest). */
  #index(item: VersionInput, recordId: string, version: number, time: number): void {
    if (this.#ledger.isNewest(recordId, version))
      this.options.index?.putSoon(item.resource, {
        patientId: item.patientId,
        lastUpdated: time,
        recordId,
        version,
      });
  }

  /** Enrols every Patient among `items` new to this node; any other item's patient must already be registered. */
  async #patientsReady(items: readonly VersionInput[]): Promise<void> {
    // Patients first: a bundle may list an Observation before the Patient it belongs to.
    for (const item of items)
      if (item.resource['resourceType'] === 'Patient') await this.#enrolPatient(item.recordId!);
    for (const item of items) {
      if (item.patientId !== null && !this.node.records.patientRegistered(item.patientId))
        throw statusError(
          'denied:no-such-patient',
          `${String(item.resource['resourceType'])}/${String(item.resource['id'])}`,
        );
    }
  }

  /** Registers a custodial patient, under their pseudonym, with fresh keys on first sight of their Patient resource. */
  async #enrolPatient(patientId: string): Promise<void> {
    if (this.node.records.patientRegistered(patientId)) return;
    const keys = this.node.records.enrol('patient', patientId);
    await this.#commit(
      this.node.signAsOrg(MEMBERSHIP_REGISTER_PATIENT, {
        patientId,
        custody: 'custodial',
        ...keys,
      }),
      'the new patient',
    );
  }

  /** Runs `seal`, which stores ciphertexts; if it fails part way, the blobs it stored are left to the collector. */
  async #sealed<T>(seal: () => Promise<T>): Promise<T> {
    try {
      return await seal();
    } catch (error) {
      this.node.collectAfterFailedWrite();
      throw error;
    }
  }

  /**
   * Submits `tx` and waits for its block; a refused write's ciphertexts are deleted at once.
   * `ifMatch` when the client named the version it expects, so losing a race is 412 (R4
   * http.html#concurrency).
   */
  async #commit(tx: Transaction, what: string, ifMatch = false): Promise<string> {
    const { status, txId } = await this.#ledger.submitAndWait(tx);
    if (status !== 'ok') this.node.collectAfterFailedWrite(tx);
    if (status === 'denied:version-conflict' && ifMatch)
      throw FhirError.of(
        412,
        'conflict',
        `${what} changed since the version If-Match names; re-read and retry`,
      );
    if (status !== 'ok') throw statusError(status, what);
    return txId!;
  }
}

/** `resource` with `operations` applied; a patch that does not apply, or leaves no object, is 422. */
function patchedResource(
  resource: JsonObject,
  patch: (current: JsonObject) => JsonValue,
): JsonObject {
  let patched: JsonValue;
  try {
    patched = patch(resource);
  } catch (error) {
    if (error instanceof JsonPatchError)
      throw FhirError.of(422, 'processing', `the patch does not apply: ${error.message}`);
    throw error;
  }
  if (patched === null || typeof patched !== 'object' || Array.isArray(patched))
    throw FhirError.of(422, 'processing', 'a patch must leave a resource');
  return patched;
}

/** The one answer for a record that does not exist and for one the caller may not read. */
function notKnown(type: string, id: string): FhirError {
  return FhirError.of(404, 'not-found', `${type}/${id} is not known`);
}

/** Throws a 422 listing every issue when `resource` is not valid FHIR R4; warnings alone pass. */
function requireValid(resource: JsonObject): void {
  const issues = validateResource(resource);
  if (issues.some((issue) => issue.severity === 'error'))
    throw new FhirError(
      422,
      issues.map((issue) => ({ ...issue, expression: [...issue.expression] })),
    );
}

/** A write of a transaction Bundle: create or update `type/id`, or delete it. */
export type BundleWrite =
  | {
      readonly method: 'POST' | 'PUT';
      readonly type: string;
      readonly id: string;
      readonly resource: JsonObject;
      readonly ifMatch?: number;
    }
  | { readonly method: 'DELETE'; readonly type: string; readonly id: string };

/** What one BundleWrite came to: a version served (created or updated), or a deletion (its version, if anything was deleted). */
export type BundleWriteResult =
  (ServedVersion & { readonly created: boolean }) | { readonly deleted: number | undefined };

function practitionerOf(principal: Principal): string {
  if (principal.kind !== 'practitioner')
    throw FhirError.of(
      403,
      'forbidden',
      'writes are signed by a practitioner; this token is not one',
    );
  return principal.id;
}

/** `resource` as served at `version`: meta.versionId and meta.lastUpdated set from the ledger. */
export function served(
  resource: JsonObject,
  version: Pick<VersionRow, 'version' | 'time' | 'txId'>,
): ServedVersion {
  const lastUpdated = new Date(version.time).toISOString();
  const meta = {
    ...((resource['meta'] as JsonObject | undefined) ?? {}),
    versionId: String(version.version),
    lastUpdated,
  };
  return {
    resource: { ...resource, meta },
    versionId: version.version,
    lastUpdated,
    txId: version.txId,
  };
}

/** The resource as stored: meta.versionId and meta.lastUpdated are the server's, set on every read. */
function withoutServerMeta(resource: JsonObject): JsonObject {
  const meta = resource['meta'];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...rest } = meta;
  return Object.keys(rest).length === 0
    ? withoutKey(resource, 'meta')
    : { ...resource, meta: rest };
}

function withoutKey(object: JsonObject, key: string): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([name]) => name !== key));
}

/** meta.security codings as the version's security labels. */
function securityLabelsOf(resource: JsonObject): SecurityLabel[] {
  const meta = resource['meta'];
  const security =
    meta !== null && typeof meta === 'object' && !Array.isArray(meta)
      ? meta['security']
      : undefined;
  if (!Array.isArray(security)) return [];
  return security.flatMap((coding) => {
    if (coding === null || typeof coding !== 'object' || Array.isArray(coding)) return [];
    const { system, code } = coding;
    return typeof system === 'string' && typeof code === 'string' ? [{ system, code }] : [];
  });
}

/**
 * The record `write` changes, if any. A POST's id is one this node just drew at random, so it
 * names no record, and is not looked up: a create goes on while FHIR ids are being relearnt.
 */
function existingRecord(node: NodeFacade, write: BundleWrite): RecordRow | undefined {
  return write.method === 'POST' ? undefined : recordOf(node, write.type, write.id);
}
