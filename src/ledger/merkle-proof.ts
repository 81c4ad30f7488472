/**
 * Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.
 * Pure functions: they trust nothing they are given, and a failed check throws a
 * ProofError subclass that carries its evidence.
 */
import assert from 'node:assert/strict';
import { EMPTY_ROOT, MERKLE_HASH_BYTES, hashChildren, hashEqual, hashHex } from './merkle-hash.js';

/** Base class of every verification failure, so callers can test `instanceof ProofError`. */
export class ProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The root rebuilt from a proof differs from the root the caller trusts. */
export class RootMismatchError extends ProofError {
  constructor(
    readonly root: 'root' | 'root1' | 'root2',
    readonly expected: Uint8Array,
    readonly calculated: Uint8Array,
  ) {
    super(`calculated ${root} ${hashHex(calculated)} does not match expected ${hashHex(expected)}`);
  }
}

/** The proof has the wrong number of hashes for the sizes given; extra hashes are never ignored. */
export class ProofLengthError extends ProofError {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`proof must hold ${expected} hashes, got ${actual}`);
  }
}

/** A leaf hash, root or proof element is not MERKLE_HASH_BYTES long. */
export class HashLengthError extends ProofError {
  readonly expected = MERKLE_HASH_BYTES;
  constructor(
    readonly what: string,
    readonly actual: number,
  ) {
    super(`${what} must be ${MERKLE_HASH_BYTES} bytes, got ${actual}`);
  }
}

/** The leaf index is not inside the tree (leafIndex >= treeSize). */
export class IndexOutOfRangeError extends ProofError {
  constructor(
    readonly leafIndex: number,
    readonly treeSize: number,
  ) {
    super(`leafIndex ${leafIndex} must be < treeSize ${treeSize}`);
  }
}

/** A consistency proof was asked for a tree that shrank (size1 > size2). */
export class TreeSizeOrderError extends ProofError {
  constructor(
    readonly size1: number,
    readonly size2: number,
  ) {
    super(`size1 ${size1} must be <= size2 ${size2}`);
  }
}

/**
 * Number of hashes in the inclusion proof of leaf `leafIndex` in a tree of `treeSize`
 * leaves (RFC 9162 §2.1.3.1). Requires leafIndex < treeSize; throws RangeError otherwise.
 */
export function inclusionProofLength(leafIndex: number, treeSize: number): number {
  requireCount('leafIndex', leafIndex);
  requireCount('treeSize', treeSize);
  if (leafIndex >= treeSize)
    throw new RangeError(`leafIndex ${leafIndex} must be < treeSize ${treeSize}`);
  return pathLength(leafIndex, treeSize - 1);
}

/**
 * Number of hashes in the consistency proof from `size1` to `size2` (RFC 9162 §2.1.4.1);
 * zero when size1 is 0 or equals size2. Requires size1 <= size2; throws RangeError otherwise.
 */
export function consistencyProofLength(size1: number, size2: number): number {
  requireCount('size1', size1);
  requireCount('size2', size2);
  if (size1 > size2) throw new RangeError(`size1 ${size1} must be <= size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return 0;
  const [fn, sn] = shiftWhileOdd(size1 - 1, size2 - 1);
  return pathLength(fn, sn) + (isPowerOfTwo(size1) ? 0 : 1);
}

/**
 * Root of a `treeSize`-leaf tree rebuilt from the leaf at `leafIndex` and its inclusion
 * proof, by the RFC 9162 §2.1.3.2 algorithm. Throws IndexOutOfRangeError when
 * leafIndex >= treeSize, ProofLengthError or HashLengthError for a malformed proof, and
 * RangeError when a size is not a non-negative safe integer.
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  requireCount('leafIndex', leafIndex);
  requireCount('treeSize', treeSize);
  if (leafIndex >= treeSize) throw new IndexOutOfRangeError(leafIndex, treeSize);
  requireHash('leafHash', leafHash);
  requireProof(proof, pathLength(leafIndex, treeSize - 1));
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      [fn, sn] = shiftWhileEvenNonZero(fn, sn);
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  assert.equal(sn, 0, 'the length check guarantees the path reaches the root');
  return r;
}

/**
 * Checks that `proof` proves the leaf with hash `leafHash` is at `leafIndex` in the tree of
 * `treeSize` leaves whose root is `root` (RFC 9162 §2.1.3.2). Returns nothing on success;
 * throws RootMismatchError, or any error of rootFromInclusionProof, on failure.
 */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  requireHash('root', root);
  const calculated = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  requireMatch('root', root, calculated);
}

/**
 * Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1`
 * leaves with root `root1` (RFC 9162 §2.1.4.2). Both roots are rebuilt from the proof and
 * both must match, so a proof that is right except for its final part fails
 * (CVE-2022-36111). Equal sizes require an empty proof and equal roots; size1 = 0 requires
 * an empty proof and root1 = EMPTY_ROOT, and is consistent with any root2.
 * Throws TreeSizeOrderError, ProofLengthError, HashLengthError or RootMismatchError on
 * failure, and RangeError when a size is not a non-negative safe integer.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  requireCount('size1', size1);
  requireCount('size2', size2);
  if (size1 > size2) throw new TreeSizeOrderError(size1, size2);
  requireHash('root1', root1);
  requireHash('root2', root2);
  requireProof(proof, consistencyProofLength(size1, size2));
  if (size1 === size2) return requireMatch('root2', root2, root1);
  if (size1 === 0) return requireMatch('root1', root1, EMPTY_ROOT);
  const calculated = rootsFromConsistencyProof(size1, size2, root1, proof);
  requireMatch('root1', root1, calculated.root1);
  requireMatch('root2', root2, calculated.root2);
}

/** RFC 9162 §2.1.4.2 steps 2-6; requires 0 < size1 < size2 and a proof of checked length. */
function rootsFromConsistencyProof(
  size1: number,
  size2: number,
  root1: Uint8Array,
  proof: readonly Uint8Array[],
): { root1: Uint8Array; root2: Uint8Array } {
  // When size1 is a power of two the old tree is itself a node of the new one, so the
  // proof leaves it out and the trusted root1 seeds the path instead.
  const seededByRoot1 = isPowerOfTwo(size1);
  const seed = seededByRoot1 ? root1 : proof[0];
  assert(seed !== undefined, 'the length check guarantees a seed');
  let [fn, sn] = shiftWhileOdd(size1 - 1, size2 - 1);
  let fr = seed;
  let sr = seed;
  for (let i = seededByRoot1 ? 0 : 1; i < proof.length; i++) {
    const c = proof[i] as Uint8Array;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      [fn, sn] = shiftWhileEvenNonZero(fn, sn);
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  assert.equal(sn, 0, 'the length check guarantees the path reaches the root');
  return { root1: fr, root2: sr };
}

/** Number of steps the §2.1.3.2 / §2.1.4.2 loop takes from (fn, sn) until sn reaches 0. */
function pathLength(fn: number, sn: number): number {
  let length = 0;
  while (sn !== 0) {
    if (isOdd(fn) || fn === sn) [fn, sn] = shiftWhileEvenNonZero(fn, sn);
    fn = half(fn);
    sn = half(sn);
    length++;
  }
  return length;
}

// Sizes may exceed 2^32, where JavaScript's bitwise operators wrap, so bits are read
// with arithmetic, which is exact for every safe integer.
function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && !isOdd(n)) n = half(n);
  return n === 1;
}

function shiftWhileOdd(fn: number, sn: number): [number, number] {
  while (isOdd(fn)) [fn, sn] = [half(fn), half(sn)];
  return [fn, sn];
}

function shiftWhileEvenNonZero(fn: number, sn: number): [number, number] {
  while (!isOdd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
  return [fn, sn];
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function requireHash(what: string, hash: Uint8Array): void {
  if (hash.byteLength !== MERKLE_HASH_BYTES) throw new HashLengthError(what, hash.byteLength);
}

function requireProof(proof: readonly Uint8Array[], expectedLength: number): void {
  if (proof.length !== expectedLength) throw new ProofLengthError(expectedLength, proof.length);
  proof.forEach((hash, i) => requireHash(`proof[${i}]`, hash));
}

function requireMatch(
  root: RootMismatchError['root'],
  expected: Uint8Array,
  calculated: Uint8Array,
): void {
  if (!hashEqual(expected, calculated)) throw new RootMismatchError(root, expected, calculated);
}
