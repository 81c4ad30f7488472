/**
 * The blob store: record ciphertexts on disk, addressed by their SHA-256 (DESIGN.md, "Record
 * contents ... stored off-chain, content-addressed"). Every read re-hashes, so a corrupt or
 * substituted file is reported with its evidence instead of being served.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isHex, sha256Hex, SHA256_BYTES } from '../crypto/index.js';
import { DirectorySyncs, fsyncDirectory, writeFileDurablyAsync } from './durable-file.js';

/** Largest blob accepted by put() or from a BlobSource: bounds memory per read and per fetch. */
export const BLOB_BYTES_MAX = 64 * 1024 * 1024;

/** Base class of the failures a blob read can report. */
export class BlobError extends Error {
  constructor(
    message: string,
    readonly hash: string,
  ) {
    super(message);
    this.name = 'BlobError';
  }
}

/** The blob named `hash` is not stored here. */
export class BlobMissingError extends BlobError {
  constructor(hash: string) {
    super(`blob ${hash} is missing`, hash);
    this.name = 'BlobMissingError';
  }
}

/** The bytes found for `hash` (on disk or from a source) hash to `actualHash` instead. */
export class BlobIntegrityError extends BlobError {
  constructor(
    hash: string,
    readonly actualHash: string,
  ) {
    super(`blob ${hash} failed its integrity check: content hashes to ${actualHash}`, hash);
    this.name = 'BlobIntegrityError';
  }
}

/** Somewhere else a missing blob may be found, such as a peer node. Its answers are not trusted. */
export interface BlobSource {
  /** The bytes claimed to be blob `hash`, or undefined when the source does not have it. */
  fetchBlob(hash: string): Promise<Uint8Array | undefined>;
}

/**
 * Content-addressed store of immutable blobs under one directory, laid out as
 * `<dir>/<first two hex digits>/<64 hex digits>`. One writer process per directory.
 */
export class BlobStore {
  readonly dir: string;
  readonly #directories = new DirectorySyncs();

  /** Opens (creating if needed) the store rooted at `dir`. */
  constructor(dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty path');
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Stores `bytes` durably and resolves to their lowercase hex SHA-256. The file appears under
   * its final name only once complete and fsynced, and the promise resolves only once the rename
   * is durable too, so a crash leaves either the whole blob or none. Concurrent puts share
   * directory fsyncs. An intact existing copy is kept as is; a corrupt one is replaced.
   * Throws TypeError if `bytes` is not a Uint8Array, RangeError above BLOB_BYTES_MAX.
   */
  async put(bytes: Uint8Array): Promise<string> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    if (bytes.byteLength > BLOB_BYTES_MAX) throw new RangeError(`bytes must be at most ${BLOB_BYTES_MAX} bytes, got ${bytes.byteLength}`);
    const hash = sha256Hex(bytes);
    if (this.#isIntact(hash)) return hash;
    const path = this.#pathOf(hash);
    const shardDir = dirname(path);
    // mkdirSync returns the first directory it created: only then is there a new entry in the root to sync.
    if (mkdirSync(shardDir, { recursive: true, mode: 0o700 }) !== undefined) await this.#directories.sync(this.dir);
    await writeFileDurablyAsync(path, bytes, this.#directories);
    return hash;
  }

  /**
   * The blob named `hash`, re-hashed on every read.
   * Throws TypeError for a malformed hash, BlobMissingError when absent, BlobIntegrityError when
   * the stored bytes do not hash to `hash`.
   */
  get(hash: string): Uint8Array {
    const path = this.#pathOf(hash);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) throw new BlobMissingError(hash);
      throw error;
    }
    const actualHash = sha256Hex(bytes);
    if (actualHash !== hash) throw new BlobIntegrityError(hash, actualHash);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when a file for `hash` exists; its content is checked only by get(). Throws TypeError for a malformed hash. */
  has(hash: string): boolean {
    try {
      return statSync(this.#pathOf(hash)).isFile();
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /**
   * Deletes blob `hash` durably (erasure). Returns false if it was not stored.
   * Throws TypeError for a malformed hash.
   */
  delete(hash: string): boolean {
    const path = this.#pathOf(hash);
    try {
      unlinkSync(path);
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) return false;
      throw error;
    }
    fsyncDirectory(dirname(path));
    return true;
  }

  /**
   * The blob named `hash`, asking `source` when it is not stored here. Fetched bytes are
   * accepted only if they hash to `hash`; they are then stored and returned.
   * Throws what get() throws; BlobMissingError if there is no source or the source lacks it;
   * BlobIntegrityError if the source's bytes hash to anything else; RangeError if they are
   * genuine but above BLOB_BYTES_MAX (the source should bound its download). A corrupt local copy is
   * reported, not silently refetched: that is a storage failure the operator must see.
   */
  async getOrFetch(hash: string, source?: BlobSource): Promise<Uint8Array> {
    try {
      return this.get(hash);
    } catch (error) {
      if (!(error instanceof BlobMissingError) || source === undefined) throw error;
    }
    const fetched = await source.fetchBlob(hash);
    if (fetched === undefined) throw new BlobMissingError(hash);
    if (!(fetched instanceof Uint8Array)) throw new TypeError('source.fetchBlob must resolve to a Uint8Array or undefined');
    // Copy first: a hostile source could change its buffer between our hash check and our write.
    const bytes = fetched.slice();
    const actualHash = sha256Hex(bytes);
    if (actualHash !== hash) throw new BlobIntegrityError(hash, actualHash);
    assert.equal(await this.put(bytes), hash);
    return bytes;
  }

  /**
   * Deletes every blob `isReferenced` says nothing references, and every temporary file a
   * crashed write left, provided its file was last modified more than `graceMs` before `now`:
   * a write in flight has stored its blob but not yet committed the transaction that
   * references it, and must not lose it. Returns how many files it deleted and kept.
   * Throws RangeError for a negative grace.
   */
  collectGarbage(isReferenced: (hash: string) => boolean, options: { graceMs: number; now?: number }): { deleted: number; kept: number } {
    if (!(options.graceMs >= 0)) throw new RangeError('graceMs must be a non-negative number of milliseconds');
    const cutoff = (options.now ?? Date.now()) - options.graceMs;
    const result = { deleted: 0, kept: 0 };
    for (const shard of readdirSync(this.dir).filter((name) => SHARD_PATTERN.test(name))) {
      const shardDir = join(this.dir, shard);
      let deletedHere = 0;
      for (const name of readdirSync(shardDir)) {
        const orphan = TEMPORARY_PATTERN.test(name) || (isHex(name, SHA256_BYTES) && name.startsWith(shard) && !isReferenced(name));
        if (!orphan || !this.#unlinkIfOlder(join(shardDir, name), cutoff)) result.kept += 1;
        else deletedHere += 1;
      }
      if (deletedHere > 0) fsyncDirectory(shardDir);
      result.deleted += deletedHere;
    }
    return result;
  }

  /** Unlinks `path` if it was last modified before `cutoff` (ms since the epoch); false if it is newer or gone. */
  #unlinkIfOlder(path: string, cutoff: number): boolean {
    try {
      if (statSync(path).mtimeMs >= cutoff) return false;
      unlinkSync(path);
      return true;
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** True when the file for `hash` exists and its content hashes to `hash`. */
  #isIntact(hash: string): boolean {
    try {
      this.get(hash);
      return true;
    } catch (error) {
      if (error instanceof BlobError) return false;
      throw error;
    }
  }

  /** The file path of `hash`. Validating here, once, is what makes path traversal impossible. */
  #pathOf(hash: string): string {
    if (!isHex(hash, SHA256_BYTES)) throw new TypeError('hash must be 64 lowercase hex digits');
    return join(this.dir, hash.slice(0, 2), hash);
  }
}

/** A shard directory: the first two hex digits of its blobs' hashes. */
const SHARD_PATTERN = /^[0-9a-f]{2}$/;
/** A temporary file of writeFileDurably: `<hash>.<16 hex>.tmp`. */
const TEMPORARY_PATTERN = /^[0-9a-f]{64}\.[0-9a-f]{16}\.tmp$/;

function isErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
