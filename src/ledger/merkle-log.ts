/**
 * Append-only RFC 9162 Merkle log over a pluggable store of perfect-subtree hashes.
 * Appends, roots and proofs read and write O(log n) nodes; nothing ever rebuilds the tree.
 */
import assert from 'node:assert/strict';
import { EMPTY_ROOT, MERKLE_HASH_BYTES, hashChildren, hashLeaf } from './merkle-hash.js';

/**
 * Stores hashes of perfect (complete) subtrees: level 0 = leaf hashes; node (level, index)
 * covers leaves [index·2^level, (index+1)·2^level). A node is written once, when its last
 * leaf is appended, and never changes afterwards.
 */
export interface MerkleNodeStore {
  getNode(level: number, index: number): Uint8Array | undefined;
  putNode(level: number, index: number, hash: Uint8Array): void;
}

/** In-memory MerkleNodeStore, one Map per level; for tests and for verifiers. */
export class MemoryNodeStore implements MerkleNodeStore {
  private readonly levels: Map<number, Uint8Array>[] = [];

  /** Hash of node (level, index), or undefined when it was never stored. */
  getNode(level: number, index: number): Uint8Array | undefined {
    return this.levels[level]?.get(index);
  }

  /** Stores the hash of node (level, index), replacing any earlier one. */
  putNode(level: number, index: number, hash: Uint8Array): void {
    let nodes = this.levels[level];
    if (nodes === undefined) {
      nodes = new Map();
      this.levels[level] = nodes;
    }
    nodes.set(index, hash);
  }
}

/**
 * An RFC 9162 §2.1 Merkle tree that only grows. Every hash it returns is a fresh copy, so
 * callers may modify them without corrupting the store. A node missing from the store
 * means the storage is corrupt: that fails an assertion naming the node.
 */
export class MerkleLog {
  private size: number;

  /**
   * Opens the log whose first `treeSize` leaves, and every perfect subtree over them, are
   * already in `store`. Requires treeSize to be a non-negative safe integer.
   */
  constructor(
    private readonly store: MerkleNodeStore,
    treeSize: number,
  ) {
    requireCount('treeSize', treeSize);
    this.size = treeSize;
  }

  /** Number of leaves in the log. */
  get treeSize(): number {
    return this.size;
  }

  /**
   * Appends a leaf whose hash (RFC 9162 §2.1.1 hashLeaf) is `leafHash` and returns its
   * leafIndex. Writes the leaf node and every perfect parent it completes: two writes
   * amortised, log2(treeSize) at most. Requires leafHash to be 32 bytes (RangeError).
   */
  appendLeafHash(leafHash: Uint8Array): number {
    if (leafHash.byteLength !== MERKLE_HASH_BYTES) {
      throw new RangeError(
        `leafHash must be ${MERKLE_HASH_BYTES} bytes, got ${leafHash.byteLength}`,
      );
    }
    const leafIndex = this.size;
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = leafIndex;
    this.store.putNode(level, index, hash);
    while (index % 2 === 1) {
      hash = hashChildren(this.node(level, index - 1), hash);
      level += 1;
      index = (index - 1) / 2;
      this.store.putNode(level, index, hash);
    }
    this.size = leafIndex + 1;
    return leafIndex;
  }

  /** Appends the leaf `data`, hashed by RFC 9162 §2.1.1 hashLeaf, and returns its leafIndex. */
  append(data: Uint8Array): number {
    return this.appendLeafHash(hashLeaf(data));
  }

  /**
   * MTH of the first `treeSize` leaves (RFC 9162 §2.1.1), so roots of earlier sizes too;
   * O(log n) reads. Requires treeSize <= this.treeSize (RangeError).
   */
  root(treeSize: number = this.size): Uint8Array {
    this.requireSize('treeSize', treeSize);
    if (treeSize === 0) return EMPTY_ROOT.slice();
    return this.rangeHash(0, treeSize).slice();
  }

  /** Hash of the leaf at `leafIndex`. Requires leafIndex < this.treeSize (RangeError). */
  leafHash(leafIndex: number): Uint8Array {
    requireCount('leafIndex', leafIndex);
    requireBelow('leafIndex', leafIndex, 'treeSize', this.size);
    return this.node(0, leafIndex).slice();
  }

  /**
   * Inclusion proof PATH(leafIndex, D[0:treeSize]) of RFC 9162 §2.1.3.1, ordered from the
   * leaf up. O(log n) reads: at most one sibling is a non-perfect subtree. Requires
   * leafIndex < treeSize <= this.treeSize (RangeError).
   */
  inclusionProof(leafIndex: number, treeSize: number): Uint8Array[] {
    requireCount('leafIndex', leafIndex);
    this.requireSize('treeSize', treeSize);
    requireBelow('leafIndex', leafIndex, 'treeSize', treeSize);
    const siblings: Uint8Array[] = [];
    let begin = 0;
    let end = treeSize;
    while (end - begin > 1) {
      const split = begin + largestPowerOfTwoBelow(end - begin);
      if (leafIndex < split) {
        siblings.push(this.rangeHash(split, end));
        end = split;
      } else {
        siblings.push(this.rangeHash(begin, split));
        begin = split;
      }
    }
    return copyReversed(siblings);
  }

  /**
   * Consistency proof PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1 (SUBPROOF with its
   * recursion unrolled). Empty when size1 is 0 or equals size2. O(log n) reads. Requires
   * size1 <= size2 <= this.treeSize (RangeError).
   */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    this.requireSize('size1', size1);
    this.requireSize('size2', size2);
    if (size1 > size2) throw new RangeError(`size1 ${size1} must be <= size2 ${size2}`);
    if (size1 === 0 || size1 === size2) return [];
    const siblings: Uint8Array[] = [];
    let begin = 0;
    let end = size2;
    let isWholeOldTree = true;
    while (end !== size1) {
      const split = begin + largestPowerOfTwoBelow(end - begin);
      if (size1 <= split) {
        siblings.push(this.rangeHash(split, end));
        end = split;
      } else {
        siblings.push(this.rangeHash(begin, split));
        begin = split;
        isWholeOldTree = false;
      }
    }
    // SUBPROOF(m, D[m], b) ends with MTH(D[m]) unless D[m] is the whole old tree, whose
    // root the verifier already holds.
    if (!isWholeOldTree) siblings.push(this.rangeHash(begin, end));
    return copyReversed(siblings);
  }

  /**
   * MTH(D[begin:end]) for a range of the tree's recursive split: a perfect range is one
   * stored node, and any other range (only ever on the right border) splits at the largest
   * power of two below its length. Requires begin < end.
   */
  private rangeHash(begin: number, end: number): Uint8Array {
    const length = end - begin;
    const leftLength = floorPowerOfTwo(length);
    if (leftLength === length) {
      assert.equal(begin % length, 0, `range [${begin}, ${end}) must be aligned`);
      return this.node(Math.round(Math.log2(length)), begin / length);
    }
    const split = begin + leftLength;
    return hashChildren(this.rangeHash(begin, split), this.rangeHash(split, end));
  }

  private node(level: number, index: number): Uint8Array {
    const hash = this.store.getNode(level, index);
    assert(
      hash !== undefined,
      `storage corrupt: Merkle node (level ${level}, index ${index}) is missing`,
    );
    assert.equal(
      hash.byteLength,
      MERKLE_HASH_BYTES,
      `storage corrupt: Merkle node (level ${level}, index ${index}) is not ${MERKLE_HASH_BYTES} bytes`,
    );
    return hash;
  }

  private requireSize(name: string, size: number): void {
    requireCount(name, size);
    if (size > this.size)
      throw new RangeError(`${name} ${size} must be <= log treeSize ${this.size}`);
  }
}

/** Largest power of two <= n; requires n >= 1. */
function floorPowerOfTwo(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

/** RFC 9162's k: the largest power of two < n; requires n >= 2. */
function largestPowerOfTwoBelow(n: number): number {
  return floorPowerOfTwo(n - 1);
}

function copyReversed(hashes: readonly Uint8Array[]): Uint8Array[] {
  return hashes.map((hash) => hash.slice()).reverse();
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function requireBelow(name: string, value: number, limitName: string, limit: number): void {
  if (value >= limit) throw new RangeError(`${name} ${value} must be < ${limitName} ${limit}`);
}
