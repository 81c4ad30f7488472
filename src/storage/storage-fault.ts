/**
 * What a storage failure means for the node, whichever store raised it: a full disk (the write
 * can be retried once space is freed, and nothing acknowledged is lost) or a damaged file (its
 * contents can no longer be trusted). Both come as error codes: errno from node:fs (ENOSPC,
 * EDQUOT) and the primary result codes of SQLite (SQLITE_FULL, SQLITE_CORRUPT, SQLITE_NOTADB).
 */

/** The kinds of storage fault the node reacts to; anything else is not a storage fault. */
export type StorageFaultKind = 'disk-full' | 'damaged';

const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** SQLite's extended codes share the primary code's prefix (SQLITE_CORRUPT_INDEX, …). */
const DAMAGED_CODE = /^SQLITE_(CORRUPT|NOTADB)(_|$)/;

/** The kind of storage fault `error` is (looking through `cause` chains), or undefined. */
export function storageFaultOf(error: unknown): StorageFaultKind | undefined {
  for (
    let current = error, depth = 0;
    current instanceof Error && depth < 8;
    current = current.cause, depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (DISK_FULL_CODES.has(code)) return 'disk-full';
    if (DAMAGED_CODE.test(code)) return 'damaged';
  }
  return undefined;
}

/** True when `error` says the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  return storageFaultOf(error) === 'disk-full';
}

/** An ENOSPC error like the one node:fs raises: for tests that inject a full disk. */
export function diskFullError(syscall = 'write'): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, ${syscall}`);
  error.code = 'ENOSPC';
  error.errno = -28;
  error.syscall = syscall;
  return error;
}

const damageListeners = new Set<() => void>();

/**
 * Calls `listener` whenever a store is reported damaged while the process serves (see
 * reportDamage), so the node can distrust its files at the next start. Returns the unsubscribe.
 */
export function onDamageReported(listener: () => void): () => void {
  damageListeners.add(listener);
  return () => damageListeners.delete(listener);
}

/** Reports that a request met a damaged store (a 'damaged' storage fault) and was answered 500. */
export function reportDamage(): void {
  for (const listener of damageListeners) listener();
}
