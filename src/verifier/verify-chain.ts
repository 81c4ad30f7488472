/**
 * `chartchain verify`: rebuilds the chain from its blocks alone, trusting nothing the node
 * stored: signatures, hash links, txRoot and logRoot, the replayed statuses and appHash. For a
 * data directory it then compares the node's stored state and log nodes with the replay.
 */
import { toHex } from '../crypto/index.js';
import { ERASURE_TABLE, standardExecutor, type Executor } from '../contracts/index.js';
import { blockHashOf, BlockFormatError, decodeBlock, type DecodedBlock } from '../ledger/index.js';
import { StorageIntegrityError, type ChainStore, type RawBlock } from '../storage/index.js';
import { validateBlock, BlockValidationError } from './block-validation.js';
import { erasureStatuses, type ErasureStatus } from './erasures.js';
import { MemoryChain } from './memory-chain.js';
import type { SignatureCache } from './signature-cache.js';

/** What a good chain amounts to. */
export interface VerifySummary {
  readonly blocks: number;
  readonly txs: number;
  readonly logSize: number;
  readonly logRoot: string;
  readonly appHash: string;
  readonly headHash: string;
  readonly genesisHash: string;
  /** Every erasure on the chain, with which members confirmed it. */
  readonly erasures: readonly ErasureStatus[];
}

/**
 * The first thing found wrong; `height` is undefined when the fault is in state, not a block.
 * Checks that go on past a fault (blobs) list the others in `further`, and count those not
 * listed in `unlisted`.
 */
export class ChainVerificationError extends Error {
  constructor(
    readonly height: number | undefined,
    readonly what: string,
    readonly further: readonly ChainVerificationError[] = [],
    readonly unlisted = 0,
  ) {
    super(height === undefined ? what : `height ${height}: ${what}`);
    this.name = 'ChainVerificationError';
  }
}

/**
 * A failure to read the store (SQLite reporting a malformed page, a file that is not a database,
 * an I/O error, rows that contradict their hashes) as the verification failure it is, naming the
 * file and, when known, the height being read. Other errors come back unchanged.
 */
export function storeReadFailure(error: unknown, file: string, height?: number): unknown {
  if (error instanceof ChainVerificationError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const isSqlite = typeof code === 'string' && code.startsWith('SQLITE_');
  if (!isSqlite && !(error instanceof StorageIntegrityError)) return error;
  const where = height === undefined ? '' : ' reading this block';
  return new ChainVerificationError(
    height,
    `${file} is damaged${where}: ${(error as Error).message}${isSqlite ? ` (${code as string})` : ''}`,
  );
}

/** Blocks decoded and sent to the signature workers ahead of the one executing. */
const PREPARED_BLOCKS_AHEAD = 3;

/** Called after each verified block. */
export type VerifyProgress = (height: number, txs: number) => void;

/**
 * Verifies `blocks` (each encoded bytes or a parsed value) from genesis on. Resolves with the
 * rebuilt chain and a summary; rejects with ChainVerificationError at the first fault.
 * `afterBlock` sees the rebuilt chain as it stands after each block.
 */
export async function verifyBlocks(
  blocks: Iterable<Uint8Array | unknown>,
  signatures: SignatureCache,
  onProgress: VerifyProgress = () => {},
  afterBlock: (height: number, chain: MemoryChain) => void = () => {},
): Promise<{ summary: VerifySummary; chain: MemoryChain }> {
  const executor = standardExecutor();
  const chain = new MemoryChain();
  let height = 0;
  let txs = 0;
  let genesisHash = '';
  // Signatures of the next blocks are checked on the workers while this one executes. A signer
  // registered in a block not yet executed is unknown to them: its signatures are checked
  // in-thread, so looking ahead changes only where the work runs.
  const iterator = blocks[Symbol.iterator]();
  const ahead: Promise<DecodedBlock | undefined>[] = [];
  for (;;) {
    while (ahead.length < PREPARED_BLOCKS_AHEAD) {
      const prepared = prepare(iterator, chain, executor, signatures, height + ahead.length);
      prepared.catch(() => {}); // Awaited in its turn; a fault in an earlier block comes first.
      ahead.push(prepared);
    }
    const current = await ahead.shift()!;
    if (current === undefined) break;
    try {
      chain.apply(validateBlock(chain, executor, current, signatures.check));
    } catch (error) {
      if (error instanceof BlockValidationError)
        throw new ChainVerificationError(height, error.message.replace(/^block \d+: /, ''));
      throw error;
    }
    afterBlock(height, chain);
    if (height === 0) genesisHash = blockHashOf(current.block.header);
    txs += current.txs.length;
    signatures.forget(current.txs.map((tx) => tx.txId));
    onProgress(height, txs);
    height += 1;
  }
  const head = chain.head();
  if (head === undefined) throw new ChainVerificationError(0, 'chain has no genesis block');
  const erasures = erasureStatuses(chain.state.get, chain.rows(ERASURE_TABLE).keys());
  const summary = {
    blocks: height,
    txs,
    logSize: head.logSize,
    logRoot: head.logRoot,
    appHash: head.appHash,
    headHash: blockHashOf(head),
    genesisHash,
    erasures,
  };
  return { summary, chain };
}

async function prepare(
  iterator: Iterator<Uint8Array | unknown>,
  chain: MemoryChain,
  executor: Executor,
  signatures: SignatureCache,
  height: number,
): Promise<DecodedBlock | undefined> {
  const step = iterator.next();
  if (step.done === true) return undefined;
  let decoded: DecodedBlock;
  try {
    decoded = decodeBlock(step.value);
  } catch (error) {
    if (error instanceof BlockFormatError || error instanceof ChainVerificationError)
      throw new ChainVerificationError(height, `malformed block: ${error.message}`);
    throw error;
  }
  const context = { height, time: decoded.block.header.time };
  const items = [];
  for (const tx of decoded.txs) {
    const signer = executor.resolveSigner(chain.state, tx, context);
    if (signer !== undefined) items.push({ decoded: tx, publicKey: signer.publicKey });
  }
  await signatures.verifyAll(items);
  return decoded;
}

/** Stored rows of a data directory as block values, checking the columns that duplicate header fields. */
export function* storedBlocks(store: ChainStore, file = 'chain.db'): Generator<unknown> {
  let expectedLeaf = 0;
  let height = 0;
  let lastHash: string | undefined;
  const rows = store.rawBlocks();
  for (;;) {
    let step: IteratorResult<RawBlock>;
    try {
      step = rows.next();
    } catch (error) {
      throw storeReadFailure(error, file, height);
    }
    if (step.done === true) break;
    const raw = step.value;
    yield blockFromRaw(raw, expectedLeaf);
    expectedLeaf += raw.txs.length;
    height = raw.height + 1;
    lastHash = raw.hash;
  }
  checkNothingBeyond(store, height, lastHash);
}

/**
 * The stored chain ends at the first missing height; a block stored above that gap means a row
 * was deleted from the middle, which must not pass as a shorter chain. Only reached once every
 * block before the gap has been read, so it reports after any fault in them.
 */
function checkNothingBeyond(store: ChainStore, height: number, lastHash: string | undefined): void {
  let top: unknown;
  try {
    top = store.head();
  } catch {
    top = null; // The highest row does not even parse: it lies beyond every block read.
  }
  if (top === undefined || (top !== null && lastHash !== undefined && safeHash(top) === lastHash))
    return;
  throw new ChainVerificationError(
    height,
    `block ${height} is missing, yet later blocks are stored`,
  );
}

function blockFromRaw(raw: RawBlock, firstLeaf: number): unknown {
  let header: { logSize?: unknown };
  try {
    header = JSON.parse(raw.header) as { logSize?: unknown };
  } catch {
    throw new ChainVerificationError(raw.height, 'stored header is not valid JSON');
  }
  raw.txs.forEach((tx, i) => {
    if (tx.leafIndex !== firstLeaf + i)
      throw new ChainVerificationError(
        raw.height,
        `stored transaction ${i} has leafIndex ${tx.leafIndex}, expected ${firstLeaf + i}`,
      );
  });
  if (header.logSize !== raw.logSize)
    throw new ChainVerificationError(
      raw.height,
      `stored log_size ${raw.logSize} differs from header logSize`,
    );
  // The stored bytes, not a parsed value, go on: decodeBlock checks they are canonical, since
  // they are what the node hashes into leaves and serves in proofs.
  const txs = raw.txs.map((tx) => ({ tx: tx.bytes, status: tx.status }));
  const block = { header, txs };
  const decodedHash = safeHash(header);
  if (decodedHash !== undefined && decodedHash !== raw.hash)
    throw new ChainVerificationError(
      raw.height,
      `stored block hash ${raw.hash} differs from the header's hash ${decodedHash}`,
    );
  return block;
}

function safeHash(header: unknown): string | undefined {
  try {
    return blockHashOf(header as never);
  } catch {
    return undefined;
  }
}

/**
 * Compares the node's stored state tables with `chain`, which must be the replay up to the
 * store's state savepoint (ChainStore.savedStateHeight): state is written only at savepoints,
 * so after a crash, or while the node runs, the tables lag the head. Throws ChainVerificationError.
 */
export function compareStoredState(
  store: ChainStore,
  chain: MemoryChain,
  tables: readonly string[],
): void {
  for (const table of tables) {
    const replayed = chain.rows(table);
    let count = 0;
    for (const [key, value] of store.stateRows(table)) {
      count += 1;
      const expected = replayed.get(key);
      if (expected === undefined)
        throw new ChainVerificationError(
          undefined,
          `state ${table}[${key}] exists but no block wrote it`,
        );
      if (expected !== value)
        throw new ChainVerificationError(
          undefined,
          `state ${table}[${key}] differs from the replayed value`,
        );
    }
    if (count !== replayed.size)
      throw new ChainVerificationError(
        undefined,
        `state ${table} has ${count} rows, replay has ${replayed.size}`,
      );
  }
}

/** Compares the node's stored log nodes and transaction rows, durable with every block, with the whole replayed chain. Throws ChainVerificationError. */
export function compareStoredLog(store: ChainStore, chain: MemoryChain): void {
  const size = chain.head()!.logSize;
  const expectedCount = 2 * size - popcount(size);
  let count = 0;
  for (const [level, index, hash] of store.logNodeRows()) {
    count += 1;
    const expected = chain.logNodes.getNode(level, index);
    if (expected === undefined || toHex(expected) !== hash)
      throw new ChainVerificationError(
        undefined,
        `log node (level ${level}, index ${index}) differs from the replayed tree`,
      );
  }
  if (count !== expectedCount)
    throw new ChainVerificationError(
      undefined,
      `log has ${count} stored nodes, a tree of ${size} leaves has ${expectedCount}`,
    );
  if (store.txCount() !== size)
    throw new ChainVerificationError(
      undefined,
      `store holds ${store.txCount()} transactions, the log ${size}`,
    );
}

function popcount(value: number): number {
  let count = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}
