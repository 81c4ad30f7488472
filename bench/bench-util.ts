/** Small helpers shared by benchmarks. */
import { randomBytes } from 'node:crypto';
export { fromHex, generateSigningKey, sign, toHex, utf8, VerifyPool } from '../src/crypto/index.js';

/** `bytes` random bytes as hex: benchmark payloads that nobody verifies as keys. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
