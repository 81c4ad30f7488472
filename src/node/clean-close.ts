/**
 * A chain database closed cleanly and not touched since needs no PRAGMA quick_check at the next
 * start. The check reads every page (29–84 s for the 7.3 GB chain.db of 10^6 versions), and
 * SQLite in WAL mode with synchronous=FULL leaves no damage behind a clean close. At a clean close
 * the node records the identity of the database and its WAL (inode, size, modification and change
 * times); at open it takes the record (deleting it), and skips the check only when both files are
 * exactly as recorded. A crash or a halt leaves no record, and a write to either file since
 * changes its times: each of those gets the full check. `chartchain verify --data` always runs it.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** Suffix of the record, next to the database: `chain.db.closed`. */
export const CLOSED_SUFFIX = '.closed';

/**
 * Records that the database at `path` was closed cleanly, as it is now. Best effort: without the
 * record (a full disk, a directory removed under the node) the next start only runs the check.
 */
export function markClosed(path: string): void {
  try {
    writeFileSync(path + CLOSED_SUFFIX, identityOf(path), { mode: 0o600 });
  } catch {
    rmSync(path + CLOSED_SUFFIX, { force: true });
  }
}

/** True when the database at `path` was closed cleanly and is unchanged since. The record is consumed either way. */
export function takeClosedMark(path: string): boolean {
  let recorded: string;
  try {
    recorded = readFileSync(path + CLOSED_SUFFIX, 'utf8');
  } catch {
    return false;
  }
  rmSync(path + CLOSED_SUFFIX, { force: true });
  return recorded === identityOf(path);
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
