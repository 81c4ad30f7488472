/**
 * The chain store: blocks, transactions, the Merkle log's perfect-subtree nodes and contract
 * state, in one SQLite database so that one block is one durable transaction.
 */
import assert from 'node:assert/strict';
import { canonicalize, fromUtf8, toHex } from '../crypto/index.js';
import {
  blockHashOf,
  txRootOf,
  type Block,
  type BlockHeader,
  type MerkleNodeStore,
  type Transaction,
  type TxStatus,
  STATE_OVERLAY_WRITE_COUNT_MAX,
  STATE_SAVEPOINT_BLOCK_COUNT_MAX,
} from '../ledger/index.js';
import type { StateReader, WriteSetEntry } from '../contracts/index.js';
import { createStateTables, logNodeId, migrateChain } from './chain-schema.js';
import { StateStore } from './state-store.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import type { Statement } from 'better-sqlite3';
import { SqliteWriter, type WriteStep } from './sqlite-writer.js';
import { isDiskFull, storageFaultOf } from './storage-fault.js';

const INSERT_BLOCK = 'INSERT INTO block (height, hash, log_size, header) VALUES (?, ?, ?, ?)';
const INSERT_TX = 'INSERT INTO tx (leaf_index, height, status, bytes) VALUES (?, ?, ?, ?)';
const INSERT_NODE = 'INSERT INTO log_node (id, hash) VALUES (?, ?)';

/** The store's work on the calling thread that ChainStore.observeTurns times. */
export type StoreTurn = 'commit' | 'apply' | 'savepoint';

/** Everything one block changes, written atomically by ChainStore.commit. */
export interface BlockCommit {
  readonly header: BlockHeader;
  readonly txs: readonly {
    readonly bytes: Uint8Array;
    readonly status: TxStatus;
    readonly txId: string;
  }[];
  readonly logNodes: readonly (readonly [level: number, index: number, hash: Uint8Array])[];
  readonly writeSet: readonly WriteSetEntry[];
  /** canonicalize(value) of each write-set entry, in order. */
  readonly valueTexts: readonly string[];
  /** Ciphertext hashes the block's state rows name, each with an opaque name of its row (see blobReferrer). */
  readonly anchors?: readonly BlobAnchor[];
}

/** A ciphertext hash and the state row that names it, as the node spells it. */
export type BlobAnchor = readonly [hash: string, referrer: string];

/**
 * Characters of a state savepoint's rows copied to the writer thread per event-loop turn: well
 * under 1 ms of copying. Counted in characters, not rows: a record version's row is a hundred
 * times a key's.
 */
const SAVEPOINT_PART_CHARS = 64 * 1024;
const INSERT_ANCHOR = 'INSERT OR REPLACE INTO blob_anchor (hash, referrer) VALUES (?, ?)';
const ANCHORS_BUILT = 'blob_anchor';

/** A stored transaction. */
export interface StoredTx {
  readonly leafIndex: number;
  readonly height: number;
  readonly status: TxStatus;
  readonly bytes: Uint8Array;
}

/** A block's rows as stored, before any check. */
export interface RawBlock {
  readonly height: number;
  readonly hash: string;
  readonly logSize: number;
  readonly header: string;
  readonly txs: readonly {
    readonly leafIndex: number;
    readonly status: string;
    readonly bytes: Uint8Array;
  }[];
}

/**
 * The rows of one block (header, transactions in log order, new Merkle log nodes, blob anchors),
 * a part at a time: copying a block of a hundred transactions to the writer thread in one
 * message held the event loop for 1–2.5 ms.
 */
function* blockParts(commit: BlockCommit): Generator<WriteStep[]> {
  const { header } = commit;
  const firstLeaf = header.logSize - commit.txs.length;
  yield [
    [INSERT_BLOCK, [[header.height, blockHashOf(header), header.logSize, canonicalize(header)]]],
  ];
  for (let begin = 0; begin < commit.txs.length; begin += TX_ROWS_PER_PART) {
    const txs = commit.txs.slice(begin, begin + TX_ROWS_PER_PART);
    const leaf = firstLeaf + begin;
    yield [
      [INSERT_TX, txs.map(({ bytes, status }, i) => [leaf + i, header.height, status, bytes])],
    ];
  }
  for (let begin = 0; begin < commit.logNodes.length; begin += NODE_ROWS_PER_PART) {
    const nodes = commit.logNodes.slice(begin, begin + NODE_ROWS_PER_PART);
    yield [[INSERT_NODE, nodes.map(([level, index, hash]) => [logNodeId(level, index), hash])]];
  }
  yield [[INSERT_ANCHOR, anchorRows(commit.anchors ?? [])]];
}

/** Rows of a block copied to the writer thread per event-loop turn: well under 1 ms each. */
const TX_ROWS_PER_PART = 32;
const NODE_ROWS_PER_PART = 128;

function anchorRows(anchors: readonly BlobAnchor[]): unknown[][] {
  return anchors.map(([hash, referrer]) => [Buffer.from(hash, 'hex'), referrer]);
}

/** Thrown when data read back does not match what was committed: the store is corrupt. */
export class StorageIntegrityError extends Error {
  constructor(readonly what: string) {
    super(`storage integrity: ${what}`);
    this.name = 'StorageIntegrityError';
  }
}

/** The chain database fails SQLite's own integrity check: a node must not commit onto it. */
export class ChainDatabaseDamagedError extends Error {
  constructor(
    readonly path: string,
    readonly findings: readonly string[],
  ) {
    super(
      `${path} fails PRAGMA quick_check (${findings.join('; ')}); refusing to commit onto a damaged chain database: restore it from a backup or another node`,
    );
    this.name = 'ChainDatabaseDamagedError';
  }
}

/** SQLite-backed chain store. One writer per database. */
export class ChainStore {
  readonly #db: SqliteDatabase;
  readonly #state: StateStore;
  #savedHeight: number;
  /** Height of the newest block whose writes state reflects; blocks after it await replay. */
  #appliedHeight: number;
  #head: BlockHeader | undefined;
  readonly #statements;
  #referrer: Statement | undefined;
  /** The connection commit() writes through, off the main thread; opened by the first commit(). */
  #writer: SqliteWriter | undefined;
  /** The savepoint being written by #writer, if any. */
  #saving: Promise<void> | undefined;
  /** The block being written by #writer, if any. */
  #committing: Promise<void> | undefined;
  /** A savepoint that failed for a reason other than a full disk: the next commit throws it. */
  #savingFailure: Error | undefined;
  #turnTimed: ((work: StoreTurn, seconds: number) => void) | undefined;

  private constructor(
    db: SqliteDatabase,
    readonly tables: readonly string[],
    readonly path: string,
  ) {
    this.#db = db;
    this.#statements = {
      head: db.prepare('SELECT header, hash FROM block ORDER BY height DESC LIMIT 1'),
      header: db.prepare('SELECT header, hash FROM block WHERE height = ?'),
      headerAtLogSize: db.prepare('SELECT header FROM block WHERE log_size = ?'),
      txsOfBlock: db.prepare(
        'SELECT leaf_index, height, status, bytes FROM tx WHERE height = ? ORDER BY leaf_index',
      ),
      tx: db.prepare('SELECT leaf_index, height, status, bytes FROM tx WHERE leaf_index = ?'),
      getNode: db.prepare('SELECT hash FROM log_node WHERE id = ?').pluck(),
    };
    this.#state = new StateStore(db, tables);
    this.#savedHeight = this.#state.savedHeight;
    this.#appliedHeight = this.#savedHeight;
  }

  /**
   * Opens the chain database at `path` for a node that will commit onto it: `PRAGMA quick_check`
   * first (it reads every page: about 4 s for a 213 MB chain on this project's machine), since
   * committing onto a damaged b-tree can spread the damage and every later block would inherit
   * it. Throws ChainDatabaseDamagedError naming the file and SQLite's findings. With
   * `quickCheck: false` (the caller knows the file is as a clean close left it) only opening
   * failures are reported so.
   */
  static openChecked(
    path: string,
    tables: readonly string[],
    options: { quickCheck?: boolean } = {},
  ): ChainStore {
    let store: ChainStore;
    try {
      store = ChainStore.open(path, tables);
    } catch (error) {
      if (storageFaultOf(error) === 'damaged')
        throw new ChainDatabaseDamagedError(path, [(error as Error).message]);
      throw error;
    }
    let findings: string[];
    try {
      findings = options.quickCheck === false ? [] : store.quickCheck();
    } catch (error) {
      if (storageFaultOf(error) !== 'damaged') throw error;
      findings = [(error as Error).message];
    }
    if (findings.length > 0) {
      store.#state.close();
      store.#db.close();
      throw new ChainDatabaseDamagedError(path, findings);
    }
    return store;
  }

  /** Opens the chain database at `path` with a state table for each of `tables`. */
  static open(
    path: string,
    tables: readonly string[],
    options: { readonly?: boolean } = {},
  ): ChainStore {
    const db = openDatabase(path, { ...options, cacheKiB: 256 * 1024 });
    if (options.readonly !== true) {
      migrateChain(db);
      createStateTables(db, tables);
    }
    return new ChainStore(db, tables, path);
  }

  /** The newest block header, or undefined before genesis. Kept in memory: every admission asks. Throws StorageIntegrityError when it does not match its stored hash. */
  head(): BlockHeader | undefined {
    if (this.#head === undefined) {
      // Read once per commit, and checked in pair with its stored hash: every new block is
      // validated against this header, so a header changed on disk must stop the node here.
      const row = this.#statements.head.get() as { header: string; hash: string } | undefined;
      const header = row === undefined ? undefined : (JSON.parse(row.header) as BlockHeader);
      if (header !== undefined && blockHashOf(header) !== row!.hash)
        throw new StorageIntegrityError(
          `block ${header.height} (the newest) header does not match its stored hash`,
        );
      this.#head = header;
    }
    return this.#head;
  }

  /** The header at `height`, its stored hash re-checked. */
  header(height: number): BlockHeader | undefined {
    const row = this.#statements.header.get(height) as { header: string; hash: string } | undefined;
    if (row === undefined) return undefined;
    const header = JSON.parse(row.header) as BlockHeader;
    if (header.height !== height || blockHashOf(header) !== row.hash)
      throw new StorageIntegrityError(`block ${height} header does not match its hash`);
    return header;
  }

  /** The header of the block whose log ends at `logSize`: the signed tree head for that size. */
  headerAtLogSize(logSize: number): BlockHeader | undefined {
    const row = this.#statements.headerAtLogSize.get(logSize) as { header: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.header) as BlockHeader);
  }

  /** The block at `height` with its transactions, re-checked against its header's txRoot. */
  block(height: number): Block | undefined {
    const header = this.header(height);
    if (header === undefined) return undefined;
    const rows = this.#statements.txsOfBlock.all(height) as {
      leaf_index: number;
      status: TxStatus;
      bytes: Buffer;
    }[];
    if (txRootOf(rows.map((row) => row.bytes)) !== header.txRoot)
      throw new StorageIntegrityError(`block ${height} transactions do not match txRoot`);
    const txs = rows.map((row) => ({
      tx: JSON.parse(fromUtf8(row.bytes)) as Transaction,
      status: row.status,
    }));
    return { header, txs };
  }

  /** The transaction at log position `leafIndex`. */
  tx(leafIndex: number): StoredTx | undefined {
    const row = this.#statements.tx.get(leafIndex) as
      { leaf_index: number; height: number; status: TxStatus; bytes: Buffer } | undefined;
    if (row === undefined) return undefined;
    return {
      leafIndex: row.leaf_index,
      height: row.height,
      status: row.status,
      bytes: new Uint8Array(row.bytes),
    };
  }

  /** Committed contract state: the state tables and, over them, the writes since the last savepoint. */
  get state(): StateReader {
    return this.#state;
  }

  /** The committed Merkle log nodes. Writes happen only through commit(). */
  readonly logNodes: MerkleNodeStore = {
    getNode: (level, index) => {
      const hash = this.#statements.getNode.get(logNodeId(level, index)) as Buffer | undefined;
      return hash === undefined ? undefined : new Uint8Array(hash);
    },
    putNode: () => assert.fail('log nodes are written only by ChainStore.commit'),
  };

  /**
   * Writes one block, its transactions and log nodes in one durable transaction on the writer
   * thread, then its state writes to the overlay; starts a state savepoint there when the
   * overlay is full or old enough. Readers see the block only once it is durable.
   */
  async commit(commit: BlockCommit): Promise<void> {
    if (this.#savingFailure !== undefined) throw this.#savingFailure;
    // Parts of two blocks sent at once could commit out of order: one block at a time.
    assert.equal(this.#committing, undefined, 'a block commit is still in progress');
    this.#writer ??= new SqliteWriter(this.path);
    this.#committing = this.#writer.writeInParts(blockParts(commit), (seconds) =>
      this.#turnTimed?.('commit', seconds),
    );
    try {
      await this.#committing;
    } finally {
      this.#committing = undefined;
    }
    const applying = performance.now();
    this.#head = commit.header;
    this.#applyState(commit);
    this.#turnTimed?.('apply', (performance.now() - applying) / 1000);
    if (this.#saveDue() && this.#saving === undefined) this.#saveInBackground(this.#writer);
  }

  /**
   * Calls `observer` with how long each turn of this store's work on the calling thread held it,
   * from now on: handing each part of a block to the writer thread, applying a committed block's
   * state (in the turn the commit completes), and handing each part of a savepoint over.
   */
  observeTurns(observer: (work: StoreTurn, seconds: number) => void): void {
    this.#turnTimed = observer;
  }

  /** commit() on the calling thread: for creating a data directory, before any commit(). */
  commitSync(commit: BlockCommit): void {
    assert.equal(this.#writer, undefined, 'commitSync after commit()');
    this.#db.transaction(() => {
      for (const [sql, rows] of [...blockParts(commit)].flat()) {
        const statement = this.#db.prepare(sql);
        for (const row of rows) statement.run(...row);
      }
    })();
    this.#head = commit.header;
    this.replayState(commit);
  }

  /**
   * Applies an already stored block's state writes: what commitSync() does after the block rows,
   * and what crash recovery does for blocks after the savepoint.
   */
  replayState(commit: Pick<BlockCommit, 'header' | 'writeSet' | 'valueTexts'>): void {
    this.#applyState(commit);
    if (this.#saveDue()) this.#trySaveState(commit.header.height);
  }

  #applyState(commit: Pick<BlockCommit, 'header' | 'writeSet' | 'valueTexts'>): void {
    const height = commit.header.height;
    assert.equal(
      height,
      this.#appliedHeight + 1,
      `state is at height ${this.#appliedHeight}, cannot apply block ${height}`,
    );
    this.#state.apply(commit.writeSet, commit.valueTexts);
    this.#appliedHeight = height;
  }

  #saveDue(): boolean {
    return (
      this.#state.overlayCount >= STATE_OVERLAY_WRITE_COUNT_MAX ||
      this.#appliedHeight - this.#savedHeight >= STATE_SAVEPOINT_BLOCK_COUNT_MAX
    );
  }

  /**
   * Writes the overlay as the state after the applied height, on the writer thread, while
   * blocks go on committing. A full disk leaves the writes for the next savepoint; any other
   * failure is thrown by the next commit.
   */
  #saveInBackground(writer: SqliteWriter): void {
    const height = this.#appliedHeight;
    this.#saving = writer
      .writeInParts(this.#state.beginSave(height, SAVEPOINT_PART_CHARS), (seconds) =>
        this.#turnTimed?.('savepoint', seconds),
      )
      .then(
        () => {
          this.#state.endSave();
          this.#savedHeight = height;
        },
        (error: Error) => {
          this.#state.abandonSave();
          if (!isDiskFull(error)) this.#savingFailure = error;
        },
      )
      .finally(() => (this.#saving = undefined));
  }

  /** The referrer recorded with ciphertext `hash` (64 hex digits) by the block that anchored it, or undefined. */
  blobReferrer(hash: string): string | undefined {
    // Prepared on first use: a read-only store of a chain older than the table never asks.
    this.#referrer ??= this.#db.prepare('SELECT referrer FROM blob_anchor WHERE hash = ?').pluck();
    return this.#referrer.get(Buffer.from(hash, 'hex')) as string | undefined;
  }

  /** True once blob_anchor covers the whole chain: it was built from state, or has been kept since genesis. */
  get blobAnchorsBuilt(): boolean {
    return this.#db.prepare('SELECT 1 FROM meta WHERE key = ?').get(ANCHORS_BUILT) !== undefined;
  }

  /**
   * Records `anchors`, built from committed state, and that blob_anchor now covers the chain: for
   * a chain committed before the table existed. On the calling thread, before any commit().
   */
  buildBlobAnchors(anchors: Iterable<BlobAnchor>): void {
    assert.equal(this.#writer, undefined, 'buildBlobAnchors after commit()');
    this.#db.transaction(() => {
      const insert = this.#db.prepare(INSERT_ANCHOR);
      for (const [hash, referrer] of anchors) insert.run(Buffer.from(hash, 'hex'), referrer);
      this.#db
        .prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)')
        .run(ANCHORS_BUILT, 'built');
    })();
  }

  /** Waits for commit()'s writer to finish, then stops it: before close(). */
  async stopWriting(): Promise<void> {
    await this.#committing?.catch(() => {}); // its caller hears of a failure
    await this.#saving;
    await this.#writer?.close();
    this.#writer = undefined;
  }

  /**
   * Takes a savepoint unless the disk is full. The block is already durable and a savepoint
   * failing rolls back whole, leaving the overlay as it was: the next block tries again, and a
   * crash meanwhile replays from the older savepoint. Failing the commit here instead would
   * report a durable block as lost.
   */
  #trySaveState(height: number): void {
    try {
      this.saveState(height);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  /** Height whose state the state tables hold (the savepoint). */
  get savedStateHeight(): number {
    return this.#savedHeight;
  }

  /** Height of the newest block reflected in state; after a crash, blocks above it need replayState. */
  get appliedStateHeight(): number {
    return this.#appliedHeight;
  }

  /** Writes the state overlay as the state after block `height`, which must be the applied height. */
  saveState(height: number): void {
    assert.equal(height, this.#appliedHeight, 'a savepoint records the applied height');
    this.#state.save(height);
    this.#savedHeight = height;
  }

  /** Every live key of state table `table`, sorted: for the rare scans outside consensus. */
  stateKeys(table: string): string[] {
    return this.#state.keys(table);
  }

  /** Every stored row of state table `table` (as of the savepoint), sorted by key: for verification. */
  stateRows(table: string): IterableIterator<[key: string, value: string]> {
    return this.#state.storedRows(table);
  }

  /** Every stored log node as [level, index, hex hash], for verification. */
  *logNodeRows(): IterableIterator<[level: number, index: number, hash: string]> {
    for (const [id, hash] of this.#db
      .prepare('SELECT id, hash FROM log_node ORDER BY id')
      .raw()
      .iterate() as IterableIterator<[number, Buffer]>) {
      yield [id % 64, Math.floor(id / 64), toHex(hash)];
    }
  }

  /** Raw stored rows of every block in height order, unverified: what `chartchain verify` checks. */
  *rawBlocks(): IterableIterator<RawBlock> {
    const block = this.#db
      .prepare('SELECT height, hash, log_size, header FROM block WHERE height = ?')
      .raw();
    const txs = this.#db
      .prepare(
        'SELECT leaf_index, height, status, bytes FROM tx WHERE height = ? ORDER BY leaf_index',
      )
      .raw();
    for (let height = 0; ; height++) {
      const row = block.get(height) as [number, string, number, string] | undefined;
      if (row === undefined) return;
      const rows = txs.all(height) as [number, number, string, Buffer][];
      const entries = rows.map(([leafIndex, , status, bytes]) => ({
        leafIndex,
        status,
        bytes: new Uint8Array(bytes),
      }));
      yield { height, hash: row[1], logSize: row[2], header: row[3], txs: entries };
    }
  }

  /**
   * SQLite's `PRAGMA quick_check` of the whole file (b-tree structure, page and record formats;
   * not index contents): [] when sound, else its first `findingsMax` findings. Throws a SQLite
   * error when the damage stops the check itself.
   */
  quickCheck(findingsMax = 10): string[] {
    const rows = this.#db.pragma(`quick_check(${findingsMax})`, { simple: false }) as {
      quick_check: string;
    }[];
    const findings = rows.map((row) => row.quick_check);
    return findings.length === 1 && findings[0] === 'ok' ? [] : findings;
  }

  /** Number of stored transaction rows, whatever block they claim. */
  txCount(): number {
    return this.#db.prepare('SELECT count(*) FROM tx').pluck().get() as number;
  }

  /**
   * Takes a final state savepoint (unless read-only, or the disk is full: the next start replays)
   * and closes the database. After commit(), call stopWriting() first.
   */
  close(): void {
    assert.equal(
      this.#writer,
      undefined,
      'close() while the writer runs: await stopWriting() first',
    );
    if (!this.#db.readonly && this.#appliedHeight > this.#savedHeight)
      this.#trySaveState(this.#appliedHeight);
    this.#state.close();
    this.#db.close();
  }
}
