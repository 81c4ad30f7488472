/**
 * Pseudonyms: the ledger ids of records and patients. A client may choose a resource's id
 * (PUT Patient/jane-smith-1961), and an id can name a patient; the chain, which every member
 * organisation and auditor reads, must not. So every record, a Patient's included, goes on the
 * chain under a random id this node generates, and its patient under the Patient record's id.
 * This node-local map (owner-only, like every file of the node) ties each resource's type and
 * id to its ledger id. Each record's type and id are also inside its ciphertext, so the FHIR
 * layer learns the pairs of every record this organisation can decrypt from the chain again, on
 * any node; only an erased record's pair is known nowhere else.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Statement } from 'better-sqlite3';
import { PATIENTS, type StateReader } from '../contracts/index.js';
import { PSEUDONYM_UNWRITTEN_COUNT_MAX } from '../ledger/index.js';
import {
  openDatabase,
  SqliteWriter,
  truncateWal,
  WalCheckpointer,
  type SqliteDatabase,
  type WriteStep,
} from '../storage/index.js';
import { newRecordId } from './record-service.js';

/** A resource's type and id, as clients name it. */
export interface FhirId {
  readonly type: string;
  readonly id: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fhir_id (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  record_id TEXT NOT NULL UNIQUE,
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS map_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

/**
 * Creates the empty map of a node that holds no records yet, as a clean close leaves a map:
 * complete, so the node's first start has no pairs to learn again and its commits none to
 * look up.
 */
export function createPseudonymMap(path: string): void {
  const db = openDatabase(path);
  try {
    db.exec(SCHEMA);
  } finally {
    db.close();
  }
}

const INSERT_PAIR = 'INSERT OR IGNORE INTO fhir_id (type, id, record_id) VALUES (?, ?, ?)';
/**
 * An erased record's pair, written whatever else reached the file first: its plaintext pair
 * (overwritten), or nothing (a plaintext pair written after it is ignored, its ledger id taken).
 */
const WRITE_ERASED_PAIR = `INSERT INTO fhir_id (type, id, record_id) VALUES (?, ?, ?)
  ON CONFLICT (record_id) DO UPDATE SET id = excluded.id`;
const MARK_ERASED = "INSERT OR REPLACE INTO map_meta (key, value) VALUES ('erased', '1')";

/**
 * Begins the digest that stands for an erased record's FHIR id. No FHIR id has it, so a client
 * can never create or update a resource under a digest, nor take one from an erased record.
 */
const ERASED_ID_PREFIX = '~';

/** How long a batch of pairs that could not be written waits before it is tried again. */
const WRITE_RETRY_MS = 1000;

/** Told when a batch of pairs fails to be written (with the error) and when one succeeds again. */
export type PairWrites = (failure: Error | undefined) => void;

/** The map between resource ids and ledger ids, in one SQLite file (or ':memory:'). */
export class Pseudonyms {
  readonly #db: SqliteDatabase;
  readonly #byFhirId: Statement<[string, string], { record_id: string }>;
  readonly #byRecordId: Statement<[string], { type: string; id: string }>;
  /** Pairs recorded and not yet written, by `type/id` and by ledger id: served from here meanwhile. */
  readonly #unwritten = new Map<string, string>();
  readonly #unwrittenByRecordId = new Map<string, FhirId>();
  /** Of those, the ledger ids of the pairs not yet sent to the writer thread. */
  #unsent: string[] = [];
  /** Writes batches of pairs off the main thread (they land at random ids); none in memory. */
  readonly #writer: SqliteWriter | undefined;
  #writeScheduled = false;
  /** Copies the log back into the file off the main thread: pairs land at random ids. */
  #checkpointer: WalCheckpointer | undefined;
  /** Why the last batch could not be written, until one is. */
  #writeFailure: Error | undefined;
  /** Pairs of a failed batch wait in `#unsent` to be sent again: only their write ends the failure. */
  #retrying = false;
  /** Whether every pair of the chain is known: at open when not `incomplete`, or once learnt. */
  #complete: boolean;
  /** Keys the digests that stand for erased records' ids: made with the map, kept in it. */
  readonly #erasedIdKey: Buffer;
  /** Whether any pair holds an erased record's digest: until then a miss is not looked up again. */
  #anyErased: boolean;
  /** The log may still hold erased ids: emptying it is due, or failed and is retried like a batch. */
  #logHoldsErased = false;

  /**
   * True when pairs may be missing from this map: its file was created by this open (it was
   * lost, or the node is new), or it was not closed cleanly, so the newest pairs (written a
   * batch per event-loop turn) may not have reached it. The FHIR layer then learns them again
   * and says so with learnt(); until then the map stays incomplete for later opens too.
   */
  readonly incomplete: boolean;

  constructor(
    path: string,
    private readonly onWrites: PairWrites = () => {},
  ) {
    const existed = path !== ':memory:' && existsSync(path);
    this.#db = openDatabase(path);
    // A pair is not fsynced (that cost an eighth of the FHIR create rate): a power cut may lose
    // the newest, and the FHIR layer learns them again from the chain, at start and as the
    // blocks that name them commit. (A client's retry that wins the race against its own
    // requeued write makes a second record; the first keeps its ledger id only.)
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('secure_delete = ON'); // an erased record's id leaves no copy in free pages
    this.#db.exec(SCHEMA);
    const meta = this.#db.prepare('SELECT value FROM map_meta WHERE key = ?').pluck();
    this.incomplete = !existed || meta.get('open') !== undefined;
    this.#complete = !this.incomplete;
    this.#anyErased = meta.get('erased') !== undefined;
    // Durable before any pair is written without an fsync: a power cut must not lose the mark.
    this.#db.pragma('synchronous = FULL');
    this.#erasedIdKey = Buffer.from(
      (meta.get('erased-id-key') as string | undefined) ?? this.#newErasedIdKey(),
      'hex',
    );
    this.#db.prepare("INSERT OR REPLACE INTO map_meta (key, value) VALUES ('open', '1')").run();
    this.#db.pragma('synchronous = NORMAL');
    // A crash may have come between an erasure's rewrite and the emptying of the log; if this
    // fails, the next batch tries again.
    this.#logHoldsErased = this.#anyErased;
    try {
      if (this.#anyErased) truncateWal(this.#db);
      this.#logHoldsErased = false;
    } catch (error) {
      this.#writeFailure = error as Error;
      this.onWrites(error as Error);
      this.#scheduleWrite(WRITE_RETRY_MS);
    }
    this.#byFhirId = this.#db.prepare('SELECT record_id FROM fhir_id WHERE type = ? AND id = ?');
    this.#byRecordId = this.#db.prepare('SELECT type, id FROM fhir_id WHERE record_id = ?');
    this.#checkpointer = WalCheckpointer.of(this.#db);
    if (!this.#db.memory)
      this.#writer = new SqliteWriter(path, { synchronous: 'NORMAL', secureDelete: true });
  }

  #newErasedIdKey(): string {
    const key = randomBytes(32).toString('hex');
    this.#db.prepare("INSERT INTO map_meta (key, value) VALUES ('erased-id-key', ?)").run(key);
    return key;
  }

  /**
   * The ledger record id of `type/id`, or undefined when this node knows no such resource. An
   * erased record is found by the digest that stands for its id.
   */
  recordIdOf(type: string, id: string): string | undefined {
    return (
      this.#pairedTo(type, id) ??
      (this.#anyErased ? this.#pairedTo(type, this.#erasedId(type, id)) : undefined)
    );
  }

  #pairedTo(type: string, id: string): string | undefined {
    return this.#unwritten.get(`${type}/${id}`) ?? this.#byFhirId.get(type, id)?.record_id;
  }

  /** What stands for `type/id` once its record is erased: an HMAC-SHA256 under this map's key. */
  #erasedId(type: string, id: string): string {
    const digest = createHmac('sha256', this.#erasedIdKey).update(`${type}/${id}`);
    return ERASED_ID_PREFIX + digest.digest('base64url');
  }

  /**
   * Forgets the FHIR id of erased record `recordId`: its pair keeps, in place of the id, a
   * digest keyed by this map (see #erasedId), so the record is still found by the id its
   * patient knows (410 Gone, `$erasure`) while no file of the node holds that id. The pair is
   * rewritten like a new one, with secure_delete, and then the log is emptied. A record unknown
   * here, or erased already, is left as it is, and so is a Patient record: its id is how the
   * patient's account, consents and other records name the patient, who is still on the chain.
   */
  erase(recordId: string): void {
    const pair = this.fhirIdOf(recordId);
    if (pair === undefined || pair.type === 'Patient' || isErasedId(pair.id)) return;
    const erased = { type: pair.type, id: this.#erasedId(pair.type, pair.id) };
    this.#unwritten.delete(`${pair.type}/${pair.id}`);
    this.#anyErased = true;
    this.#record(erased.type, erased.id, recordId);
  }

  /**
   * The FHIR type and id of ledger record `recordId`, or undefined when this node has not learnt
   * it. An erased record's id is the digest that stands for it: the trail a patient follows
   * their erasures by still names the record, and a request naming the digest finds it.
   */
  fhirIdOf(recordId: string): FhirId | undefined {
    return this.#unwrittenByRecordId.get(recordId) ?? this.#byRecordId.get(recordId);
  }

  /**
   * Of `recordIds`, in ascending order, those this node has learnt no FHIR id for: one merge with
   * the map read in the same order, not a lookup each (a node start asks this of every record).
   */
  unknown(recordIds: readonly string[]): string[] {
    const known = this.#db
      .prepare('SELECT record_id FROM fhir_id ORDER BY record_id')
      .pluck()
      .iterate() as IterableIterator<string>;
    const unknown: string[] = [];
    let next = known.next();
    for (const recordId of recordIds) {
      while (next.done !== true && next.value < recordId) next = known.next();
      const stored = next.done !== true && next.value === recordId;
      if (!stored && !this.#unwrittenByRecordId.has(recordId)) unknown.push(recordId);
    }
    known.return?.();
    return unknown;
  }

  /** The ledger id of the patient whose FHIR Patient id is `id`: their pseudonym. */
  patientIdOf(id: string): string | undefined {
    return this.recordIdOf('Patient', id);
  }

  /** The FHIR Patient id of the patient whose pseudonym is `patientId`, or undefined. */
  fhirPatientIdOf(patientId: string): string | undefined {
    const found = this.fhirIdOf(patientId);
    return found?.type === 'Patient' ? found.id : undefined;
  }

  /**
   * The ledger id of `type/id`: the one it has, or a fresh random one, recorded before it is
   * returned. Throws (with the write's error as `cause`) for a new id while batches cannot be
   * written and PSEUDONYM_UNWRITTEN_COUNT_MAX pairs already wait in memory.
   */
  assign(type: string, id: string): string {
    const known = this.recordIdOf(type, id);
    if (known !== undefined) return known;
    if (this.#writeFailure !== undefined && this.#unwritten.size >= PSEUDONYM_UNWRITTEN_COUNT_MAX)
      throw new Error(`new FHIR ids cannot be recorded: ${this.#writeFailure.message}`, {
        cause: this.#writeFailure,
      });
    const recordId = newRecordId(); // 128 random bits: paired to nothing yet
    this.#record(type, id, recordId);
    return recordId;
  }

  /**
   * Records that `type/id` is ledger record `recordId`, learnt from its decrypted content.
   * The first pairing of either side stands: a record whose content names a FHIR id already
   * taken here (another organisation's client chose the same one) keeps its ledger id only.
   */
  learn(type: string, id: string, recordId: string): void {
    if (this.recordIdOf(type, id) === undefined && this.fhirIdOf(recordId) === undefined)
      this.#record(type, id, recordId);
  }

  /** Whether every pair of the chain this node can read is here: at open unless `incomplete`, then once learnt(). */
  get complete(): boolean {
    return this.#complete;
  }

  /** Every pair of the chain this node can read has been learnt again (after `incomplete`). */
  learnt(): void {
    this.#complete = true;
  }

  /**
   * Writes what is recorded, then closes the file. When the last pairs cannot be written, or
   * the map was incomplete and never learnt, it stays `incomplete` for the next open.
   */
  async close(): Promise<void> {
    if (!this.#db.open) return;
    await this.#writer?.close(); // after the batches sent; what failed is written here
    if (!this.#db.open) return;
    try {
      this.#writeUnwritten();
      if (this.#complete) this.#db.prepare("DELETE FROM map_meta WHERE key = 'open'").run();
    } catch (error) {
      this.onWrites(error as Error);
    } finally {
      this.#checkpointer?.close();
      this.#db.close();
    }
    // Its thread's connection may be the file's last, which removes the -wal and -shm on closing.
    await this.#checkpointer?.closed;
  }

  /**
   * A pair neither side of which is paired yet (the callers have looked, as INSERT OR IGNORE
   * would), served from memory at once and written with the others of this event-loop turn in
   * one transaction on the writer thread: on the main thread, the inserts cost a twentieth of a
   * FHIR create's time at a thousand records, and a twelfth at a million.
   */
  #record(type: string, id: string, recordId: string): void {
    this.#unwritten.set(`${type}/${id}`, recordId);
    this.#unwrittenByRecordId.set(recordId, { type, id });
    this.#unsent.push(recordId);
    this.#scheduleWrite();
  }

  /** Writes the recorded pairs on the next turn, or after `retryMs`. */
  #scheduleWrite(retryMs?: number): void {
    if (this.#writeScheduled) return;
    this.#writeScheduled = true;
    const written = (retried = true) => {
      // A batch sent before the failure says nothing of the pairs that failed.
      if (this.#writeFailure === undefined || !retried) return;
      this.onWrites(undefined);
      this.#writeFailure = undefined;
    };
    const failed = (error: Error) => {
      if (!this.#db.open) return; // close() writes what is left, or reports why not
      // Served from memory meanwhile, and learnt from the chain again if the node stops first.
      this.#writeFailure = error;
      this.onWrites(error);
      this.#scheduleWrite(WRITE_RETRY_MS);
    };
    const write = () => {
      this.#writeScheduled = false;
      if (!this.#db.open) return;
      // A writer thread that has stopped for good leaves the writing to this thread, as before it.
      if (this.#writer !== undefined && !this.#writer.stopped)
        return void this.#send(this.#writer).then(written, failed);
      try {
        this.#writeUnwritten();
        written();
      } catch (error) {
        failed(error as Error);
      }
    };
    if (retryMs === undefined) setImmediate(write);
    else setTimeout(write, retryMs).unref();
  }

  /**
   * Writes the unsent pairs on the writer thread; once written, they are read from the file.
   * Resolves whether they included the pairs of a failed batch.
   */
  async #send(writer: SqliteWriter): Promise<boolean> {
    const batch = this.#unsent;
    const retried = this.#retrying || this.#logHoldsErased;
    this.#unsent = [];
    this.#retrying = false;
    if (batch.length === 0 && !this.#logHoldsErased) return retried;
    // A pair written meanwhile on this thread's connection is no longer waiting.
    const pairs = batch.flatMap((recordId) => {
      const pair = this.#unwrittenByRecordId.get(recordId);
      return pair === undefined ? [] : [[recordId, pair] as const];
    });
    const rows = pairs.map(([recordId, { type, id }]) => [type, id, recordId]);
    try {
      // Learning a whole chain's pairs at start is one batch: sent a part per turn, committed once.
      await writer.writeInParts(partsOf(rows));
    } catch (error) {
      this.#unsent = [...batch, ...this.#unsent];
      this.#retrying = true;
      throw error;
    }
    for (const [recordId, { type, id }] of pairs) {
      // Unless erased (or written here) since: then a later batch writes it.
      if (this.#unwrittenByRecordId.get(recordId)?.id !== id) continue;
      this.#unwritten.delete(`${type}/${id}`);
      this.#unwrittenByRecordId.delete(recordId);
    }
    // The log holds old page images with the erased ids: emptied now, or retried as a failed
    // batch is (and at the next open); closing the last connection removes the log anyway.
    if (rows.some(([, id]) => isErasedId(id!))) this.#logHoldsErased = true;
    if (this.#logHoldsErased) await writer.emptyLog();
    this.#logHoldsErased = false;
    return retried;
  }

  /** Writes every unwritten pair on this thread's connection, and empties the log after erasures. */
  #writeUnwritten(): void {
    const rows = [...this.#unwrittenByRecordId].map(([recordId, { type, id }]) => [
      type,
      id,
      recordId,
    ]);
    if (rows.length > 0)
      this.#db.transaction(() => {
        for (const part of partsOf(rows))
          for (const [sql, values] of part) {
            const statement = this.#db.prepare(sql);
            for (const row of values) statement.run(...row);
          }
      })();
    this.#unwritten.clear();
    this.#unwrittenByRecordId.clear();
    this.#unsent = [];
    if (rows.some(([, id]) => isErasedId(id!))) this.#logHoldsErased = true;
    if (this.#logHoldsErased) truncateWal(this.#db);
    this.#logHoldsErased = false;
  }
}

/** Whether `id` is the digest that stands for an erased record's FHIR id. */
function isErasedId(id: string): boolean {
  return id.startsWith(ERASED_ID_PREFIX);
}

/** Pairs sent to the writer thread in one message. */
const PAIRS_PER_PART = 4_096;

/** The steps that write pairs `rows`, part by part: an erased record's pair overwrites. */
function* partsOf(rows: readonly string[][]): Generator<WriteStep[]> {
  for (let start = 0; start < rows.length; start += PAIRS_PER_PART) {
    const part = rows.slice(start, start + PAIRS_PER_PART);
    const erased = part.filter(([, id]) => isErasedId(id!));
    if (erased.length === 0) yield [[INSERT_PAIR, part]];
    else
      yield [
        [INSERT_PAIR, part.filter(([, id]) => !isErasedId(id!))],
        [WRITE_ERASED_PAIR, erased],
        [MARK_ERASED, [[]]],
      ];
  }
}

/** How patients read in FHIR and on the ledger: their FHIR Patient id and their pseudonym. */
export interface PatientNames {
  patientIdOf(fhirPatientId: string): string | undefined;
  fhirPatientIdOf(patientId: string): string | undefined;
  /** False while the node relearns FHIR ids from the chain: a name not found may yet be. */
  readonly complete?: boolean;
}

/**
 * The names of the patients whose home is `orgId`, the only patients a sign-in at its node can
 * act as: a FHIR Patient id another organisation's record claims never resolves to that patient.
 */
export function homePatients(
  pseudonyms: Pseudonyms,
  state: StateReader,
  orgId: string,
): PatientNames {
  const isHome = (patientId: string | undefined) =>
    patientId !== undefined && PATIENTS.get(state, patientId)?.homeOrg === orgId;
  return {
    patientIdOf: (fhirPatientId) => {
      const patientId = pseudonyms.patientIdOf(fhirPatientId);
      return isHome(patientId) ? patientId : undefined;
    },
    fhirPatientIdOf: (patientId) =>
      isHome(patientId) ? pseudonyms.fhirPatientIdOf(patientId) : undefined,
    get complete() {
      return pseudonyms.complete;
    },
  };
}
