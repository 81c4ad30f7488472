/**
 * A chain database needs no PRAGMA quick_check at the next start when SQLite's own recovery is
 * all it can need. The check reads every page (29–84 s for the 7.3 GB chain.db of 10^6
 * versions). SQLite in WAL mode with synchronous=FULL leaves no damage behind:
 * - a clean close. At a clean close the node records the identity of the database and its WAL
 *   (inode, size, modification and change times); at open it takes the record (deleting it), and
 *   skips the check only when both files are exactly as recorded;
 * - a process that died (SIGKILL, out of memory) while the operating system kept running: every
 *   write it made is in the page cache or on disk, as SQLite left it, and SQLite recovers from
 *   that by design. Once a node has opened the database it records the boot it runs in
 *   (`/proc/sys/kernel/random/boot_id`) and the database file (inode and birth time); the next
 *   open skips the check when both are the same. A power cut or an operating-system crash starts
 *   a new boot, and writes the page cache held may be lost or torn: those get the check.
 * A halt, a process exiting on an error, or a store reported damaged while serving removes the
 * second record, and the node then writes no clean-close record either; a clean close removes
 * the second (its own then stands alone); a write to either file since a clean close changes its
 * times: each of those gets the full check. So does a system without a boot id. `chartchain verify
 * --data` always runs it. A chain.db put in place by hand (not by `chartchain restore`, which
 * makes a new directory) is a new file, but its old WAL is not: remove `chain.db-wal` with it.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** Suffix of the record, next to the database: `chain.db.closed`. */
export const CLOSED_SUFFIX = '.closed';
/** Suffix of the record of the boot a node has the database open in: `chain.db.open`. */
export const OPEN_SUFFIX = '.open';
/** Where Linux names the current boot: a random UUID drawn at each boot. */
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/**
 * Records that the database at `path` was closed cleanly, as it is now. Best effort: without the
 * record (a full disk, a directory removed under the node) the next start only runs the check.
 */
export function markClosed(path: string): void {
  writeMark(path + CLOSED_SUFFIX, identityOf(path));
}

/** True when the database at `path` was closed cleanly and is unchanged since. The record is consumed either way. */
export function takeClosedMark(path: string): boolean {
  const recorded = takeMark(path + CLOSED_SUFFIX);
  return recorded !== undefined && recorded === identityOf(path);
}

function identityOf(path: string): string {
  return JSON.stringify(
    [path, `${path}-wal`].map((file) => {
      const stat = statSync(file, { bigint: true, throwIfNoEntry: false });
      return stat === undefined
        ? null
        : [stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs].map(String);
    }),
  );
}

/**
 * Records, as a node opens the database at `path` for writing, the boot it runs in. Best effort:
 * without the record (no boot id, a full disk) the next start after a crash only runs the check.
 */
export function markOpen(path: string): void {
  writeMark(path + OPEN_SUFFIX, bootOf(path));
}

/** Removes the record of markOpen: a halt, or a clean close (which leaves its own). */
export function removeOpenMark(path: string): void {
  rmSync(path + OPEN_SUFFIX, { force: true });
}

/**
 * True when the last process that had the database at `path` open stopped in this same boot of
 * the operating system, and the database is the same file. The record is consumed either way.
 */
export function takeOpenMark(path: string): boolean {
  const recorded = takeMark(path + OPEN_SUFFIX);
  return recorded !== undefined && recorded === bootOf(path);
}

/** Writes `content` to the record `file`, owner-only; without content, or failing, no record is left. */
function writeMark(file: string, content: string | undefined): void {
  try {
    if (content !== undefined) return writeFileSync(file, content, { mode: 0o600 });
  } catch {
    // A full disk, a directory removed under the node: no record, so the next start checks.
  }
  rmSync(file, { force: true });
}

/** The content of the record `file`, which is deleted; undefined when there was none. */
function takeMark(file: string): string | undefined {
  let recorded: string;
  try {
    recorded = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  rmSync(file, { force: true });
  return recorded;
}

/** This boot's id and the database file's identity, or undefined when the system names no boot. */
function bootOf(path: string): string | undefined {
  let bootId: string;
  try {
    bootId = readFileSync(BOOT_ID_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
  const file = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (bootId === '' || file === undefined) return undefined;
  // The inode and its birth: a file put in its place since, even on a reused inode, differs.
  return JSON.stringify([bootId, String(file.ino), String(file.birthtimeNs)]);
}
