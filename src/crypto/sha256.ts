/** SHA-256 (FIPS 180-4) through node:crypto's one-shot hash, the fastest path on Node 20. */
import { hash } from 'node:crypto';

/** Length of a SHA-256 digest in bytes. */
export const SHA256_BYTES = 32;

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array | string): Uint8Array {
  const digest = hash('sha256', data, 'buffer') as Buffer;
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** Lowercase hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
}
