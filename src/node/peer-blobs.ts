/**
 * Ciphertexts travel between organisations (DESIGN.md, "Nodes fetch missing ciphertext blobs
 * from peers over authenticated HTTP"). Serving: a blob goes only to a member organisation
 * holding a key envelope on a version with that hash. Fetching: each peer's answer must hash
 * to the on-chain value; a peer that sends anything else is named in an alarm and the next
 * peer is asked. Blobs wrapped to this organisation are fetched as their block commits; the
 * rest when first read.
 */
import { sha256Hex, type SigningKey } from '../crypto/index.js';
import { VERSION_TABLE, type VersionRow, type WriteSetEntry } from '../contracts/index.js';
import { BLOB_BYTES_MAX, BlobError, BlobMissingError, type BlobSource, type BlobStore } from '../storage/index.js';
import type { BlobAccessIndex } from './blob-access-index.js';
import { signPeerRequest } from './peer-auth.js';

/** How a node reaches a peer: a GET with headers, answering the status and at most `sizeMax` bytes of body. */
export interface PeerTransport {
  get(url: string, headers: Record<string, string>, sizeMax: number): Promise<{ readonly status: number; readonly body?: Uint8Array }>;
}

/** HTTP through the runtime's fetch; a body longer than `sizeMax` is refused unread. */
export const httpTransport: PeerTransport = {
  async get(url, headers, sizeMax) {
    const response = await fetch(url, { headers, redirect: 'error', signal: AbortSignal.timeout(PEER_FETCH_TIMEOUT_MS) });
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (response.status !== 200 || length > sizeMax) {
      await response.body?.cancel();
      return { status: response.status === 200 ? 413 : response.status };
    }
    const body = new Uint8Array(await response.arrayBuffer());
    return body.byteLength > sizeMax ? { status: 413 } : { status: 200, body };
  },
};

/** A peer that does not answer within this long is skipped. */
export const PEER_FETCH_TIMEOUT_MS = 10_000;

/** What peer blob exchange needs from its node. */
export interface PeerBlobHost {
  readonly orgId: string;
  readonly signing: SigningKey;
  readonly blobs: BlobStore;
  /** The newest committed row of a version, to learn its hash and size. */
  version(recordId: string, version: number): VersionRow | undefined;
  alarm(reason: string): void;
}

/** Tries of a fetch at commit before its alarm, and the first pause between them (doubling). */
const PROACTIVE_FETCH_ATTEMPTS_MAX = 6;
const PROACTIVE_FETCH_RETRY_DELAY_MS = 1_000;

/** Serving blobs to peers and fetching them from peers. */
export class NodePeerBlobs {
  /** orgId → base URL of its node. */
  readonly #endpoints = new Map<string, string>();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly host: PeerBlobHost,
    readonly index: BlobAccessIndex,
    endpoints: Readonly<Record<string, string>>,
    private readonly transport: PeerTransport = httpTransport,
  ) {
    for (const [orgId, url] of Object.entries(endpoints)) this.setEndpoint(orgId, url);
  }

  /** Sets (or moves) where organisation `orgId`'s node answers. */
  setEndpoint(orgId: string, url: string): void {
    if (orgId !== this.host.orgId) this.#endpoints.set(orgId, url.replace(/\/$/, ''));
  }

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

  /** Follows a committed block: the index learns its envelopes, and blobs wrapped to this organisation are fetched. */
  committed(writeSet: readonly WriteSetEntry[]): void {
    this.index.observe(writeSet);
    for (const [table, , value] of writeSet) {
      if (table !== VERSION_TABLE || value === null) continue;
      const version = value as unknown as VersionRow;
      if (version.ciphertextHash === null || !version.envelopes.some((envelope) => this.index.ownerOf(envelope.recipient) === this.host.orgId)) continue;
      void this.#ensureSoon(version);
    }
  }

  /**
   * Fetches a blob wrapped to this organisation, trying again with backoff before raising an
   * alarm: the peer holding it may be restarting, or not yet serving when its block commits here.
   * The timers never keep the process alive; a read fetches on demand in any case.
   */
  async #ensureSoon(version: VersionRow): Promise<void> {
    for (let attempt = 1, delayMs = PROACTIVE_FETCH_RETRY_DELAY_MS; ; attempt++, delayMs *= 2) {
      try {
        return await this.ensure(version);
      } catch (error) {
        if (attempt >= PROACTIVE_FETCH_ATTEMPTS_MAX) {
          this.host.alarm(`blob ${version.ciphertextHash} of record ${version.recordId} version ${version.version} not fetched after ${attempt} attempts: ${(error as Error).message}`);
          return;
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
    const hash = row.ciphertextHash!;
    if (this.host.blobs.has(hash)) return;
    let pending = this.#inFlight.get(hash);
    if (pending === undefined) {
      pending = this.host.blobs.getOrFetch(hash, this.#sourceFor(row)).then(() => undefined);
      this.#inFlight.set(hash, pending);
      void pending.finally(() => this.#inFlight.delete(hash)).catch(() => {});
    }
    await pending;
  }

  /** Asks the version's author organisation first, then every other peer; accepts only bytes with the on-chain hash. */
  #sourceFor(row: VersionRow): BlobSource {
    const sizeMax = Math.min(row.ciphertextSize ?? BLOB_BYTES_MAX, BLOB_BYTES_MAX);
    const peers = [...this.#endpoints.keys()].sort((a, b) => Number(b === row.author.org) - Number(a === row.author.org) || (a < b ? -1 : 1));
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
    const path = `/peer/blobs/${hash}`;
    let answer: { status: number; body?: Uint8Array };
    try {
      answer = await this.transport.get(this.#endpoints.get(orgId)! + path, signPeerRequest(this.host.signing, this.host.orgId, 'GET', path), sizeMax);
    } catch {
      return undefined; // unreachable: the next peer may have it
    }
    if (answer.status !== 200 || answer.body === undefined) return undefined;
    const actual = sha256Hex(answer.body);
    if (actual === hash) return answer.body;
    this.host.alarm(`peer ${orgId} sent blob ${hash} with content hashing to ${actual}: refused`);
    return undefined;
  }
}
