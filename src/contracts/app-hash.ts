/** The state commitment carried in every block header (DESIGN.md, State). */
import { canonicalize, concatBytes, fromHex, sha256, sha256Hex, utf8 } from '../crypto/index.js';
import type { WriteSetEntry } from './state.js';
import { runSteps, type Steps } from './steps.js';

/** Write-set entries encoded between two pauses of canonicalWriteSetSteps: a fraction of a millisecond. */
const ENTRIES_PER_STEP = 64;

/**
 * RFC 8785 form of a sorted write-set, built from each value's canonical text so that the
 * texts can be stored as they are: JCS of an array is its elements' JCS joined in order, so
 * the result equals canonicalize(entries).
 */
export function canonicalWriteSet(entries: readonly WriteSetEntry[]): {
  readonly json: string;
  readonly valueTexts: string[];
} {
  return runSteps(canonicalWriteSetSteps(entries));
}

/** canonicalWriteSet, pausing (yielding) every ENTRIES_PER_STEP entries, as block execution does. */
export function* canonicalWriteSetSteps(
  entries: readonly WriteSetEntry[],
): Steps<{ readonly json: string; readonly valueTexts: string[] }> {
  const valueTexts: string[] = [];
  const rows: string[] = [];
  for (const [table, key, value] of entries) {
    const text = canonicalize(value);
    valueTexts.push(text);
    rows.push(`[${canonicalize(table)},${canonicalize(key)},${text}]`);
    if (rows.length % ENTRIES_PER_STEP === 0) yield;
  }
  return { json: `[${rows.join(',')}]`, valueTexts };
}

/**
 * appHash = SHA-256(prevAppHash ‖ SHA-256(canonical sorted write-set)), as lowercase hex.
 * `writeSetJson` is canonicalWriteSet(...).json of a write-set sorted by table then key.
 */
export function nextAppHash(prevAppHash: string, writeSetJson: string): string {
  return sha256Hex(
    concatBytes(fromHex(prevAppHash, 'prevAppHash', 32), sha256(utf8(writeSetJson))),
  );
}
