/** Atomic, durable file writes, and the directory fsync that makes a new name durable. */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `bytes` to `path` atomically and durably with mode 0600: a uniquely named temporary
 * file in the same directory is written and fsynced, renamed over `path` (or, when `exclusive`,
 * hard-linked to it, which fails with EEXIST rather than replace an existing file), then the
 * directory is fsynced so the rename itself survives power loss. The temporary file is removed
 * on failure.
 */
export function writeFileDurably(
  path: string,
  bytes: Uint8Array,
  { exclusive = false }: { exclusive?: boolean } = {},
): void {
  const temporaryPath = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporaryPath, 'wx', 0o600);
    try {
      for (let offset = 0; offset < bytes.byteLength;)
        offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (exclusive) {
      linkSync(temporaryPath, path);
      unlinkSync(temporaryPath);
    } else {
      renameSync(temporaryPath, path);
    }
  } catch (error) {
    try {
      unlinkSync(temporaryPath);
    } catch {
      // Already renamed or never created; the original error is the one worth reporting.
    }
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/** fsync of a directory, which makes the creation, rename or removal of its entries durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
