/** Entry points of `chartchain verify`: a node's data directory, or an exported file. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VerifyPool } from '../crypto/index.js';
import { standardExecutor } from '../contracts/index.js';
import { ChainStore } from '../storage/index.js';
import { readExport } from './chain-export.js';
import { SignatureCache } from './signature-cache.js';
import { MemoryChain } from './memory-chain.js';
import { verifyBlobs } from './verify-blobs.js';
import {
  ChainVerificationError,
  compareStoredLog,
  compareStoredState,
  storedBlocks,
  storeReadFailure,
  verifyBlocks,
  type VerifyProgress,
  type VerifySummary,
} from './verify-chain.js';

/** Options shared by both sources. */
export interface VerifyOptions {
  readonly onProgress?: VerifyProgress;
  readonly poolSize?: number;
}

async function withPool<T>(
  options: VerifyOptions,
  run: (signatures: SignatureCache) => Promise<T>,
): Promise<T> {
  const pool = new VerifyPool(options.poolSize);
  try {
    return await run(new SignatureCache(pool));
  } finally {
    await pool.close();
  }
}

/**
 * Verifies the chain in `dataDir`/chain.db from its blocks, then its stored state against the
 * replay at the state savepoint, its log against the whole replay, SQLite's quick_check of the
 * file, and every ciphertext blob of a record not erased against its on-chain hash. A directory
 * left by a crash, whose state lags its blocks, is as good as one closed cleanly. Every fault,
 * a file SQLite cannot read included, is a ChainVerificationError.
 */
export async function verifyDataDir(
  dataDir: string,
  options: VerifyOptions = {},
): Promise<VerifySummary> {
  const path = join(dataDir, 'chain.db');
  if (!existsSync(path)) throw new Error(`${dataDir} holds no chain.db`);
  let store: ChainStore;
  try {
    store = ChainStore.open(path, standardExecutor().tables, { readonly: true });
  } catch (error) {
    throw storeReadFailure(error, 'chain.db');
  }
  try {
    const { summary, chain } = await verifyStore(store, options);
    const findings = store.quickCheck();
    if (findings.length > 0)
      throw new ChainVerificationError(
        undefined,
        `chain.db fails PRAGMA quick_check: ${findings.join('; ')}`,
      );
    const blobs = verifyBlobs(join(dataDir, 'blobs'), chain);
    if (blobs.count > 0)
      throw new ChainVerificationError(
        blobs.faults[0]!.height,
        blobs.faults[0]!.what,
        blobs.faults.slice(1),
        blobs.count - blobs.faults.length,
      );
    return summary;
  } catch (error) {
    throw storeReadFailure(error, 'chain.db');
  } finally {
    store.close();
  }
}

/** The chain, its stored state and its log, checked against the replay of the stored blocks. */
async function verifyStore(
  store: ChainStore,
  options: VerifyOptions,
): Promise<{ summary: VerifySummary; chain: MemoryChain }> {
  const executor = standardExecutor();
  return withPool(options, async (signatures) => {
    const stateHeight = store.savedStateHeight;
    let stateChecked = false;
    let stateFault: Error | undefined;
    const compareState = (replay: MemoryChain): void => {
      stateChecked = true;
      try {
        compareStoredState(store, replay, executor.tables);
      } catch (error) {
        stateFault = error instanceof Error ? error : new Error(String(error));
      }
    };
    if (stateHeight === -1) compareState(new MemoryChain());
    const afterBlock = (height: number, replay: MemoryChain): void => {
      if (height === stateHeight) compareState(replay);
    };
    const { summary, chain } = await verifyBlocks(
      storedBlocks(store),
      signatures,
      options.onProgress,
      afterBlock,
    );
    // Block faults are reported first: blocks are the record, state only derives from them.
    if (stateFault !== undefined) throw stateFault;
    if (!stateChecked)
      throw new ChainVerificationError(
        undefined,
        `state savepoint height ${stateHeight} is not a block of the chain (head ${summary.blocks - 1})`,
      );
    compareStoredLog(store, chain);
    return { summary, chain };
  });
}

/** Verifies an export written by `chartchain export`. */
export async function verifyExportFile(
  path: string,
  options: VerifyOptions = {},
): Promise<VerifySummary> {
  return withPool(
    options,
    async (signatures) =>
      (await verifyBlocks(readExport(path), signatures, options.onProgress)).summary,
  );
}

/** Number of blocks in a data directory, for a progress bar's total; 0 when it cannot be read. */
export function countBlocks(dataDir: string): number {
  try {
    const store = ChainStore.open(join(dataDir, 'chain.db'), [], { readonly: true });
    try {
      return (store.head()?.height ?? -1) + 1;
    } finally {
      store.close();
    }
  } catch {
    return 0;
  }
}
