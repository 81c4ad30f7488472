/**
 * Test support (not part of the public API): what is on disk, file by file, for tests that
 * prove something erased left no copy anywhere under a directory.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** The files under `dir` whose bytes contain `needle` (a string as UTF-8). */
export function filesHolding(dir: string, needle: string | Buffer): string[] {
  return filesUnder(dir).filter((file) => readFileSync(join(dir, file)).includes(needle));
}
