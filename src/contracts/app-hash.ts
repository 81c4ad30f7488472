/** The state commitment carried in every block header (DESIGN.md, State). */
import { canonicalBytes, concatBytes, fromHex, sha256, sha256Hex } from '../crypto/index.js';
import type { WriteSetEntry } from './state.js';

/**
 * appHash = SHA-256(prevAppHash ‖ SHA-256(canonical sorted write-set)), as lowercase hex.
 * `writeSet` must already be sorted by table then key, as BlockState.writeSet() returns it.
 */
export function nextAppHash(prevAppHash: string, writeSet: readonly WriteSetEntry[]): string {
  const writeSetHash = sha256(canonicalBytes(writeSet as unknown[]));
  return sha256Hex(concatBytes(fromHex(prevAppHash, 'prevAppHash', 32), writeSetHash));
}
