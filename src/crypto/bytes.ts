/** Byte helpers shared by every layer: strict hex, concatenation and comparison. */
import { timingSafeEqual } from 'node:crypto';

const HEX_PATTERN = /^(?:[0-9a-f]{2})*$/;

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Decodes lowercase hex. Throws TypeError naming `name` when the text is not
 * lowercase hex of even length, or RangeError when `byteLength` is given and differs:
 * accepting two spellings of one value would let two encodings share one hash.
 */
export function fromHex(text: string, name = 'hex', byteLength?: number): Uint8Array {
  if (typeof text !== 'string' || !HEX_PATTERN.test(text)) {
    throw new TypeError(`${name} must be lowercase hex`);
  }
  if (byteLength !== undefined && text.length !== byteLength * 2) {
    throw new RangeError(`${name} must be ${byteLength} bytes, got ${text.length / 2}`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** True when `text` is lowercase hex of exactly `byteLength` bytes. */
export function isHex(text: unknown, byteLength: number): text is string {
  return typeof text === 'string' && text.length === byteLength * 2 && HEX_PATTERN.test(text);
}

/** Concatenation of `parts` into one new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Constant-time equality for equal lengths; different lengths are simply unequal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of `text`. Buffer.from draws small strings from a shared pool, faster than TextEncoder. */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** Decodes UTF-8, throwing TypeError on malformed input rather than substituting U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
