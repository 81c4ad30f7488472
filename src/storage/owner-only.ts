/**
 * Owner-only data: a node's directory holds health data in plaintext (the search index) and
 * keys, so every file it writes is mode 0600 and every directory 0700. New files get that from
 * the process umask; files written by older versions are corrected when the node opens.
 */
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The umask a node runs under: nothing for group or others. */
export const OWNER_ONLY_UMASK = 0o077;
/** Mode of every file in a data directory. */
export const OWNER_ONLY_FILE_MODE = 0o600;
/** Mode of every directory in a data directory. */
export const OWNER_ONLY_DIRECTORY_MODE = 0o700;

/** Makes every file the process creates from now on owner-only, whatever mode its creator asks for. */
export function restrictUmask(): void {
  process.umask(OWNER_ONLY_UMASK);
}

/** Which entries of a data directory are the node's, and which of its directories to trust. */
export interface OwnerOnlyOptions {
  /** True for the names of top-level entries the node wrote; nothing else is touched. */
  readonly owns: (name: string) => boolean;
  /**
   * Top-level directories that, once 0700, are not descended into: this process wrote their
   * contents under the owner-only umask, and they can hold a file per blob, too many to stat at
   * every start.
   */
  readonly trustedWhenOwnerOnly?: readonly string[];
}

/**
 * Sets `dataDir`, and the entries `options.owns` names with everything beneath them, to
 * owner-only modes, so an operator who points the node at a shared directory loses no other
 * file's mode. Symbolic links are left alone (they have no mode of their own and are not
 * followed). A directory is changed after its contents, so a pass cut short is finished by the
 * next. Returns how many modes it changed. Throws what the file system throws, but for a file
 * removed while it runs.
 */
export function makeOwnerOnly(dataDir: string, options: OwnerOnlyOptions): number {
  const trusted = new Set(options.trustedWhenOwnerOnly ?? []);
  let changed = 0;
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!options.owns(entry.name)) continue;
    const path = join(dataDir, entry.name);
    if (
      entry.isDirectory() &&
      trusted.has(entry.name) &&
      modeOf(path) === OWNER_ONLY_DIRECTORY_MODE
    )
      continue;
    if (entry.isDirectory()) changed += restrictTree(path);
    else if (entry.isFile()) changed += restrict(path, OWNER_ONLY_FILE_MODE);
  }
  return changed + restrict(dataDir, OWNER_ONLY_DIRECTORY_MODE);
}

function restrictTree(dir: string): number {
  let changed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) changed += restrictTree(path);
    else if (entry.isFile()) changed += restrict(path, OWNER_ONLY_FILE_MODE);
  }
  return changed + restrict(dir, OWNER_ONLY_DIRECTORY_MODE);
}

/**
 * Gives `path` `mode`; 1 if that changed it. A file gone since the directory was listed (SQLite
 * removes a database's -wal and -shm as its last connection closes, maybe on another thread) has
 * no mode left to restrict: 0.
 */
function restrict(path: string, mode: number): number {
  try {
    if (modeOf(path) === mode) return 0;
    chmodSync(path, mode);
    return 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

function modeOf(path: string): number {
  return lstatSync(path).mode & 0o777;
}
