/** `chartchain export` and `chartchain verify`. */
import {
  ChainVerificationError,
  countBlocks,
  erasureLine,
  exportChain,
  verifyDataDir,
  verifyExportFile,
  type VerifyProgress,
  type VerifySummary,
} from '../verifier/index.js';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { ChainStore } from '../storage/index.js';
import { standardExecutor } from '../contracts/index.js';

function progressBar(
  enabled: boolean,
  total: number,
): { onProgress?: VerifyProgress; stop: () => void } {
  if (!enabled || total === 0) return { stop: () => {} };
  const bar = new SingleBar({
    format: 'verify [{bar}] {percentage}% | block {value}/{total} | {txs} txs',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0, { txs: 0 });
  return { onProgress: (height, txs) => bar.update(height + 1, { txs }), stop: () => bar.stop() };
}

function summaryLines(summary: VerifySummary): string {
  const ok = `ok: ${summary.blocks} blocks, ${summary.txs} transactions, log size ${summary.logSize}, logRoot ${summary.logRoot}, appHash ${summary.appHash}, genesis ${summary.genesisHash}`;
  return [ok, ...summary.erasures.map(erasureLine)].join('\n');
}

/** One `FAILED:` line per fault found, and how many more were not listed. */
function failedLines(error: ChainVerificationError): string {
  const lines = [error, ...error.further].map((fault) => `FAILED: ${fault.message}`);
  if (error.unlisted > 0) lines.push(`FAILED: and ${error.unlisted} more like these`);
  return lines.join('\n') + '\n';
}

async function verify(
  file: string | undefined,
  flags: { data?: string; progress?: boolean; genesisHash?: string },
): Promise<void> {
  const showProgress = flags.progress ?? process.stderr.isTTY === true;
  const dataDir = resolve(flags.data ?? './data');
  const bar = progressBar(showProgress, file === undefined ? countBlocks(dataDir) : 0);
  try {
    const options = bar.onProgress === undefined ? {} : { onProgress: bar.onProgress };
    const summary =
      file === undefined
        ? await verifyDataDir(dataDir, options)
        : await verifyExportFile(resolve(file), options);
    bar.stop();
    // Block 0 carries no signature of authority: it is trusted by the hash the operator pinned.
    if (flags.genesisHash !== undefined && summary.genesisHash !== flags.genesisHash)
      throw new ChainVerificationError(
        0,
        `genesis ${summary.genesisHash} is not the pinned genesis ${flags.genesisHash}`,
      );
    process.stdout.write(summaryLines(summary) + '\n');
  } catch (error) {
    bar.stop();
    if (!(error instanceof ChainVerificationError)) throw error;
    process.stdout.write(failedLines(error));
    process.exitCode = 2;
  }
}

/** Registers export and verify on `program`. */
export function registerChainCommands(program: Command): void {
  program
    .command('export')
    .description('write the whole chain to a portable JSON Lines file')
    .option('--data <dir>', 'data directory', './data')
    .requiredOption('--out <file>', 'file to write')
    .action((flags: { data: string; out: string }) => {
      const store = ChainStore.open(resolve(flags.data, 'chain.db'), standardExecutor().tables, {
        readonly: true,
      });
      try {
        process.stdout.write(
          `exported ${exportChain(store, resolve(flags.out))} blocks to ${flags.out}\n`,
        );
      } finally {
        store.close();
      }
    });

  program
    .command('verify [file]')
    .description(
      'rebuild the chain from scratch, trusting nothing the node stored (with --data also its state, log, SQLite file and blobs); exit 0 if good, 2 with a FAILED: line per fault',
    )
    .option('--data <dir>', 'data directory to verify (when no file is given)')
    .option('--progress', 'show a progress bar (default: when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .option(
      '--genesis-hash <hex>',
      'fail unless block 0 has this hash (the one `chartchain genesis` printed)',
    )
    .action(verify);
}
