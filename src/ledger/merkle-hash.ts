/**
 * RFC 9162 §2.1.1 hashing for the Merkle log, with SHA-256 as the hash: leaves and
 * interior nodes get distinct one-byte prefixes so a leaf can never pose as a node.
 */
import { hash } from 'node:crypto';

/** Length in bytes of every Merkle hash (SHA-256). */
export const MERKLE_HASH_BYTES = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

// One scratch buffer for hashChildren: hashing is synchronous, so no caller can observe
// it half-filled, and skipping an allocation per node is most of the cost that is ours.
const childrenInput = Buffer.alloc(1 + 2 * MERKLE_HASH_BYTES);
childrenInput[0] = NODE_PREFIX;

function sha256(data: Uint8Array): Uint8Array {
  const digest = hash('sha256', data, 'buffer') as Buffer;
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/**
 * MTH of a one-leaf tree: SHA-256(0x00 ‖ data), RFC 9162 §2.1.1.
 * Returns a new 32-byte array.
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(1 + data.byteLength);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

/**
 * Interior node hash: SHA-256(0x01 ‖ left ‖ right), RFC 9162 §2.1.1.
 * Requires both hashes to be 32 bytes; throws RangeError naming the argument otherwise.
 * Returns a new 32-byte array.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.byteLength !== MERKLE_HASH_BYTES) {
    throw new RangeError(`left must be ${MERKLE_HASH_BYTES} bytes, got ${left.byteLength}`);
  }
  if (right.byteLength !== MERKLE_HASH_BYTES) {
    throw new RangeError(`right must be ${MERKLE_HASH_BYTES} bytes, got ${right.byteLength}`);
  }
  childrenInput.set(left, 1);
  childrenInput.set(right, 1 + MERKLE_HASH_BYTES);
  return sha256(childrenInput);
}

/** MTH({}) = SHA-256(""), the root of the empty tree, RFC 9162 §2.1.1. Never mutate it. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** True when `a` and `b` hold the same bytes. Merkle hashes are public, so no constant time. */
export function hashEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Lowercase hex of `bytes`, for error messages and tests. */
export function hashHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
