/**
 * Signed tree heads, checked in the browser: the Ed25519 signature of the block header that
 * carries the log root (the node's own format: "chartchain/block/v1\n" ‖ canonical JSON of the
 * header without `sig`), and consistency with the last tree head this browser saw, which it
 * keeps in localStorage. A node that rewrote history, or served this browser a different one
 * than before, fails here.
 */
import { fromHex, sha256, toHex, verifyConsistency } from './merkle.js';

/** A block header as the node serves it: the signed tree head of the log at `logSize`. */
export interface TreeHead {
  readonly height: number;
  readonly prevHash: string;
  readonly time: number;
  readonly txRoot: string;
  readonly logSize: number;
  readonly logRoot: string;
  readonly appHash: string;
  readonly proposer: string;
  readonly sig: string;
}

/** The fields a header's signature covers, in canonical (sorted-key) order. */
const SIGNED_FIELDS = [
  'appHash',
  'height',
  'logRoot',
  'logSize',
  'prevHash',
  'proposer',
  'time',
  'txRoot',
] as const;

/** The canonical JSON of the unsigned header: sorted keys, integers and hex strings only, so JSON.stringify's output is RFC 8785's. */
export function signedMessage(head: TreeHead): Uint8Array {
  const body = `{${SIGNED_FIELDS.map((field) => `${JSON.stringify(field)}:${JSON.stringify(head[field])}`).join(',')}}`;
  return new TextEncoder().encode(`chartchain/block/v1\n${body}`);
}

/** Why a tree head or proof failed, in words for the red banner. */
export class LedgerCheckError extends Error {
  override name = 'LedgerCheckError';
}

/** Throws LedgerCheckError unless `head` is signed by `proposerKey` (hex, raw Ed25519) and that key is the one the header names. */
export async function checkSignature(head: TreeHead, proposerKey: string): Promise<void> {
  const raw = fromHex(proposerKey);
  if (toHex(await sha256(raw)) !== head.proposer)
    throw new LedgerCheckError(
      `the tree head at size ${head.logSize} names signer ${head.proposer.slice(0, 12)}…, but the node sent a different key`,
    );
  const key = await crypto.subtle.importKey(
    'raw',
    raw as BufferSource,
    { name: 'Ed25519' },
    false,
    ['verify'],
  );
  const ok = await crypto.subtle.verify(
    'Ed25519',
    key,
    fromHex(head.sig) as BufferSource,
    signedMessage(head) as BufferSource,
  );
  if (!ok)
    throw new LedgerCheckError(
      `the signature on the tree head at size ${head.logSize} does not verify`,
    );
}

/** What this browser remembers of the last tree head it checked, per node. */
export interface SeenTreeHead {
  readonly treeSize: number;
  readonly logRoot: string;
  readonly proposerKey: string;
  /** The signed header's other fields: one log size has one header, so a second one is a fork. */
  readonly height?: number;
  readonly appHash?: string;
  readonly proposer?: string;
}

const storageKey = (origin: string): string => `chartchain:tree-head:${origin}`;

export function lastSeen(origin: string): SeenTreeHead | undefined {
  const text = localStorage.getItem(storageKey(origin));
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as SeenTreeHead;
  } catch {
    return undefined;
  }
}

export function remember(origin: string, seen: SeenTreeHead): void {
  localStorage.setItem(storageKey(origin), JSON.stringify(seen));
}

/** Throws LedgerCheckError unless the log grew from `seen` to `head` without rewriting: a consistency proof, or equal roots at equal sizes. */
export async function checkGrowth(
  seen: SeenTreeHead,
  head: TreeHead,
  proof: readonly string[] | undefined,
): Promise<void> {
  if (head.logSize < seen.treeSize)
    throw new LedgerCheckError(
      `the log shrank: this browser saw ${seen.treeSize} entries, the node now shows ${head.logSize}`,
    );
  if (head.logSize === seen.treeSize) {
    if (head.logRoot !== seen.logRoot)
      throw new LedgerCheckError(
        `the log of ${head.logSize} entries has a different root than this browser saw before`,
      );
    const same =
      (seen.height ?? head.height) === head.height &&
      (seen.appHash ?? head.appHash) === head.appHash &&
      (seen.proposer ?? head.proposer) === head.proposer;
    if (!same)
      throw new LedgerCheckError(
        `the node signed two different block headers for the log of ${head.logSize} entries`,
      );
    return;
  }
  if (
    proof === undefined ||
    !(await verifyConsistency(seen.treeSize, head.logSize, seen.logRoot, head.logRoot, proof))
  ) {
    throw new LedgerCheckError(
      `the consistency proof from ${seen.treeSize} to ${head.logSize} entries does not verify: the history this browser saw before was changed`,
    );
  }
}
