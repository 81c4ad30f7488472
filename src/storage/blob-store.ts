/**
 * The blob store: record ciphertexts on disk, addressed by their SHA-256 (DESIGN.md, "Record
 * contents ... stored off-chain, content-addressed"). Every read re-hashes, so a corrupt or
 * substituted blob is reported with its evidence instead of being served.
 *
 * Blobs are appended, framed (blob-frame.ts), to segment files, and located through an index
 * (blob-index.ts). Puts that arrive together share one append and one fsync (group commit);
 * a put resolves only once its bytes are durable. Erasure overwrites a blob's frame with zeros
 * in place and fsyncs it, so the bytes are gone from the disk, not just unlinked from a name.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isHex, sha256Hex, SHA256_BYTES } from '../crypto/index.js';
import { BlobIndex, type BlobLocation, type IndexedBlob } from './blob-index.js';
import {
  encodeFrame,
  erasedFrame,
  FRAME_HEADER_BYTES,
  readFrame,
  scanSegment,
} from './blob-frame.js';
import { fsyncDirectory } from './durable-file.js';
import {
  BLOB_APPEND_BYTES_MAX,
  BLOB_BYTES_MAX,
  STORED_HERE_REMEMBERED_MAX,
} from '../ledger/index.js';

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

/** Size past which a segment takes no more appends and the next one is started. */
export const SEGMENT_BYTES_TARGET = 64 * 1024 * 1024;
const INDEX_FILE = 'index.db';
const SEGMENT_PATTERN = /^(\d{8})\.segment$/;

export interface BlobStoreOptions {
  /** Look without changing anything, e.g. to verify a running node's blobs: no recovery, no writes. */
  readonly readOnly?: boolean;
  /** The clock stamped on each stored blob, which the garbage collector's grace period reads. */
  readonly now?: () => number;
  /** Size past which a new segment is started (tests make it small). */
  readonly segmentBytes?: number;
}

/** Where a blob's content is on disk: for operators and for tests that damage it on purpose. */
export interface BlobPlace {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

interface PendingPut {
  readonly hash: string;
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The segment appends go to: its id, file descriptor and the end of its last whole frame. */
interface ActiveSegment {
  readonly id: number;
  readonly fd: number;
  end: number;
}

const writeAt = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/**
 * Content-addressed store of immutable blobs under one directory: `<dir>/<8 digits>.segment`
 * files and `<dir>/index.db`. One writer process per directory.
 */
export class BlobStore {
  readonly dir: string;
  readonly #readOnly: boolean;
  readonly #now: () => number;
  readonly #segmentBytes: number;
  readonly #index: BlobIndex;
  readonly #fds = new Map<number, number>();
  readonly #queue: PendingPut[] = [];
  readonly #inFlight = new Map<string, Promise<string>>();
  /** Blobs put since this store opened, until takeStoredHere() asks (see there). */
  readonly #storedHere = new Set<string>();
  #active: ActiveSegment | undefined;
  #draining: Promise<void> | undefined;
  #closed = false;

  /** Opens (creating if needed) the store rooted at `dir`, indexing what a crash left unindexed. */
  constructor(dir: string, options: BlobStoreOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new TypeError('dir must be a non-empty path');
    this.dir = resolve(dir);
    this.#readOnly = options.readOnly === true;
    this.#now = options.now ?? Date.now;
    this.#segmentBytes = options.segmentBytes ?? SEGMENT_BYTES_TARGET;
    if (this.#readOnly) {
      const kept = existsSync(join(this.dir, INDEX_FILE));
      this.#index = new BlobIndex(kept ? join(this.dir, INDEX_FILE) : ':memory:', {
        readonly: kept,
      });
      if (!kept) this.#indexTails();
      return;
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#index = new BlobIndex(join(this.dir, INDEX_FILE));
    this.#active = this.#indexTails();
    this.#importFiles();
  }

  /**
   * Stores `bytes` durably and resolves to their lowercase hex SHA-256, once the segment holding
   * them is fsynced: a crash leaves either the whole blob or a torn tail that is never written over.
   * An intact existing copy is kept as is; a corrupt one is replaced (and the old frame erased).
   * Throws TypeError if `bytes` is not a Uint8Array, RangeError above BLOB_BYTES_MAX.
   */
  async put(bytes: Uint8Array): Promise<string> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    if (bytes.byteLength > BLOB_BYTES_MAX)
      throw new RangeError(
        `bytes must be at most ${BLOB_BYTES_MAX} bytes, got ${bytes.byteLength}`,
      );
    this.#writable();
    const hash = sha256Hex(bytes);
    const inFlight = this.#inFlight.get(hash);
    if (inFlight !== undefined) return inFlight;
    if (this.#isIntact(hash)) return hash;
    const stored = new Promise<string>((resolve, reject) => {
      this.#queue.push({ hash, bytes: bytes.slice(), resolve: () => resolve(hash), reject });
    })
      .then((stored) => this.#rememberStored(stored))
      .finally(() => this.#inFlight.delete(hash));
    this.#inFlight.set(hash, stored);
    this.#startDraining();
    return stored;
  }

  /** Starts appending queued puts unless that is under way; a put queued as it ends starts it again. */
  #startDraining(): void {
    if (this.#draining !== undefined) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0) this.#startDraining();
    });
  }

  /**
   * The blob named `hash`, re-hashed on every read.
   * Throws TypeError for a malformed hash, BlobMissingError when absent, BlobIntegrityError when
   * the stored bytes do not hash to `hash`.
   */
  get(hash: string): Uint8Array {
    const location = this.#locate(hash);
    const fd = location === undefined ? undefined : this.#fd(location.segment);
    const frame = fd === undefined ? undefined : readFrame(fd, location!.offset, location!.length);
    if (frame === undefined || !frame.live) throw new BlobMissingError(hash);
    const actualHash = sha256Hex(frame.content);
    if (actualHash !== hash) throw new BlobIntegrityError(hash, actualHash);
    return new Uint8Array(frame.content.buffer, frame.content.byteOffset, frame.content.byteLength);
  }

  /**
   * True, once, when this store durably stored `hash` since it opened: a caller that knows it
   * put a blob itself (a version this node wrote) need not look it up. False otherwise, which
   * proves nothing: the blob may be here from before, or the set may have been cleared.
   */
  takeStoredHere(hash: string): boolean {
    return this.#storedHere.delete(hash);
  }

  #rememberStored(hash: string): string {
    // Blobs no committed block names (refused writes) are never taken: the set is bounded.
    if (this.#storedHere.size >= STORED_HERE_REMEMBERED_MAX) this.#storedHere.clear();
    this.#storedHere.add(hash);
    return hash;
  }

  /** True when blob `hash` is indexed; its content is checked only by get(). Throws TypeError for a malformed hash. */
  has(hash: string): boolean {
    return this.#locate(hash) !== undefined;
  }

  /** Where blob `hash`'s content is on disk, or undefined. Throws TypeError for a malformed hash. */
  place(hash: string): BlobPlace | undefined {
    const location = this.#locate(hash);
    if (location === undefined) return undefined;
    return {
      path: this.#segmentPath(location.segment),
      offset: location.offset + FRAME_HEADER_BYTES,
      length: location.length,
    };
  }

  /** Every stored blob's hash, in hash order. */
  *hashes(): Generator<string> {
    for (const entry of this.#index.entries()) yield entry.hash;
  }

  /**
   * Erases blob `hash` durably: its frame is overwritten with zeros and fsynced before the index
   * forgets it. Returns false if it was not stored. Throws TypeError for a malformed hash.
   */
  delete(hash: string): boolean {
    this.#writable();
    const location = this.#locate(hash);
    if (location === undefined) return false;
    this.#erase([location]);
    this.#index.remove([hash]);
    this.#deleteIfEmpty([location]);
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
    if (!(fetched instanceof Uint8Array))
      throw new TypeError('source.fetchBlob must resolve to a Uint8Array or undefined');
    // Copy first: a hostile source could change its buffer between our hash check and our write.
    const bytes = fetched.slice();
    const actualHash = sha256Hex(bytes);
    if (actualHash !== hash) throw new BlobIntegrityError(hash, actualHash);
    assert.equal(await this.put(bytes), hash);
    return bytes;
  }

  /**
   * Records that committed blocks reference the blobs `hashes`, so the collector need not ask
   * about them again. Hashes not stored here are skipped. Throws TypeError for a malformed hash.
   */
  markAnchored(hashes: readonly string[]): void {
    this.#writable();
    for (const hash of hashes)
      if (!isHex(hash, SHA256_BYTES)) throw new TypeError('hash must be 64 lowercase hex digits');
    if (hashes.length > 0) this.#index.markAnchored(hashes);
  }

  /**
   * Erases every blob not marked anchored, stored more than `graceMs` before `now`, that
   * `isReferenced` says nothing references: a write in flight has stored its blob but not yet
   * committed the transaction that references it, and must not lose it. Those it keeps are
   * marked anchored; `isReferenced` is not called when there is nothing to ask about. A segment
   * left with no blob, by this or by delete(), is deleted. Returns how many blobs it erased, and how many it asked
   * about and kept. Throws RangeError for a negative grace.
   */
  collectGarbage(
    isReferenced: (hash: string) => boolean,
    options: { graceMs: number; now?: number },
  ): { deleted: number; kept: number } {
    if (!(options.graceMs >= 0))
      throw new RangeError('graceMs must be a non-negative number of milliseconds');
    this.#writable();
    const orphans: IndexedBlob[] = [];
    const kept: string[] = [];
    for (const entry of this.#index.unanchoredBefore(
      (options.now ?? this.#now()) - options.graceMs,
    )) {
      if (isReferenced(entry.hash)) kept.push(entry.hash);
      else orphans.push(entry);
    }
    this.#erase(orphans);
    this.#index.remove(orphans.map((entry) => entry.hash));
    this.#deleteIfEmpty(orphans);
    this.markAnchored(kept);
    return { deleted: orphans.length, kept: kept.length };
  }

  /** Waits for puts in flight, then closes the segment files and the index. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#draining;
    this.#closed = true;
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
    this.#index.close();
  }

  /** Appends queued puts, one group commit at a time, until none are left. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      try {
        await this.#append(batch);
        for (const put of batch) put.resolve();
      } catch (error) {
        for (const put of batch) put.reject(error);
      }
    }
  }

  /** The next puts to append: at least one, and no more than BLOB_APPEND_BYTES_MAX of frames after it. */
  #takeBatch(): PendingPut[] {
    let bytes = 0;
    let count = 0;
    while (
      count < this.#queue.length &&
      (count === 0 || bytes + this.#queue[count]!.bytes.byteLength <= BLOB_APPEND_BYTES_MAX)
    ) {
      bytes += this.#queue[count]!.bytes.byteLength + FRAME_HEADER_BYTES;
      count += 1;
    }
    return this.#queue.splice(0, count);
  }

  /** Appends `batch` to the active segment with one write and one fdatasync, then indexes it. */
  async #append(batch: readonly PendingPut[]): Promise<void> {
    const segment = this.#segmentForAppend();
    const { frames, blobs, end } = this.#layOut(segment, batch);
    try {
      let written = 0;
      while (written < frames.length)
        written += (
          await writeAt(segment.fd, frames, written, frames.length - written, segment.end + written)
        ).bytesWritten;
      await fdatasyncAsync(segment.fd);
    } catch (error) {
      // What reached the file is torn or unacknowledged: start the next append in a new segment.
      if (this.#active === segment) this.#active = undefined;
      throw error;
    }
    segment.end = end;
    this.#commit(segment.id, blobs, end);
  }

  /** The frames of `items` as one buffer to append at `segment.end`, with their index entries. */
  #layOut(
    segment: ActiveSegment,
    items: readonly { hash: string; bytes: Uint8Array }[],
  ): { frames: Buffer; blobs: IndexedBlob[]; end: number } {
    const storedAt = this.#now();
    const blobs: IndexedBlob[] = [];
    const parts: Buffer[] = [];
    let offset = segment.end;
    for (const { hash, bytes } of items) {
      const frame = encodeFrame(hash, bytes);
      blobs.push({ hash, segment: segment.id, offset, length: bytes.byteLength, storedAt });
      parts.push(frame);
      offset += frame.length;
    }
    return { frames: Buffer.concat(parts), blobs, end: offset };
  }

  /** Indexes `blobs`, now durable in segment `id` up to `end`, and erases older copies they replace. */
  #commit(id: number, blobs: readonly IndexedBlob[], end: number): void {
    const replaced = this.#index.add(id, blobs, end);
    if (replaced.length === 0 || this.#readOnly) return;
    this.#erase(replaced);
    this.#deleteIfEmpty(replaced);
  }

  /** The segment to append to: the active one while it is below its target size, else a new one. */
  #segmentForAppend(): ActiveSegment {
    if (this.#active !== undefined && this.#active.end < this.#segmentBytes) return this.#active;
    return (this.#active = this.#createSegment());
  }

  /** A new, empty segment after the last one; its name is durable before any frame in it counts. */
  #createSegment(): ActiveSegment {
    const id = Math.max(0, ...this.#segmentIds()) + 1;
    const fd = openSync(
      this.#segmentPath(id),
      constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
      0o600,
    );
    this.#fds.set(id, fd);
    fsyncDirectory(this.dir);
    return { id, fd, end: 0 };
  }

  /**
   * Indexes the frames each segment holds past its indexed end (a crash between a segment's
   * fsync and the index commit leaves such a tail), and returns the last segment as the one
   * to append to, unless a torn write ends it: then appends go to a new segment, so nothing
   * already written is ever overwritten.
   */
  #indexTails(): ActiveSegment | undefined {
    const ends = this.#index.indexedEnds();
    let last: ActiveSegment | undefined;
    for (const id of this.#segmentIds()) {
      const from = ends.get(id) ?? 0;
      const fd = this.#fd(id)!;
      const size = fstatSync(fd).size;
      const scan =
        size > from ? scanSegment(this.#segmentPath(id), from) : { frames: [], end: from };
      if (scan.end !== from)
        this.#commit(
          id,
          scan.frames.map((frame) => ({ ...frame, segment: id, storedAt: this.#now() })),
          scan.end,
        );
      last = scan.end === size ? { id, fd, end: size } : undefined;
    }
    return last;
  }

  /**
   * Moves blobs from the earlier layout, one file per blob under `<2 hex>/<64 hex>`, into a
   * segment, then removes the files (and temporary files a crashed write left).
   */
  #importFiles(): void {
    const shards = readdirSync(this.dir).filter((name) => SHARD_PATTERN.test(name));
    if (shards.length === 0) return;
    const items: { hash: string; bytes: Uint8Array }[] = [];
    const files: string[] = [];
    for (const shard of shards) {
      for (const name of readdirSync(join(this.dir, shard))) {
        const path = join(this.dir, shard, name);
        if (isHex(name, SHA256_BYTES) && name.startsWith(shard) && !this.has(name))
          items.push({ hash: name, bytes: readFileSync(path) });
        if (isHex(name, SHA256_BYTES) || TEMPORARY_PATTERN.test(name)) files.push(path);
      }
    }
    if (items.length > 0) {
      const segment = this.#createSegment();
      const { frames, blobs, end } = this.#layOut(segment, items);
      writeSync(segment.fd, frames, 0, frames.length, 0);
      fdatasyncSync(segment.fd);
      this.#commit(segment.id, blobs, end);
      this.#active = { ...segment, end };
    }
    for (const path of files) unlinkSync(path);
    for (const shard of shards)
      if (readdirSync(join(this.dir, shard)).length === 0) rmdirSync(join(this.dir, shard));
    fsyncDirectory(this.dir);
  }

  /** Overwrites the frames at `locations` with zeros, then fsyncs each segment touched once. */
  #erase(locations: readonly BlobLocation[]): void {
    const touched = new Set<number>();
    for (const location of locations) {
      const fd = this.#fd(location.segment);
      if (fd === undefined) continue;
      const zeros = erasedFrame(location.length);
      writeSync(fd, zeros, 0, zeros.length, location.offset);
      touched.add(fd);
    }
    for (const fd of touched) fdatasyncSync(fd);
  }

  /** Deletes each segment of `locations`, but the active one, that no longer holds an indexed blob. */
  #deleteIfEmpty(locations: readonly BlobLocation[]): void {
    const touched = new Set(locations.map((location) => location.segment));
    const empty = [...touched].filter((id) => id !== this.#active?.id && this.#index.isEmpty(id));
    for (const id of empty) {
      const fd = this.#fds.get(id);
      if (fd !== undefined) closeSync(fd);
      this.#fds.delete(id);
      unlinkSync(this.#segmentPath(id));
      this.#index.dropSegment(id);
    }
    if (empty.length > 0) fsyncDirectory(this.dir);
  }

  /** True when blob `hash` is stored and its content hashes to `hash`. */
  #isIntact(hash: string): boolean {
    if (!this.has(hash)) return false; // the common case on the write path, without an exception
    try {
      this.get(hash);
      return true;
    } catch (error) {
      if (error instanceof BlobError) return false;
      throw error;
    }
  }

  /** Where `hash` is, after validating it: a malformed hash never reaches the index or the disk. */
  #locate(hash: string): BlobLocation | undefined {
    if (!isHex(hash, SHA256_BYTES)) throw new TypeError('hash must be 64 lowercase hex digits');
    if (this.#closed) throw new Error('the blob store is closed');
    return this.#index.locate(hash);
  }

  /** The open descriptor of segment `id`, or undefined when its file is gone. */
  #fd(id: number): number | undefined {
    let fd = this.#fds.get(id);
    if (fd !== undefined) return fd;
    try {
      fd = openSync(this.#segmentPath(id), this.#readOnly ? 'r' : 'r+');
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    this.#fds.set(id, fd);
    return fd;
  }

  /** The ids of the segment files on disk, ascending. */
  #segmentIds(): number[] {
    return readdirSync(this.dir)
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  #segmentPath(id: number): string {
    return join(this.dir, `${String(id).padStart(8, '0')}.segment`);
  }

  #writable(): void {
    if (this.#readOnly) throw new Error('the blob store was opened read-only');
    if (this.#closed) throw new Error('the blob store is closed');
  }
}

/** A shard directory of the earlier layout: the first two hex digits of its blobs' hashes. */
const SHARD_PATTERN = /^[0-9a-f]{2}$/;
/** A temporary file of the earlier layout's writes: `<hash>.<16 hex>.tmp`. */
const TEMPORARY_PATTERN = /^[0-9a-f]{64}\.[0-9a-f]{16}\.tmp$/;

function isErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
