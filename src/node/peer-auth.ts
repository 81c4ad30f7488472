/**
 * Node-authenticated peer requests. A node signs each request to a peer with its organisation's
 * Ed25519 key over `method, path, orgId, timestamp, nonce`, sent as headers. The key is already
 * on-chain, so every node can check any other without a PKI, TLS client certificates or shared
 * secrets, and removing an organisation by vote revokes its access at the next block. A stale
 * timestamp or a nonce seen before is refused, so a captured request cannot be replayed.
 */
import { randomBytes } from 'node:crypto';
import {
  canonicalBytes,
  concatBytes,
  fromHex,
  isHex,
  publicKeyFromRaw,
  sign,
  toHex,
  utf8,
  verify,
  type SigningKey,
} from '../crypto/index.js';
import { ORGS, type StateReader } from '../contracts/index.js';
import { PEER_NONCE_COUNT_MAX } from '../ledger/index.js';

/** The request headers, lowercase as HTTP/2 and Node's parser give them. */
export const PEER_HEADERS = {
  org: 'x-chartchain-org',
  timestamp: 'x-chartchain-timestamp',
  nonce: 'x-chartchain-nonce',
  signature: 'x-chartchain-signature',
} as const;

/** How far a request's timestamp may be from the receiver's clock, either way. */
export const PEER_REQUEST_SKEW_MS = 60_000;
const NONCE_BYTES = 16;

// Domain separation: a peer-request signature never passes as a transaction, block or checkpoint signature.
const PEER_REQUEST_CONTEXT = utf8('chartchain/peer-request/v1\n');

/** What a peer request signature covers. */
export interface PeerRequestFields {
  readonly method: string;
  /** Path and query, exactly as sent. */
  readonly path: string;
  readonly orgId: string;
  readonly timestamp: number;
  readonly nonce: string;
}

/** Why a peer request was refused. */
export type PeerAuthRefusal =
  | 'missing-headers'
  | 'stale-timestamp'
  | 'unknown-organisation'
  | 'bad-signature'
  | 'replayed-nonce'
  | 'busy';

/** The bytes a peer request signature covers. */
export function peerRequestMessage(fields: PeerRequestFields): Uint8Array {
  const { method, path, orgId, timestamp, nonce } = fields;
  return concatBytes(
    PEER_REQUEST_CONTEXT,
    canonicalBytes({ method: method.toUpperCase(), path, orgId, timestamp, nonce }),
  );
}

/** The headers authenticating `method path` as organisation `orgId`, signed with its key now. */
export function signPeerRequest(
  key: SigningKey,
  orgId: string,
  method: string,
  path: string,
  now = Date.now(),
): Record<string, string> {
  const fields = { method, path, orgId, timestamp: now, nonce: toHex(randomBytes(NONCE_BYTES)) };
  return {
    [PEER_HEADERS.org]: orgId,
    [PEER_HEADERS.timestamp]: String(fields.timestamp),
    [PEER_HEADERS.nonce]: fields.nonce,
    [PEER_HEADERS.signature]: toHex(sign(key, peerRequestMessage(fields))),
  };
}

/** Checks peer requests against the active member organisations' keys in committed state. */
export class PeerRequestVerifier {
  /** nonce → when it may be forgotten (its timestamp can no longer pass the skew check). */
  readonly #nonces = new Map<string, number>();

  constructor(
    private readonly state: StateReader,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The organisation that signed the request, or why it was refused. */
  verify(
    method: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): { ok: true; orgId: string } | { ok: false; reason: PeerAuthRefusal } {
    const [orgId, timestampText, nonce, signature] = [
      PEER_HEADERS.org,
      PEER_HEADERS.timestamp,
      PEER_HEADERS.nonce,
      PEER_HEADERS.signature,
    ].map((name) => headers[name]);
    if (
      typeof orgId !== 'string' ||
      typeof timestampText !== 'string' ||
      !isHex(nonce, NONCE_BYTES) ||
      !isHex(signature, 64) ||
      !/^[0-9]{1,16}$/.test(timestampText)
    )
      return { ok: false, reason: 'missing-headers' };
    const timestamp = Number(timestampText);
    const now = this.clock();
    if (Math.abs(now - timestamp) > PEER_REQUEST_SKEW_MS)
      return { ok: false, reason: 'stale-timestamp' };
    const org = ORGS.get(this.state, orgId);
    if (org?.status !== 'active') return { ok: false, reason: 'unknown-organisation' };
    const message = peerRequestMessage({ method, path, orgId, timestamp, nonce });
    if (!verify(publicKeyFromRaw(fromHex(org.signingKey)), message, fromHex(signature)))
      return { ok: false, reason: 'bad-signature' };
    // Remembered only once the signature verified, so nobody but a member can fill the set.
    return this.#remember(nonce, timestamp + PEER_REQUEST_SKEW_MS, now) ?? { ok: true, orgId };
  }

  #remember(
    nonce: string,
    forgetAt: number,
    now: number,
  ): { ok: false; reason: PeerAuthRefusal } | undefined {
    if (this.#nonces.has(nonce)) return { ok: false, reason: 'replayed-nonce' };
    if (this.#nonces.size >= PEER_NONCE_COUNT_MAX) {
      for (const [seen, until] of this.#nonces) if (until < now) this.#nonces.delete(seen);
      if (this.#nonces.size >= PEER_NONCE_COUNT_MAX) return { ok: false, reason: 'busy' };
    }
    this.#nonces.set(nonce, forgetAt);
    return undefined;
  }
}
