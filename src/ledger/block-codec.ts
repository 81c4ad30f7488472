/** Encoding and strict decoding of whole blocks, as served, exported and passed between nodes. */
import {
  bytesEqual,
  canonicalBytes,
  canonicalize,
  fromUtf8,
  isHex,
  utf8,
} from '../crypto/index.js';
import type { Block, BlockHeader } from './block.js';
import { BLOCK_BYTES_MAX, BLOCK_TX_COUNT_MAX } from './limits.js';
import { decodeTransaction, type DecodedTransaction } from './transaction.js';
import { isTxStatus, type TxStatus } from './tx-status.js';

/** A decoded block with each transaction's canonical bytes and id. */
export interface DecodedBlock {
  readonly block: Block;
  readonly txs: readonly DecodedTransaction[];
}

/** Thrown for a block that is not well-formed; `field` says where. */
export class BlockFormatError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'BlockFormatError';
  }
}

const HEADER_KEYS = [
  'appHash',
  'height',
  'logRoot',
  'logSize',
  'prevHash',
  'proposer',
  'sig',
  'time',
  'txRoot',
];

/** Canonical bytes of a block. */
export function encodeBlock(block: Block): Uint8Array {
  return canonicalBytes(block);
}

/**
 * encodeBlock, assembled from each transaction's canonical bytes instead of re-serialising
 * them: members sort as header < txs and status < tx (RFC 8785 §3.2.3), and an array's
 * canonical form is its elements' in order. Requires `txs[i].bytes` to be canonical.
 */
export function encodeBlockParts(
  header: BlockHeader,
  txs: readonly { readonly bytes: Uint8Array; readonly status: TxStatus }[],
): Uint8Array {
  const parts: Uint8Array[] = [utf8(`{"header":${canonicalize(header)},"txs":[`)];
  txs.forEach(({ bytes, status }, i) => {
    parts.push(utf8(`${i === 0 ? '' : ','}{"status":"${status}","tx":`), bytes, CLOSE_ENTRY);
  });
  parts.push(CLOSE_BLOCK);
  return Buffer.concat(parts);
}

const CLOSE_ENTRY = utf8('}');
const CLOSE_BLOCK = utf8(']}');

/** Checks that `value` has exactly the header fields with well-formed values. Throws BlockFormatError. */
export function checkHeader(value: unknown): BlockHeader {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BlockFormatError('header', 'must be an object');
  const header = value as Record<string, unknown>;
  const keys = Object.keys(header).sort();
  if (keys.join() !== HEADER_KEYS.join())
    throw new BlockFormatError('header', `must have exactly ${HEADER_KEYS.join(', ')}`);
  for (const field of ['height', 'time', 'logSize']) {
    const number = header[field];
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0)
      throw new BlockFormatError(`header.${field}`, 'must be a non-negative safe integer');
  }
  for (const field of ['prevHash', 'txRoot', 'logRoot', 'appHash', 'proposer']) {
    if (!isHex(header[field], 32))
      throw new BlockFormatError(`header.${field}`, 'must be 32 bytes of lowercase hex');
  }
  if (!isHex(header['sig'], 64))
    throw new BlockFormatError('header.sig', 'must be 64 bytes of lowercase hex');
  return header as unknown as BlockHeader;
}

/**
 * Decodes a block from bytes or a parsed value, checking every field. In a parsed value a
 * transaction may be given as its encoded bytes, which must then be canonical. Throws
 * BlockFormatError.
 */
export function decodeBlock(input: Uint8Array | unknown): DecodedBlock {
  let value = input;
  if (input instanceof Uint8Array) {
    if (input.byteLength > BLOCK_BYTES_MAX * 2)
      throw new BlockFormatError('block', `exceeds ${BLOCK_BYTES_MAX * 2} bytes`);
    try {
      value = JSON.parse(fromUtf8(input));
    } catch {
      throw new BlockFormatError('block', 'is not valid UTF-8 JSON');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BlockFormatError('block', 'must be an object');
  const { header, txs } = value as { header?: unknown; txs?: unknown };
  const checkedHeader = checkHeader(header);
  if (!Array.isArray(txs) || txs.length > BLOCK_TX_COUNT_MAX)
    throw new BlockFormatError('txs', `must be an array of at most ${BLOCK_TX_COUNT_MAX}`);
  const decoded: DecodedTransaction[] = [];
  // Array.from, not map: map skips the holes of a sparse array, which would let a block through
  // with fewer decoded transactions than entries.
  const entries = Array.from(txs, (entry: unknown, i) => {
    const { tx, status } = (entry ?? {}) as { tx?: unknown; status?: unknown };
    const result = decodeTransaction(tx);
    if (!result.ok) throw new BlockFormatError(`txs[${i}].tx`, result.reason);
    // A transaction given as its bytes (as a store keeps it) is those bytes: its leaf hash and
    // proofs are theirs, so an equivalent but different encoding must not pass.
    if (tx instanceof Uint8Array && !bytesEqual(result.bytes, tx))
      throw new BlockFormatError(`txs[${i}].tx`, 'is not in canonical form');
    if (!isTxStatus(status))
      throw new BlockFormatError(`txs[${i}].status`, 'is not a transaction status');
    decoded.push(result);
    return { tx: result.tx, status: status as TxStatus };
  });
  return { block: { header: checkedHeader, txs: entries }, txs: decoded };
}
