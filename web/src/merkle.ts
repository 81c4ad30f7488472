/**
 * RFC 9162 proof checks in the browser (§2.1.3.2 inclusion, §2.1.4.2 consistency), with
 * WebCrypto's SHA-256. Pure: the same module is tested in Node against the node's own proofs.
 * Tree sizes go past 2^31, so halving is done with arithmetic, not bit shifts.
 */

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The bytes of lowercase hex `hex`; throws RangeError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new RangeError('not lowercase hex');
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

/** RFC 9162 §2.1.1: the hash of an interior node, SHA-256(0x01 ‖ left ‖ right). */
async function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  const message = new Uint8Array(1 + left.length + right.length);
  message[0] = 1;
  message.set(left, 1);
  message.set(right, 1 + left.length);
  return sha256(message);
}

const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);
const isPowerOfTwo = (n: number): boolean => 2 ** Math.round(Math.log2(n)) === n;

/** RFC 9162 §2.1.3.2: true when `path` proves leaf `leafHash` at `leafIndex` in the tree of `treeSize` with root `root` (all hex). */
export async function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: string,
  path: readonly string[],
  root: string,
): Promise<boolean> {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = fromHex(leafHash);
  for (const hex of path) {
    const p = fromHex(hex);
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await hashChildren(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && toHex(r) === root;
}

/** RFC 9162 §2.1.4.2: true when `proof` shows the tree of `first` leaves (root `firstRoot`) is a prefix of the tree of `second` leaves (root `secondRoot`). */
export async function verifyConsistency(
  first: number,
  second: number,
  firstRoot: string,
  secondRoot: string,
  proof: readonly string[],
): Promise<boolean> {
  if (first > second || first < 1) return false;
  if (first === second) return proof.length === 0 && firstRoot === secondRoot;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = fromHex(path[0]!);
  let sr = fr;
  for (const hex of path.slice(1)) {
    const c = fromHex(hex);
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return toHex(fr) === firstRoot && toHex(sr) === secondRoot && sn === 0;
}
