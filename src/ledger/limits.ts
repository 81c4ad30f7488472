/**
 * Every bound on what grows, in one place (TIGER_STYLE). Higher layers add theirs here too,
 * so the relations between them can be asserted once, at load time.
 */
import assert from 'node:assert/strict';

/**
 * A transaction's canonical bytes, signature included: room for one records.batch that anchors
 * a whole FHIR transaction Bundle atomically (about 1,000 versions of ~930 bytes each).
 */
export const TX_BYTES_MAX = 1024 * 1024;
/** A transaction's `type`. */
export const TX_TYPE_LENGTH_MAX = 64;
/** A transaction's canonical `body`. */
export const TX_BODY_BYTES_MAX = TX_BYTES_MAX - 1024;
/** Raw bytes accepted for one transaction before parsing: room for insignificant whitespace. */
export const TX_WIRE_BYTES_MAX = 2 * TX_BYTES_MAX;
/** Transactions in one block. */
export const BLOCK_TX_COUNT_MAX = 4096;
/** Sum of the canonical transaction bytes in one block. */
export const BLOCK_BYTES_MAX = 32 * 1024 * 1024;
/** Transactions waiting to be ordered; beyond this a submit is refused (back-pressure). */
export const PENDING_TX_COUNT_MAX = 65_536;
/** Hashes in an inclusion or consistency proof: 2·53 covers any tree of up to 2^53 leaves. */
export const PROOF_HASH_COUNT_MAX = 2 * 53;
/** Block heights and log sizes are safe integers. */
export const HEIGHT_MAX = Number.MAX_SAFE_INTEGER;

assert(TX_BODY_BYTES_MAX < TX_BYTES_MAX, 'a body must fit inside its transaction');
assert(TX_WIRE_BYTES_MAX >= TX_BYTES_MAX, 'a canonical transaction must be accepted on the wire');
assert(BLOCK_BYTES_MAX >= TX_BYTES_MAX * 16, 'a block must hold many maximal transactions');
assert(PENDING_TX_COUNT_MAX >= BLOCK_TX_COUNT_MAX, 'the queue must fill at least one block');

/** State writes held in memory before a state savepoint. Bounds memory and crash-replay work. */
export const STATE_OVERLAY_WRITE_COUNT_MAX = 131_072;
/** Blocks between state savepoints, at most: a restart replays no more than this many. */
export const STATE_SAVEPOINT_BLOCK_COUNT_MAX = 64;

assert(STATE_OVERLAY_WRITE_COUNT_MAX >= BLOCK_TX_COUNT_MAX * 4, 'a savepoint must hold at least one full block of writes');
