/**
 * The portable export format: JSON Lines. The first line describes the export; each further
 * line is one block in canonical JSON, in height order. Anyone can verify it with
 * `chartchain verify FILE` and no access to the node.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { canonicalize } from '../crypto/index.js';
import type { ChainStore } from '../storage/index.js';
import { ChainVerificationError } from './verify-chain.js';

/** The first line of an export. */
export interface ExportPreamble {
  readonly format: 'chartchain-export';
  readonly version: 1;
  readonly blocks: number;
}

/** Writes every block of `store` to `path`. Returns the number of blocks written. */
export function exportChain(store: ChainStore, path: string): number {
  const head = store.head();
  const blocks = head === undefined ? 0 : head.height + 1;
  const fd = openSync(path, 'w', 0o644);
  try {
    const preamble: ExportPreamble = { format: 'chartchain-export', version: 1, blocks };
    writeSync(fd, JSON.stringify(preamble) + '\n');
    for (let height = 0; height < blocks; height++)
      writeSync(fd, canonicalize(store.block(height)!) + '\n');
  } finally {
    closeSync(fd);
  }
  return blocks;
}

/**
 * Reads an export's preamble and yields each block line as bytes. Throws on a file that is not
 * an export, and ChainVerificationError (after the blocks it does hold) when the file holds more
 * or fewer blocks than its preamble declares: a cut-off tail must not pass as a shorter chain.
 */
export function* readExport(path: string): Generator<Uint8Array, void, undefined> {
  const lines = readLines(path);
  const first = lines.next();
  let preamble: Partial<ExportPreamble> = {};
  try {
    preamble = JSON.parse(
      first.done === true ? '' : Buffer.from(first.value).toString('utf8'),
    ) as Partial<ExportPreamble>;
  } catch {
    // Reported below.
  }
  const declared = preamble.blocks;
  if (
    preamble.format !== 'chartchain-export' ||
    preamble.version !== 1 ||
    typeof declared !== 'number' ||
    !Number.isSafeInteger(declared) ||
    declared < 0
  ) {
    throw new Error(`${path} is not a ChartChain export (version 1)`);
  }
  let height = 0;
  for (const line of lines) {
    if (height === declared)
      throw new ChainVerificationError(
        height,
        `the export declares ${declared} blocks, yet holds more`,
      );
    yield line;
    height += 1;
  }
  if (height !== declared)
    throw new ChainVerificationError(
      height,
      `block ${height} is missing: the export declares ${declared} blocks`,
    );
}

function* readLines(path: string): Generator<Uint8Array, void, undefined> {
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let carry = Buffer.alloc(0);
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      let data = Buffer.concat([carry, chunk.subarray(0, read)]);
      for (let newline = data.indexOf(10); newline >= 0; newline = data.indexOf(10)) {
        yield new Uint8Array(data.subarray(0, newline));
        data = data.subarray(newline + 1);
      }
      carry = Buffer.from(data);
    }
    if (carry.length > 0) yield new Uint8Array(carry);
  } finally {
    closeSync(fd);
  }
}
