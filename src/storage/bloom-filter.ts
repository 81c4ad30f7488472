/**
 * The Bloom filter arithmetic behind the state store's negative-lookup filter: 7 probes, double
 * hashing (Kirsch and Mitzenmacher) over two 32-bit hashes of the key. At 10 bits per key a
 * full filter answers "maybe" for about 0.8% of absent keys.
 *
 * These functions are also run on a worker thread, from their own source text: each must stay
 * self-contained (no nested functions, no names from outside but `Math`), or the worker's copy
 * would not compile and the filter would simply never be built.
 */

/** Writes two 32-bit hashes of `key` into `out`: FNV-1a and a multiplicative hash, each finished with a murmur3-style mix. */
export function stateKeyHash(key: string, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x27d4eb2f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 15;
  b = Math.imul(b, 0x2c1b3c6d);
  b ^= b >>> 12;
  b = Math.imul(b, 0x297a2d39);
  b ^= b >>> 15;
  out[0] = a;
  out[1] = b | 1;
}

/** Sets the 7 bits of the key hashed to (a, b). `bits.length` is a power of two. */
export function bloomSet(bits: Int32Array, a: number, b: number): void {
  const mask = bits.length * 32 - 1;
  for (let i = 0; i < 7; i++) {
    const bit = (a + Math.imul(i, b)) & mask;
    bits[bit >>> 5]! |= 1 << (bit & 31);
  }
}

/** False when the key hashed to (a, b) was certainly never set. */
export function bloomHas(bits: Int32Array, a: number, b: number): boolean {
  const mask = bits.length * 32 - 1;
  for (let i = 0; i < 7; i++) {
    const bit = (a + Math.imul(i, b)) & mask;
    if ((bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
  }
  return true;
}

/** 32-bit words for `capacity` keys at 10 bits each or more: a power of two, at least 2,048. */
export function bloomWords(capacity: number): number {
  let words = 2048;
  while (words * 32 < capacity * 10) words *= 2;
  return words;
}
