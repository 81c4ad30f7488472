/**
 * The node's record operations: custodial enrolment, write, read, delete, erase and history.
 * Keys of practitioners and custodial patients stay in the node's keystore and sign only here.
 */
import type { KeyObject } from 'node:crypto';
import {
  exportSeed,
  exportX25519PrivateRaw,
  generateSigningKey,
  generateX25519,
  signingKeyFromSeed,
  toHex,
  HpkePool,
  x25519FromPrivate,
} from '../crypto/index.js';
import {
  ERASURES,
  NONCE_TABLE,
  PATIENTS,
  RECORDS,
  RECORDS_ANCHOR,
  RECORDS_BATCH,
  RECORDS_ERASE,
  RECORDS_SUPERSEDE,
  RECORDS_TOMBSTONE,
  type RecordRow,
  type SealedNote,
  type SecurityLabel,
  type VersionRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { JsonObject, Transaction } from '../ledger/index.js';
import { isDiskFull, type BlobStore, type ChainStore } from '../storage/index.js';
import { LocalSigner } from './local-signer.js';
import type { OwnSignatures } from './own-signatures.js';
import type { OrgKeys } from './org-keys.js';
import { inclusionProof, type InclusionProofResponse } from './proofs.js';
import { versionProof } from './version-proof.js';
import { NoteUnavailableError, openNote, type NoteContext } from './sealed-note.js';
import {
  newRecordId,
  openVersion,
  openVersionWith,
  prepareVersion,
  RecordIntegrityError,
  recordRow,
  RecordUnavailableError,
  versionRow,
} from './record-service.js';
import { ALARM_COUNT_MAX } from '../ledger/index.js';

/**
 * Whose keys open a version: this organisation's; a practitioner's (their own envelope, from a
 * grant to them, then the organisation's); or a custodial patient's.
 */
export type RecordReader =
  | { readonly kind: 'organisation' }
  | { readonly kind: 'practitioner'; readonly practitionerId: string }
  | { readonly kind: 'patient'; readonly patientId: string };

/** One version to write: a new record when recordId is absent, else its next version (If-Match: expectedVersion). */
export interface VersionInput {
  /** Null for a directory record (Organization, Practitioner, …): no patient, kept by this organisation. */
  readonly patientId: string | null;
  readonly resource: JsonObject;
  readonly recordId?: string;
  readonly expectedVersion?: number;
  readonly securityLabels?: SecurityLabel[];
  readonly extraRecipients?: string[];
}

/** The schema of each kind of record write: what its body was built by. */
const WRITE_TYPES = {
  anchor: RECORDS_ANCHOR,
  supersede: RECORDS_SUPERSEDE,
  tombstone: RECORDS_TOMBSTONE,
} as const;

interface PreparedWrite {
  readonly kind: keyof typeof WRITE_TYPES;
  /** Built by WRITE_TYPES[kind]. */
  readonly body: JsonObject;
  readonly recordId: string;
  readonly version: number;
}

/** A write to submit, and where it will land. */
export interface RecordWrite {
  readonly tx: Transaction;
  readonly recordId: string;
  readonly version: number;
}

/** One version in a record's history, with the inclusion proof of the transaction that wrote it. */
export interface HistoryEntry {
  readonly version: VersionRow;
  readonly proof: InclusionProofResponse;
}

type Role = 'practitioner' | 'patient';

/**
 * Something an operator must look at: a failed integrity check, a failed background task, a
 * damaged search index, a full disk. `disk-full` is a standing condition, raised once and
 * cleared when a write succeeds again; the others are events, kept until they age out.
 */
export interface NodeAlarm {
  readonly kind:
    | 'integrity'
    | 'key-sharing'
    | 'checkpoint'
    | 'checkpoint-publish'
    | 'peer'
    | 'search-index'
    | 'pseudonyms'
    | 'blob-index'
    | 'subscriptions'
    | 'clients'
    | 'disk-full';
  readonly reason: string;
  readonly at: number;
}

/** A decrypted version: the resource, its commitment salt (hex) and the version's row. */
export interface ReadVersion {
  readonly resource: JsonObject;
  readonly salt: string;
  readonly version: VersionRow;
}

/** Record operations over one node's chain, blobs and keys. */
export class NodeRecords {
  /** Wraps and unwraps data keys off the main thread; see #pool(). */
  #hpkePool: HpkePool | undefined;
  /** Set once a read has been opened in-thread this turn; cleared on the next. */
  #readInThisTurn = false;
  readonly #signers = new Map<string, LocalSigner>();
  readonly #alarms: NodeAlarm[] = [];
  readonly #custodialKeys = new Map<string, ReadonlyMap<string, KeyObject>>();

  constructor(
    private readonly chain: ChainStore,
    readonly blobs: BlobStore,
    private readonly keys: OrgKeys,
    private readonly orgId: string,
    /** The highest nonce of a key committed or held by a pending transaction; committed state alone unless given. */
    private readonly lastUsedNonce: (keyId: string) => number = (keyId) =>
      committedNonce(chain, keyId),
    /** Where the custodial signers record what they sign, for this node's admission. */
    private readonly ownSignatures?: OwnSignatures,
  ) {}

  /** The keystore holding the custodial keys of this node's practitioners and patients. */
  get keystore() {
    return this.keys.keystore;
  }

  /** Generates and stores custodial keys for a practitioner or patient; returns the public halves for registration. */
  enrol(role: Role, id: string): { signingKey: string; encryptionKey: string } {
    const signing = generateSigningKey();
    const encryption = generateX25519();
    try {
      this.keys.keystore.put(`${role}:${id}:signing`, exportSeed(signing), 'ed25519-seed');
      this.keys.keystore.put(
        `${role}:${id}:encryption`,
        exportX25519PrivateRaw(encryption.privateKey),
        'x25519-private',
      );
    } catch (error) {
      if (isDiskFull(error))
        this.raiseCondition(
          'disk-full',
          `disk full writing the keystore: ${(error as Error).message}`,
        );
      throw error;
    }
    return { signingKey: toHex(signing.publicKey), encryptionKey: toHex(encryption.publicKey) };
  }

  /** The custodial signer of a practitioner or patient enrolled here. Throws KeystoreError when absent. */
  signer(role: Role, id: string): LocalSigner {
    const name = `${role}:${id}:signing`;
    let signer = this.#signers.get(name);
    if (signer === undefined) {
      const key = signingKeyFromSeed(this.keys.keystore.get(name));
      signer = new LocalSigner(key, this.lastUsedNonce(key.keyId), this.ownSignatures);
      this.#signers.set(name, signer);
    }
    return signer;
  }

  /**
   * Seals `resource` as the next version of `recordId` (a new record when omitted) and returns
   * the practitioner-signed transaction, once the ciphertext is durable. `expectedVersion` is FHIR If-Match: the write is
   * refused on-chain with denied:version-conflict when another version landed first.
   * The practitioner's nonce is taken when the write resolves, so concurrent writes by one
   * practitioner must each be submitted as soon as they resolve, in that order.
   */
  async write(input: VersionInput & { practitionerId: string }): Promise<RecordWrite> {
    const { kind, body, recordId, version } = await this.#diskWatched(this.#prepare(input));
    return {
      tx: this.signer('practitioner', input.practitionerId).sign(WRITE_TYPES[kind].type, body),
      recordId,
      version,
    };
  }

  /**
   * Seals every version of `items` (or a tombstone) and returns one practitioner-signed
   * records.batch: the writes land on the ledger together or not at all.
   */
  async writeBatch(
    practitionerId: string,
    items: readonly (VersionInput | { tombstone: string })[],
  ): Promise<{ tx: Transaction; writes: RecordWrite[] }> {
    const prepared = await this.#diskWatched(
      Promise.all(
        items.map((item) =>
          'tombstone' in item ? this.#prepareTombstone(item.tombstone) : this.#prepare(item),
        ),
      ),
    );
    const tx = this.signer('practitioner', practitionerId).sign(RECORDS_BATCH, {
      writes: prepared.map(({ kind, body }) => ({ kind, body })),
    });
    return { tx, writes: prepared.map(({ recordId, version }) => ({ tx, recordId, version })) };
  }

  /** `writing`, raising the disk-full alarm when the ciphertext could not be stored for want of space. */
  async #diskWatched<T>(writing: Promise<T>): Promise<T> {
    try {
      return await writing;
    } catch (error) {
      if (isDiskFull(error))
        this.raiseCondition(
          'disk-full',
          `disk full storing a record ciphertext: ${(error as Error).message}`,
        );
      throw error;
    }
  }

  async #prepare(input: VersionInput): Promise<PreparedWrite> {
    const recordId = input.recordId ?? newRecordId();
    const existing = recordRow(this.chain, recordId);
    const version = (input.expectedVersion ?? existing?.latestVersion ?? 0) + 1;
    const prepared = await prepareVersion(
      this.chain,
      this.blobs,
      {
        recordId,
        patientId: existing?.patientId ?? input.patientId,
        version,
        resource: input.resource,
        securityLabels: input.securityLabels ?? [],
        org: existing?.org ?? this.orgId,
        authorOrg: this.orgId,
        extraRecipients: input.extraRecipients ?? [],
      },
      this.#pool(),
    );
    return { kind: version === 1 ? 'anchor' : 'supersede', body: prepared.body, recordId, version };
  }

  #prepareTombstone(recordId: string): PreparedWrite {
    const row = recordRow(this.chain, recordId);
    if (row === undefined) throw new RecordUnavailableError(recordId, 'not-found');
    const version = row.latestVersion + 1;
    return {
      kind: 'tombstone',
      body: RECORDS_TOMBSTONE.build({ recordId, version }),
      recordId,
      version,
    };
  }

  /** The committed head of `recordId`, or undefined. */
  record(recordId: string): RecordRow | undefined {
    return recordRow(this.chain, recordId);
  }

  /** Version `version` of `recordId` as committed, or undefined. */
  version(recordId: string, version: number): VersionRow | undefined {
    return versionRow(this.chain, recordId, version);
  }

  /** True when `patientId` is registered on the chain. */
  patientRegistered(patientId: string): boolean {
    return PATIENTS.get(this.chain.state, patientId) !== undefined;
  }

  /** A tombstone for `recordId` (FHIR delete): history stays. */
  tombstone(practitionerId: string, recordId: string): RecordWrite {
    const { body, version } = this.#prepareTombstone(recordId);
    return {
      tx: this.signer('practitioner', practitionerId).sign(RECORDS_TOMBSTONE.type, body),
      recordId,
      version,
    };
  }

  /** An erasure request signed by the custodial patient, or by this organisation with a legal basis. */
  erase(
    recordId: string,
    by: { patientId: string } | { legalBasis: string },
    orgSign: (type: string, body: JsonObject) => Transaction,
  ): Transaction {
    if ('patientId' in by)
      return this.signer('patient', by.patientId).sign(RECORDS_ERASE, {
        recordId,
        legalBasis: null,
      });
    return orgSign(
      RECORDS_ERASE.type,
      RECORDS_ERASE.build({ recordId, legalBasis: by.legalBasis }),
    );
  }

  /** Decrypts version `version` (default: the latest) for `reader`, checking every link. */
  read(reader: RecordReader, recordId: string, version?: number): ReadVersion {
    const { wanted, directory } = this.#wantedVersion(recordId, version);
    try {
      const { resource, salt } = openVersion(
        this.chain,
        this.blobs,
        recordId,
        wanted,
        this.#readerKeys(reader, directory),
      );
      return { resource, salt, version: versionRow(this.chain, recordId, wanted)! };
    } catch (error) {
      if (error instanceof RecordIntegrityError) this.alarm('integrity', error.message);
      throw error;
    }
  }

  /**
   * read(), with the data key unwrapped on a worker thread: what the served read and search
   * paths use, so that reads released together by one group commit do not hold the event loop.
   * A read on its own (the worker idle, no other read this turn) is opened in-thread: about
   * 0.1 ms of the event loop, less than the round trip to the worker.
   */
  async readOffThread(
    reader: RecordReader,
    recordId: string,
    version?: number,
  ): Promise<ReadVersion> {
    if (this.#aloneThisTurn()) return this.read(reader, recordId, version);
    const { wanted, directory } = this.#wantedVersion(recordId, version);
    try {
      const { resource, salt } = await openVersionWith(
        this.#pool(),
        this.chain,
        this.blobs,
        recordId,
        wanted,
        this.#readerKeys(reader, directory),
      );
      return { resource, salt, version: versionRow(this.chain, recordId, wanted)! };
    } catch (error) {
      if (error instanceof RecordIntegrityError) this.alarm('integrity', error.message);
      throw error;
    }
  }

  /**
   * `version`, or the latest, and whether the record is a directory record; throws
   * RecordUnavailableError for a record unknown or erased.
   */
  #wantedVersion(
    recordId: string,
    version: number | undefined,
  ): { wanted: number; directory: boolean } {
    const row = recordRow(this.chain, recordId);
    if (row === undefined) throw new RecordUnavailableError(recordId, 'not-found');
    if (row.status === 'erased') throw new RecordUnavailableError(recordId, 'erased');
    return { wanted: version ?? row.latestVersion, directory: row.patientId === null };
  }

  /** True for the first read of an event-loop turn while the HPKE worker is idle. */
  #aloneThisTurn(): boolean {
    if (this.#readInThisTurn || this.#hpkePool?.idle === false) return false;
    this.#readInThisTurn = true;
    setImmediate(() => (this.#readInThisTurn = false));
    return true;
  }

  /** The HPKE worker, started on first use. */
  #pool(): HpkePool {
    return (this.#hpkePool ??= new HpkePool(1));
  }

  /** Stops the HPKE worker, if one was started, and closes the blob store once its writes are durable. */
  async close(): Promise<void> {
    await this.#hpkePool?.close();
    this.#hpkePool = undefined;
    await this.blobs.close();
  }

  /** Opens a sealed note for `reader`; throws NoteUnavailableError, after an alarm when it is not what the chain committed to. */
  openNote(reader: RecordReader, note: SealedNote, context: NoteContext): string {
    try {
      return openNote(this.blobs, note, this.#readerKeys(reader), context);
    } catch (error) {
      if (error instanceof NoteUnavailableError && error.reason === 'integrity')
        this.alarm(
          'integrity',
          `sealed note ${note.ciphertextHash} does not open to its commitment`,
        );
      throw error;
    }
  }

  /**
   * The anchoring transaction of `version` and its inclusion proof, re-hashed against the txId,
   * the block's txRoot and the tree head before they are served ($verify). Throws
   * RecordIntegrityError, after raising an alarm, when the stored chain disagrees.
   */
  proveVersion(version: VersionRow): { bytes: Uint8Array; proof: InclusionProofResponse } {
    try {
      return versionProof(this.chain, version);
    } catch (error) {
      if (error instanceof RecordIntegrityError) this.alarm('integrity', error.message);
      throw error;
    }
  }

  /** Alarms raised so far (at most the newest 100). */
  get alarms(): readonly NodeAlarm[] {
    return this.#alarms;
  }

  /** Records an alarm for /ledger/status. */
  alarm(kind: NodeAlarm['kind'], reason: string): void {
    this.#alarms.push({ kind, reason, at: Date.now() });
    if (this.#alarms.length > ALARM_COUNT_MAX) this.#alarms.shift();
  }

  /** Raises a standing alarm of `kind` unless one is up already: a condition, not one per failed request. */
  raiseCondition(kind: NodeAlarm['kind'], reason: string): void {
    if (!this.#alarms.some((alarm) => alarm.kind === kind)) this.alarm(kind, reason);
  }

  /** Clears every alarm of `kind`: the condition has passed. Returns true when one was up. */
  clearCondition(kind: NodeAlarm['kind']): boolean {
    const before = this.#alarms.length;
    for (let at = this.#alarms.length - 1; at >= 0; at--)
      if (this.#alarms[at]!.kind === kind) this.#alarms.splice(at, 1);
    return this.#alarms.length < before;
  }

  /**
   * The keys that open a record for `reader`. A `directory` record is wrapped to its
   * organisation only, so whoever the access contract let read it, the organisation's keys open it.
   */
  #readerKeys(reader: RecordReader, directory = false): ReadonlyMap<string, KeyObject> {
    if (reader.kind === 'organisation' || directory) return this.keys.encryptionKeys;
    if (reader.kind === 'patient')
      return this.#custodialKey(`patient:${reader.patientId}:encryption`);
    const name = `practitioner:${reader.practitionerId}:encryption`;
    return this.keys.keystore.has(name)
      ? new Map([...this.#custodialKey(name), ...this.keys.encryptionKeys])
      : this.keys.encryptionKeys;
  }

  /** A custodial X25519 key by keystore entry, unsealed and imported once: every read of a patient or practitioner needs it. */
  #custodialKey(name: string): ReadonlyMap<string, KeyObject> {
    let key = this.#custodialKeys.get(name);
    if (key === undefined) {
      const pair = x25519FromPrivate(this.keys.keystore.get(name));
      key = new Map([[toHex(pair.publicKey), pair.privateKey]]);
      this.#custodialKeys.set(name, key);
    }
    return key;
  }

  /** Every version of `recordId`, each with the inclusion proof of its anchoring transaction. */
  history(recordId: string): HistoryEntry[] {
    const row = recordRow(this.chain, recordId);
    if (row === undefined) throw new RecordUnavailableError(recordId, 'not-found');
    const entries: HistoryEntry[] = [];
    for (let version = 1; version <= row.latestVersion; version++) {
      const stored = versionRow(this.chain, recordId, version)!;
      entries.push({ version: stored, proof: inclusionProof(this.chain, stored.txId) });
    }
    return entries;
  }

  /**
   * Erasures in a committed write-set that this organisation has not yet confirmed: their
   * ciphertexts are deleted here, and the caller signs a receipt for each returned record id.
   */
  eraseCommitted(writeSet: readonly WriteSetEntry[]): string[] {
    const erased: string[] = [];
    for (const [table, key, value] of writeSet) {
      const row = ERASURES.rowOf(table, value);
      if (row === undefined) continue;
      if (Object.hasOwn(row.confirmations, this.orgId)) continue;
      this.#deleteCiphertexts(key);
      erased.push(key);
    }
    return erased;
  }

  #deleteCiphertexts(recordId: string): void {
    const row = RECORDS.get(this.chain.state, recordId);
    for (let version = 1; version <= (row?.latestVersion ?? 0); version++) {
      const hash = versionRow(this.chain, recordId, version)?.ciphertextHash;
      if (hash !== null && hash !== undefined) this.blobs.delete(hash);
    }
  }
}

function committedNonce(chain: ChainStore, keyId: string): number {
  const nonce = chain.state.get(NONCE_TABLE, keyId);
  return typeof nonce === 'number' ? nonce : 0;
}
