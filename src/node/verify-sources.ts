/** Entry points of `chartchain verify`: a node's data directory, or an exported file. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VerifyPool } from '../crypto/index.js';
import { standardExecutor } from '../contracts/index.js';
import { ChainStore } from '../storage/index.js';
import { readExport } from './chain-export.js';
import { SignatureCache } from './signature-cache.js';
import { compareStoredState, storedBlocks, verifyBlocks, type VerifyProgress, type VerifySummary } from './verify-chain.js';

/** Options shared by both sources. */
export interface VerifyOptions {
  readonly onProgress?: VerifyProgress;
  readonly poolSize?: number;
}

async function withPool<T>(options: VerifyOptions, run: (signatures: SignatureCache) => Promise<T>): Promise<T> {
  const pool = new VerifyPool(options.poolSize);
  try {
    return await run(new SignatureCache(pool));
  } finally {
    await pool.close();
  }
}

/** Verifies the chain in `dataDir`/chain.db from its blocks, then its stored state against the replay. */
export async function verifyDataDir(dataDir: string, options: VerifyOptions = {}): Promise<VerifySummary> {
  const path = join(dataDir, 'chain.db');
  if (!existsSync(path)) throw new Error(`${dataDir} holds no chain.db`);
  const executor = standardExecutor();
  const store = ChainStore.open(path, executor.tables, { readonly: true });
  try {
    return await withPool(options, async (signatures) => {
      const { summary, chain } = await verifyBlocks(storedBlocks(store), signatures, options.onProgress);
      compareStoredState(store, chain, executor.tables);
      return summary;
    });
  } finally {
    store.close();
  }
}

/** Verifies an export written by `chartchain export`. */
export async function verifyExportFile(path: string, options: VerifyOptions = {}): Promise<VerifySummary> {
  return withPool(options, async (signatures) => (await verifyBlocks(readExport(path), signatures, options.onProgress)).summary);
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
