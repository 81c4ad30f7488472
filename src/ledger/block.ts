/**
 * Blocks: a signed header over an ordered list of transactions, each with the status every
 * node computed for it. Invalid transactions stay in the block, marked (as Fabric does), so
 * every node agrees on the outcome and the log never has holes.
 */
import {
  canonicalBytes,
  concatBytes,
  fromHex,
  isHex,
  sha256Hex,
  sign,
  toHex,
  utf8,
  verify,
  type SigningKey,
} from '../crypto/index.js';
import type { KeyObject } from 'node:crypto';
import { MemoryNodeStore, MerkleLog } from './merkle-log.js';
import { hashLeaf } from './merkle-hash.js';
import type { Transaction } from './transaction.js';
import type { TxStatus } from './tx-status.js';

/** Block header fields (DESIGN.md). Hashes and keys are lowercase hex; `time` is orderer milliseconds since the Unix epoch. */
export interface BlockHeader {
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

/** The header without its signature: what the block hash and the signature cover. */
export type UnsignedBlockHeader = Omit<BlockHeader, 'sig'>;

/** One transaction in a block, with its recorded outcome. */
export interface BlockEntry {
  readonly tx: Transaction;
  readonly status: TxStatus;
}

/** A block as stored, served and exported. */
export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly BlockEntry[];
}

/** prevHash of the genesis block (height 0). */
export const GENESIS_PREV_HASH = '0'.repeat(64);
/** appHash before the genesis block. */
export const GENESIS_PREV_APP_HASH = '0'.repeat(64);

const BLOCK_SIGNING_CONTEXT = utf8('chartchain/block/v1\n');

function unsignedOf(header: UnsignedBlockHeader): UnsignedBlockHeader {
  const { height, prevHash, time, txRoot, logSize, logRoot, appHash, proposer } = header;
  return { height, prevHash, time, txRoot, logSize, logRoot, appHash, proposer };
}

/** Block hash: lowercase hex SHA-256 of the canonical unsigned header. The next block's prevHash. */
export function blockHashOf(header: UnsignedBlockHeader): string {
  return sha256Hex(canonicalBytes(unsignedOf(header)));
}

/** The bytes a block signature covers. */
export function headerSigningMessage(header: UnsignedBlockHeader): Uint8Array {
  return concatBytes(BLOCK_SIGNING_CONTEXT, canonicalBytes(unsignedOf(header)));
}

/** Signs a header as its proposer. Throws RangeError when `key` is not the key `header.proposer` names. */
export function signHeader(header: UnsignedBlockHeader, key: SigningKey): BlockHeader {
  if (header.proposer !== key.keyId)
    throw new RangeError('proposer must be the key id of the signing key');
  return { ...unsignedOf(header), sig: toHex(sign(key, headerSigningMessage(header))) };
}

/** True when the header's signature verifies under `proposerKey`. */
export function verifyHeaderSignature(header: BlockHeader, proposerKey: KeyObject): boolean {
  if (!isHex(header.sig, 64)) return false;
  return verify(proposerKey, headerSigningMessage(header), fromHex(header.sig));
}

/** RFC 9162 §2.1.1 Merkle Tree Hash over the block's canonical transaction bytes, as hex. */
export function txRootOf(txBytes: readonly Uint8Array[]): string {
  return txRootOfLeafHashes(txBytes.map((bytes) => hashLeaf(bytes)));
}

/** txRootOf, from leaf hashes the caller already has (they are the global log's leaves too). */
export function txRootOfLeafHashes(leafHashes: readonly Uint8Array[]): string {
  const log = new MerkleLog(new MemoryNodeStore(), 0);
  for (const leafHash of leafHashes) log.appendLeafHash(leafHash);
  return toHex(log.root());
}
