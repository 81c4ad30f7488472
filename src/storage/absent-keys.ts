/**
 * The state store's negative-lookup filter. Most state reads during execution are of keys that do
 * not exist yet (each transaction's txId, a new patient's entries), and in SQLite each is a B-tree
 * descent that finds nothing: 3–5 µs, more once the tables outgrow the page cache. A key this
 * Bloom filter has never seen is certainly absent, so its read is answered without SQLite.
 *
 * A false "absent" would make this node execute a block differently from its peers, so the
 * filter must hold every key in the state tables before it is consulted:
 * - every key the store applies is added (a key that never reaches the tables costs only a read);
 * - the keys already in the tables are added by a worker thread that scans them on a read-only
 *   connection of its own, so a start never waits for the scan;
 * - the scan is seeded with the keys applied but not yet saved, and keys applied while it runs
 *   are kept and added to the filter it brings. A key saved into the tables after the scan read
 *   them is one of these;
 * - until all of that is in, the filter answers "maybe" for every key. Once more keys are added
 *   than it was sized for, it is rebuilt the same way.
 * Only the state store writes the state tables: a row written there by anyone else would be
 * missed.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { bloomHas, bloomSet, bloomWords, stateKeyHash } from './bloom-filter.js';
import { stateTableName } from './chain-schema.js';
import type { SqliteDatabase } from './database.js';
import { startSqliteWorker } from './sqlite-worker.js';

/** Room a new filter keeps beyond twice the keys it was built from: about 200,000 transactions' writes. */
const SPARE_KEYS = 1 << 20;
/** After a scan fails, the next key applied this long after starts another. */
const SCAN_RETRY_MS = 60_000;
/** Keys applied during a scan that are added to its filter per turn of the event loop. */
const PENDING_KEYS_PER_TURN = 4096;

// Run by startSqliteWorker, with the filter's own functions spliced in.
const WORKER_SOURCE = `
${stateKeyHash.toString()}
${bloomSet.toString()}
${bloomWords.toString()}
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const hash = new Uint32Array(2);
let hashes = new Uint32Array(1 << 16);
let count = 0;
for (const [table, sqlName] of workerData.tables) {
  for (const key of db.prepare('SELECT key FROM ' + sqlName).pluck().iterate()) {
    stateKeyHash(table + '\\u0000' + key, hash);
    if (2 * count + 2 > hashes.length) {
      const grown = new Uint32Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[2 * count] = hash[0];
    hashes[2 * count + 1] = hash[1];
    count += 1;
  }
}
db.close();
const capacity = 2 * count + workerData.spareKeys;
const bits = new Int32Array(bloomWords(capacity));
for (let i = 0; i < count; i++) bloomSet(bits, hashes[2 * i], hashes[2 * i + 1]);
parentPort.postMessage({ bits, capacity, count }, [bits.buffer]);
`;

interface Scanned {
  readonly bits: Int32Array;
  readonly capacity: number;
  readonly count: number;
}

/** 'idle' until the first key is added; 'off' for a read-only store, after close(), and for a while after a scan fails. */
type Phase = 'idle' | 'scanning' | 'filling' | 'ready' | 'off';

/** A Bloom filter of every key in the state tables, built without holding up the node. Keys are `table\0key`. */
export class AbsentKeys {
  #phase: Phase = 'idle';
  #bits: Int32Array | undefined;
  #capacity = 0;
  #count = 0;
  /** Keys applied while a scan runs, for the filter it brings. */
  #pending: string[] = [];
  /** Room a new filter keeps beyond twice the keys it is built from. */
  #spareKeys: number;
  #worker: Worker | undefined;
  #retry: NodeJS.Timeout | undefined;
  #build: Promise<void> | undefined;
  /** Bumped by every scan and by close(), so an outdated one lets go. */
  #generation = 0;
  readonly #hash = new Uint32Array(2);

  /** `liveKeys` yields every key applied but not yet in the tables. `spareKeys` is for tests. */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly tables: readonly string[],
    private readonly liveKeys: () => Iterable<string>,
    spareKeys = SPARE_KEYS,
  ) {
    this.#spareKeys = spareKeys;
  }

  /** True once the filter holds every stored key and answers for absent ones. */
  get ready(): boolean {
    return this.#phase === 'ready';
  }

  /** Resolves when no scan is under way. */
  async settled(): Promise<void> {
    while (this.#build !== undefined) await this.#build;
  }

  /** Records that `key` is, or is about to be, in the tables. The first call starts the filter. */
  add(key: string): void {
    if (this.#phase === 'idle') this.#start();
    if (this.#bits !== undefined) this.#set(key);
    else if (this.#phase === 'scanning') this.#pending.push(key);
  }

  /** False when `key` is certainly in no state table; true when it may be, or the filter is not ready. */
  mightHave(key: string): boolean {
    if (this.#phase !== 'ready') return true;
    stateKeyHash(key, this.#hash);
    return bloomHas(this.#bits!, this.#hash[0]!, this.#hash[1]!);
  }

  /** Stops a scan under way; the filter answers "maybe" from now on. */
  close(): void {
    this.#generation += 1;
    this.#phase = 'off';
    this.#bits = undefined;
    this.#pending = [];
    void this.#worker?.terminate();
    clearTimeout(this.#retry);
  }

  /** A scan failed (the worker could not open the file, ran out of memory...): answer "maybe", and scan again later. */
  #retryLater(): void {
    this.#phase = 'off';
    this.#retry = setTimeout(() => {
      if (this.#phase === 'off') this.#phase = 'idle';
    }, SCAN_RETRY_MS).unref();
  }

  #start(): void {
    if (this.db.readonly) this.#phase = 'off';
    else if (this.db.memory || this.#tablesEmpty()) this.#buildInThread();
    else this.#scan();
  }

  /** Builds the filter at once from the tables and the unsaved keys: for empty tables, or an in-memory database no worker can open. */
  #buildInThread(): void {
    const keys = [...this.liveKeys()];
    for (const table of this.tables)
      for (const key of this.db
        .prepare(`SELECT key FROM ${stateTableName(table)}`)
        .pluck()
        .iterate() as IterableIterator<string>)
        keys.push(`${table}\u0000${key}`);
    this.#generation += 1;
    this.#capacity = 2 * keys.length + this.#spareKeys;
    this.#bits = new Int32Array(bloomWords(this.#capacity));
    this.#count = 0;
    for (const key of keys) this.#set(key);
    this.#phase = 'ready';
  }

  #tablesEmpty(): boolean {
    return this.tables.every(
      (table) =>
        this.db.prepare(`SELECT 1 FROM ${stateTableName(table)} LIMIT 1`).get() === undefined,
    );
  }

  #set(key: string): void {
    stateKeyHash(key, this.#hash);
    bloomSet(this.#bits!, this.#hash[0]!, this.#hash[1]!);
    this.#count += 1;
    if (this.#count > this.#capacity && this.#phase === 'ready') this.#rebuild();
  }

  #rebuild(): void {
    if (this.db.memory) this.#buildInThread();
    else this.#scan();
  }

  #scan(): void {
    const generation = (this.#generation += 1);
    this.#phase = 'scanning';
    this.#bits = undefined;
    this.#pending = [...this.liveKeys()];
    const worker = startSqliteWorker(WORKER_SOURCE, {
      path: this.db.name,
      tables: this.tables.map((table) => [table, stateTableName(table)]),
      spareKeys: this.#spareKeys,
    });
    worker.unref();
    this.#worker = worker;
    const build = new Promise<void>((resolve) => {
      let scanned = false;
      const failed = (): void => {
        if (scanned) return;
        scanned = true;
        if (generation === this.#generation) this.#retryLater();
        resolve();
      };
      worker.once('message', (message: Scanned) => {
        scanned = true;
        void this.#receive(generation, message).then(resolve);
      });
      worker.once('error', failed);
      worker.once('exit', failed);
    });
    const settled: Promise<void> = build.finally(() => {
      if (this.#worker === worker) this.#worker = undefined;
      if (this.#build === settled) this.#build = undefined;
    });
    this.#build = settled;
  }

  /** Takes a scan's filter and adds the keys applied meanwhile, a slice per turn. */
  async #receive(generation: number, scanned: Scanned): Promise<void> {
    if (generation !== this.#generation) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#bits = scanned.bits;
    this.#capacity = scanned.capacity;
    this.#count = scanned.count;
    this.#phase = 'filling';
    for (let begin = 0; begin < pending.length; begin += PENDING_KEYS_PER_TURN) {
      await nextTurn();
      if (generation !== this.#generation) return; // close() came first
      for (const key of pending.slice(begin, begin + PENDING_KEYS_PER_TURN)) this.#set(key);
    }
    if (generation !== this.#generation) return;
    if (this.#count > this.#capacity) {
      // More keys came in during the scan than the filter has room for (it still has them all,
      // so it would be correct, only too full): scan again with room for twice that many.
      this.#spareKeys = Math.max(this.#spareKeys, 2 * pending.length);
      this.#rebuild();
      return;
    }
    this.#phase = 'ready';
  }
}
