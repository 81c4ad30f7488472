/**
 * Bounds on what the records contract accepts. They belong in src/ledger/limits.ts with the
 * others, and will move there; the load-time asserts below move with them.
 */
import assert from 'node:assert/strict';
import { TX_BODY_BYTES_MAX } from '../../ledger/index.js';

/** One record version's ciphertext: large enough for a FHIR resource with an attachment. */
export const RECORD_CIPHERTEXT_BYTES_MAX = 8 * 1024 * 1024;
/** Security labels on one record version (FHIR meta.security). */
export const SECURITY_LABEL_COUNT_MAX = 16;
/** Key envelopes on one record version: the fan-out of a data key to its recipients. */
export const ENVELOPE_COUNT_MAX = 64;
/** Writes in one records.batch: a FHIR transaction Bundle of this many entries commits atomically. */
export const BATCH_WRITE_COUNT_MAX = 1000;
/** Versions one records.share-keys transaction re-wraps: a grant's backlog goes in several. */
export const KEY_SHARE_COUNT_MAX = 256;
/** A security label's `system`, in UTF-16 code units: a URI. */
export const SECURITY_LABEL_SYSTEM_LENGTH_MAX = 256;
/** A security label's `code`, in UTF-16 code units. */
export const SECURITY_LABEL_CODE_LENGTH_MAX = 64;
/** The legal basis an organisation gives for an erasure, in UTF-16 code units. */
export const LEGAL_BASIS_LENGTH_MAX = 500;
/** Digits of a version number in a records_version key, zero-padded so keys sort by version. */
export const VERSION_KEY_DIGITS = 10;
/** The highest version number: the largest that fits VERSION_KEY_DIGITS. */
export const RECORD_VERSION_MAX = 10 ** VERSION_KEY_DIGITS - 1;

// Worst-case canonical JSON of one envelope: three lowercase hex strings (32 + 32 + 48 bytes)
// and their field names. A label's strings may take up to 3 UTF-8 bytes per UTF-16 code unit.
const ENVELOPE_JSON_BYTES_MAX = 2 * (32 + 32 + 48) + 64;
const SECURITY_LABEL_JSON_BYTES_MAX = 3 * (SECURITY_LABEL_SYSTEM_LENGTH_MAX + SECURITY_LABEL_CODE_LENGTH_MAX) + 64;
// Every other field of a version body together: ids, resource type, hashes, numbers.
const VERSION_BODY_OTHER_BYTES_MAX = 1024;

assert(
  ENVELOPE_COUNT_MAX * ENVELOPE_JSON_BYTES_MAX + SECURITY_LABEL_COUNT_MAX * SECURITY_LABEL_JSON_BYTES_MAX + VERSION_BODY_OTHER_BYTES_MAX <= TX_BODY_BYTES_MAX,
  'a version body with the most envelopes and labels must fit in one transaction body',
);
assert(RECORD_VERSION_MAX <= Number.MAX_SAFE_INTEGER, 'version numbers are safe integers');
assert(RECORD_CIPHERTEXT_BYTES_MAX <= Number.MAX_SAFE_INTEGER, 'ciphertext sizes are safe integers');

// One share: record id (64), version (10 digits), enc (64 hex), wrappedKey (96 hex), and field names.
const KEY_SHARE_JSON_BYTES_MAX = 64 + 10 + 64 + 96 + 64;
assert(KEY_SHARE_COUNT_MAX * KEY_SHARE_JSON_BYTES_MAX + VERSION_BODY_OTHER_BYTES_MAX <= TX_BODY_BYTES_MAX, 'a full key-share body fits in one transaction body');
