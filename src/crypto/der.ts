/**
 * The few DER encodings (ITU-T X.690 §8 and §10) an X.509 certificate needs: tag-length-value
 * with definite lengths, INTEGER, OBJECT IDENTIFIER, BOOLEAN, BIT STRING, OCTET STRING,
 * UTF8String, IA5String, UTCTime/GeneralizedTime and SEQUENCE/SET. Encoding only: nothing here
 * parses untrusted input.
 */
import { concatBytes, utf8 } from './bytes.js';

/** Universal tags (X.690 §8.1.2, X.680 §8.4) used by certificates. */
export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** A tag-length-value with the definite length form (X.690 §8.1.3, §10.1: the shortest one). */
export function derTlv(tag: number, value: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new RangeError('tag must be one byte');
  return concatBytes(new Uint8Array([tag]), derLength(value.length), value);
}

function derLength(length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

/** A SEQUENCE of the already encoded `items`. */
export function derSequence(...items: Uint8Array[]): Uint8Array {
  return derTlv(DER_TAG.sequence, concatBytes(...items));
}

/** A SET of one encoded item (a set of several would have to be sorted, X.690 §11.6). */
export function derSetOfOne(item: Uint8Array): Uint8Array {
  return derTlv(DER_TAG.set, item);
}

/** A context-specific constructed tag [n] EXPLICIT around an encoded value. */
export function derExplicit(n: number, value: Uint8Array): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError('n must be 0..30');
  return derTlv(0xa0 | n, value);
}

/** A context-specific primitive tag [n] IMPLICIT over raw content octets. */
export function derImplicit(n: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError('n must be 0..30');
  return derTlv(0x80 | n, content);
}

/** A non-negative INTEGER from big-endian magnitude bytes, minimal and with a 0x00 where the top bit is set (X.690 §8.3). */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? new Uint8Array([0]) : magnitude.subarray(start);
  const content = trimmed[0]! >= 0x80 ? concatBytes(new Uint8Array([0]), trimmed) : trimmed;
  return derTlv(DER_TAG.integer, content);
}

/** A small non-negative INTEGER. */
export function derSmallInteger(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError('value must be a non-negative safe integer');
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return derUnsignedInteger(new Uint8Array(bytes));
}

/** A BOOLEAN: 0xff for true, as DER requires (X.690 §11.1). */
export function derBoolean(value: boolean): Uint8Array {
  return derTlv(DER_TAG.boolean, new Uint8Array([value ? 0xff : 0x00]));
}

/** An OBJECT IDENTIFIER from its dotted form, e.g. "1.2.840.10045.4.3.2" (X.690 §8.19). Throws RangeError on a malformed `oid`. */
export function derOid(oid: string): Uint8Array {
  if (!/^[0-2]\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(oid))
    throw new RangeError(`oid ${oid} is not a dotted object identifier`);
  const arcs = oid.split('.').map(Number);
  if (arcs.some((arc) => !Number.isSafeInteger(arc)) || (arcs[0]! < 2 && arcs[1]! > 39))
    throw new RangeError(`oid ${oid} has an arc out of range`);
  const body = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)].flatMap(base128);
  return derTlv(DER_TAG.oid, new Uint8Array(body));
}

function base128(arc: number): number[] {
  const digits = [arc % 128];
  for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128))
    digits.unshift(0x80 | (rest % 128));
  return digits;
}

/** A BIT STRING of whole bytes (no unused bits). */
export function derBitString(bytes: Uint8Array): Uint8Array {
  return derTlv(DER_TAG.bitString, concatBytes(new Uint8Array([0]), bytes));
}

/** An OCTET STRING. */
export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derTlv(DER_TAG.octetString, bytes);
}

/** A UTF8String. */
export function derUtf8String(text: string): Uint8Array {
  return derTlv(DER_TAG.utf8String, utf8(text));
}

/**
 * A certificate time (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` for 1950–2049,
 * GeneralizedTime `YYYYMMDDHHMMSSZ` from 2050, whole seconds. Throws RangeError outside 1950–9999.
 */
export function derTime(time: Date): Uint8Array {
  const year = time.getUTCFullYear();
  if (!Number.isFinite(time.getTime()) || year < 1950 || year > 9999)
    throw new RangeError('time must fall in 1950..9999');
  const two = (n: number): string => String(n).padStart(2, '0');
  const rest = `${two(time.getUTCMonth() + 1)}${two(time.getUTCDate())}${two(time.getUTCHours())}${two(time.getUTCMinutes())}${two(time.getUTCSeconds())}Z`;
  if (year < 2050) return derTlv(DER_TAG.utcTime, utf8(`${two(year % 100)}${rest}`));
  return derTlv(DER_TAG.generalizedTime, utf8(`${year}${rest}`));
}
