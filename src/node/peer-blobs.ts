/**
 * Ciphertexts travel between organisations (DESIGN.md, "Nodes fetch missing ciphertext blobs
 * from peers over authenticated HTTP"). Serving: a blob goes only to a member organisation
 * holding a key envelope on a version or a sealed note with that hash. Fetching: each peer's answer must hash
 * to the on-chain value; a peer that sends anything else is named in an alarm and the next
 * peer is asked. Blobs wrapped to this organisation are fetched as their block commits; the
 * rest when first read.
 */
import { sha256Hex } from '../crypto/index.js';
import {
  BREAK_THE_GLASS,
  VERSIONS,
  sealedNotesOf,
  type KeyEnvelope,
  type VersionRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import { BlobError, BlobMissingError, type BlobSource, type BlobStore } from '../storage/index.js';
import type { BlobAccessIndex } from './blob-access-index.js';
import type { PeerClient } from './peer-client.js';
import { BLOB_BYTES_MAX, PROACTIVE_FETCH_ATTEMPTS_MAX } from '../ledger/index.js';

/** What peer blob exchange needs from its node. */
export interface PeerBlobHost {
  readonly orgId: string;
  readonly blobs: BlobStore;
  /** The newest committed row of a version, to learn its hash and size. */
  version(recordId: string, version: number): VersionRow | undefined;
  alarm(reason: string): void;
}

const PROACTIVE_FETCH_RETRY_DELAY_MS = 1_000;

/** Serving blobs to peers and fetching them from peers. */
export class NodePeerBlobs {
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #arrivals = new Set<(version: VersionRow) => void>();

  constructor(
    private readonly host: PeerBlobHost,
    readonly index: BlobAccessIndex,
    private readonly peers: PeerClient,
  ) {}

  /** The ciphertext `hash` for organisation `orgId`, or undefined (answered as 404) when it holds no envelope on it or this node lacks it. */
  serve(orgId: string, hash: string): Uint8Array | undefined {
    if (!this.index.mayFetch(orgId, hash)) return undefined;
    try {
      return this.host.blobs.get(hash);
    } catch (error) {
      if (error instanceof BlobError) return undefined;
      throw error;
    }
  }

  /**
   * Follows a committed block: the index learns its envelopes, and blobs wrapped to this
   * organisation (or a patient it keeps the keys of) are fetched: record versions, and the
   * sealed notes of another organisation's break-the-glass on a patient of this one. A version
   * whose blob this node put since it started needs not even a lookup.
   */
  committed(writeSet: readonly WriteSetEntry[]): void {
    this.index.observe(writeSet);
    for (const [table, , value] of writeSet) {
      const version = VERSIONS.rowOf(table, value);
      const row = BREAK_THE_GLASS.rowOf(table, value);
      if (version !== undefined) {
        if (
          version.ciphertextHash !== null &&
          !this.host.blobs.takeStoredHere(version.ciphertextHash) &&
          this.#wrappedHere(version.envelopes)
        )
          void this.#ensureSoon(version);
      } else if (row !== undefined) {
        if (row.org === this.host.orgId) continue;
        for (const note of sealedNotesOf(row).filter((candidate) =>
          this.#wrappedHere(candidate.envelopes),
        )) {
          void this.#retrying(
            `sealed note ${note.ciphertextHash} of break-the-glass ${row.btgId}`,
            () => this.ensureBlob(note.ciphertextHash, note.ciphertextSize, row.org),
          );
        }
      }
    }
  }

  #wrappedHere(envelopes: readonly KeyEnvelope[]): boolean {
    return envelopes.some((envelope) => this.index.ownerOf(envelope.recipient) === this.host.orgId);
  }

  /**
   * Calls `listener` once the ciphertext of each version wrapped to this organisation and
   * written by another organisation is here (the search index learns remote records so).
   * Returns the function that stops it.
   */
  onArrival(listener: (version: VersionRow) => void): () => void {
    this.#arrivals.add(listener);
    return () => this.#arrivals.delete(listener);
  }

  /**
   * Fetches a blob wrapped to this organisation, trying again with backoff before raising an
   * alarm: the peer holding it may be restarting, or not yet serving when its block commits here.
   * The timers never keep the process alive; a read fetches on demand in any case.
   */
  async #ensureSoon(version: VersionRow): Promise<void> {
    const fetched = await this.#retrying(
      `blob ${version.ciphertextHash} of record ${version.recordId} version ${version.version}`,
      () => this.ensure(version),
    );
    if (fetched && version.author.org !== this.host.orgId)
      this.#arrivals.forEach((listener) => listener(version));
  }

  /** Runs `fetch` until it succeeds, with backoff; after the last attempt, an alarm naming `what`. Resolves with whether it succeeded. */
  async #retrying(what: string, fetch: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1, delayMs = PROACTIVE_FETCH_RETRY_DELAY_MS; ; attempt++, delayMs *= 2) {
      try {
        await fetch();
        return true;
      } catch (error) {
        if (attempt >= PROACTIVE_FETCH_ATTEMPTS_MAX) {
          this.host.alarm(
            `${what} not fetched after ${attempt} attempts: ${(error as Error).message}`,
          );
          return false;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
    }
  }

  /** Makes sure the ciphertext of `recordId` version `version` is stored here, fetching it from peers if needed. */
  async ensureVersion(recordId: string, version: number): Promise<void> {
    const row = this.host.version(recordId, version);
    if (row?.ciphertextHash !== null && row !== undefined) await this.ensure(row).catch(() => {}); // the read reports what is missing
  }

  /** Stores the ciphertext of `row` here unless it already is. Rejects with BlobMissingError when no peer has a genuine copy. */
  async ensure(row: VersionRow): Promise<void> {
    await this.ensureBlob(
      row.ciphertextHash!,
      row.ciphertextSize ?? BLOB_BYTES_MAX,
      row.author.org,
    );
  }

  /**
   * Stores blob `hash` (at most `sizeMax` bytes) here unless it already is, asking `authorOrg`
   * first, then every other peer; only bytes with that hash are accepted. Rejects with
   * BlobMissingError when no peer has a genuine copy.
   */
  async ensureBlob(hash: string, sizeMax: number, authorOrg: string): Promise<void> {
    if (this.host.blobs.has(hash)) return;
    let pending = this.#inFlight.get(hash);
    if (pending === undefined) {
      // Only hashes committed state names are fetched: the copy is anchored from the start.
      pending = this.host.blobs
        .getOrFetch(hash, this.#sourceFor(Math.min(sizeMax, BLOB_BYTES_MAX), authorOrg))
        .then(() => this.host.blobs.markAnchored([hash]));
      this.#inFlight.set(hash, pending);
      void pending.finally(() => this.#inFlight.delete(hash)).catch(() => {});
    }
    await pending;
  }

  #sourceFor(sizeMax: number, authorOrg: string): BlobSource {
    const peers = this.peers
      .peers()
      .sort((a, b) => Number(b === authorOrg) - Number(a === authorOrg));
    return {
      fetchBlob: async (hash) => {
        for (const orgId of peers) {
          const bytes = await this.#fetchFrom(orgId, hash, sizeMax);
          if (bytes !== undefined) return bytes;
        }
        throw new BlobMissingError(hash);
      },
    };
  }

  async #fetchFrom(orgId: string, hash: string, sizeMax: number): Promise<Uint8Array | undefined> {
    const body = await this.peers.get(orgId, `/peer/blobs/${hash}`, sizeMax);
    if (body === undefined) return undefined;
    const actual = sha256Hex(body);
    if (actual === hash) return body;
    this.host.alarm(`peer ${orgId} sent blob ${hash} with content hashing to ${actual}: refused`);
    return undefined;
  }
}
