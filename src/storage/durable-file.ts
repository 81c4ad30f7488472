/** Atomic, durable file writes shared by the blob store and the keystore. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `bytes` to `path` atomically and durably with mode 0600: a uniquely named temporary
 * file in the same directory is written and fsynced, renamed over `path` (or, when `exclusive`,
 * hard-linked to it, which fails with EEXIST rather than replace an existing file), then the
 * directory is fsynced so the rename itself survives power loss. The temporary file is removed
 * on failure.
 */
export function writeFileDurably(path: string, bytes: Uint8Array, { exclusive = false }: { exclusive?: boolean } = {}): void {
  const temporaryPath = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporaryPath, 'wx', 0o600);
    try {
      for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
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

/**
 * writeFileDurably without blocking the event loop: the write and fsync run on libuv's thread
 * pool, so many writes in flight share the disk's flushes, and the directory fsync that makes
 * the rename durable goes through `directories`, which coalesces the renames of one directory.
 */
export async function writeFileDurablyAsync(path: string, bytes: Uint8Array, directories: DirectorySyncs): Promise<void> {
  const temporaryPath = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const file = await open(temporaryPath, 'wx', 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
  await directories.sync(dirname(path));
}

/**
 * Directory fsyncs shared between callers: a sync covers every entry change made before it
 * starts, so a caller joins the sync that has not started yet, or queues one behind the running
 * one. Under load, one fsync then makes hundreds of renames durable.
 */
export class DirectorySyncs {
  readonly #queued = new Map<string, Promise<void>>();
  readonly #running = new Map<string, Promise<void>>();

  /** Resolves once an fsync of `dir` that started after this call has finished. */
  sync(dir: string): Promise<void> {
    const queued = this.#queued.get(dir);
    if (queued !== undefined) return queued;
    const previous = this.#running.get(dir) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        this.#queued.delete(dir);
        const run = fsyncDirectoryAsync(dir);
        this.#running.set(dir, run);
        return run.finally(() => {
          if (this.#running.get(dir) === run) this.#running.delete(dir);
        });
      });
    this.#queued.set(dir, next);
    return next;
  }
}

async function fsyncDirectoryAsync(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
