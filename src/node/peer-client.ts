/**
 * How a node reaches the other organisations' nodes: where each answers (node.json's `peers`,
 * not on-chain, since hosts move) and a GET signed with this organisation's key
 * (src/node/peer-auth.ts). Blobs and blocks both travel this way.
 */
import type { SigningKey } from '../crypto/index.js';
import { signPeerRequest } from './peer-auth.js';

/** How a node reaches a peer: a GET with headers, answering the status and at most `sizeMax` bytes of body. */
export interface PeerTransport {
  get(
    url: string,
    headers: Record<string, string>,
    sizeMax: number,
  ): Promise<{ readonly status: number; readonly body?: Uint8Array }>;
}

/** A peer that does not answer within this long is skipped. */
export const PEER_FETCH_TIMEOUT_MS = 10_000;

/** HTTP through the runtime's fetch; a body longer than `sizeMax` is refused unread. */
export const httpTransport: PeerTransport = {
  async get(url, headers, sizeMax) {
    const response = await fetch(url, {
      headers,
      redirect: 'error',
      signal: AbortSignal.timeout(PEER_FETCH_TIMEOUT_MS),
    });
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (response.status !== 200 || length > sizeMax) {
      await response.body?.cancel();
      return { status: response.status === 200 ? 413 : response.status };
    }
    const body = new Uint8Array(await response.arrayBuffer());
    return body.byteLength > sizeMax ? { status: 413 } : { status: 200, body };
  },
};

/** Signed GETs to the other organisations' nodes. */
export class PeerClient {
  /** orgId → base URL of its node. */
  readonly #endpoints = new Map<string, string>();

  constructor(
    readonly orgId: string,
    private readonly signing: SigningKey,
    endpoints: Readonly<Record<string, string>>,
    private readonly transport: PeerTransport = httpTransport,
  ) {
    for (const [peer, url] of Object.entries(endpoints)) this.setEndpoint(peer, url);
  }

  /** Sets (or moves) where organisation `orgId`'s node answers. */
  setEndpoint(orgId: string, url: string): void {
    if (orgId !== this.orgId) this.#endpoints.set(orgId, url.replace(/\/$/, ''));
  }

  /** The organisations whose node this one knows how to reach, in id order. */
  peers(): string[] {
    return [...this.#endpoints.keys()].sort();
  }

  /** The 200 body of `GET path` at `orgId`'s node; undefined when it is unreachable, unknown or answers anything else. */
  async get(orgId: string, path: string, sizeMax: number): Promise<Uint8Array | undefined> {
    const base = this.#endpoints.get(orgId);
    if (base === undefined) return undefined;
    try {
      const answer = await this.transport.get(
        base + path,
        signPeerRequest(this.signing, this.orgId, 'GET', path),
        sizeMax,
      );
      return answer.status === 200 ? answer.body : undefined;
    } catch {
      return undefined; // unreachable: another peer may answer
    }
  }
}
