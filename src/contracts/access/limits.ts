/** Bounds on what the access contract accepts. */
import assert from 'node:assert/strict';
import { TX_BODY_BYTES_MAX } from '../../ledger/index.js';

/**
 * Records one access.search lists: a page of matches and what _include/_revinclude added. A
 * search releasing more is logged in several transactions, each durable before any release.
 */
export const SEARCH_RECORD_COUNT_MAX = 2048;

// Worst-case canonical JSON of one listed record: a 64-character id, a 10-digit version, the flag.
const SEARCHED_RECORD_JSON_BYTES_MAX = 64 + 10 + 64;
// The principal, purpose, scope and field names.
const SEARCH_BODY_OTHER_BYTES_MAX = 1024;

assert(SEARCH_RECORD_COUNT_MAX * SEARCHED_RECORD_JSON_BYTES_MAX + SEARCH_BODY_OTHER_BYTES_MAX <= TX_BODY_BYTES_MAX, 'an access.search listing the most records must fit in one transaction body');
