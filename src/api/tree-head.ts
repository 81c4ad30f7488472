/**
 * The signed tree head served at GET /ledger/tree-head, with the raw public key of its proposer,
 * so a client (a browser with WebCrypto) checks the signature from that one answer. The key is
 * the member organisation's signing key its keyId names, or at height 0 the published genesis key.
 */
import { fromHex, keyIdOf } from '../crypto/index.js';
import { KEYS, ORGS } from '../contracts/index.js';
import {
  NETWORK_GENESIS_KEY_ID,
  NETWORK_GENESIS_PUBLIC_KEY,
  type BlockHeader,
} from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';

/** What GET /ledger/tree-head answers. */
export interface TreeHeadDocument {
  readonly treeSize: number;
  readonly treeHead: BlockHeader;
  /** Lowercase hex of the proposer's raw 32-byte Ed25519 public key; null if no member or genesis key has that keyId. */
  readonly proposerKey: string | null;
}

/** The tree head whose logSize is `treeSize`, or undefined when no block signed that size. */
export function treeHeadDocument(node: NodeFacade, treeSize: number): TreeHeadDocument | undefined {
  const treeHead = node.ledger.headerAtLogSize(treeSize);
  return treeHead === undefined
    ? undefined
    : { treeSize, treeHead, proposerKey: proposerKeyOf(node, treeHead) };
}

/** The raw public key, as hex, whose keyId is `header.proposer`. */
export function proposerKeyOf(node: NodeFacade, header: BlockHeader): string | null {
  if (header.height === 0 && header.proposer === NETWORK_GENESIS_KEY_ID)
    return NETWORK_GENESIS_PUBLIC_KEY;
  const key = KEYS.get(node.ledger.state, header.proposer);
  const org = key?.role === 'org' ? ORGS.get(node.ledger.state, key.org) : undefined;
  // The organisation's row holds its signing key; it must be the key the header names.
  return org !== undefined && keyIdOf(fromHex(org.signingKey)) === header.proposer
    ? org.signingKey
    : null;
}
