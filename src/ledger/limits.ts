/**
 * Every bound on what grows, for every layer, in one place (TIGER_STYLE): a section per layer,
 * then load-time asserts on how the bounds of different layers relate. It sits in the ledger,
 * the lowest layer the others all import, so every layer reads its bounds from here.
 */
import assert from 'node:assert/strict';

// Ledger

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

assert(
  STATE_OVERLAY_WRITE_COUNT_MAX >= BLOCK_TX_COUNT_MAX * 4,
  'a savepoint must hold at least one full block of writes',
);

// Contracts: records

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
const SECURITY_LABEL_JSON_BYTES_MAX =
  3 * (SECURITY_LABEL_SYSTEM_LENGTH_MAX + SECURITY_LABEL_CODE_LENGTH_MAX) + 64;
// Every other field of a version body together: ids, resource type, hashes, numbers.
const VERSION_BODY_OTHER_BYTES_MAX = 1024;

assert(
  ENVELOPE_COUNT_MAX * ENVELOPE_JSON_BYTES_MAX +
    SECURITY_LABEL_COUNT_MAX * SECURITY_LABEL_JSON_BYTES_MAX +
    VERSION_BODY_OTHER_BYTES_MAX <=
    TX_BODY_BYTES_MAX,
  'a version body with the most envelopes and labels must fit in one transaction body',
);
assert(RECORD_VERSION_MAX <= Number.MAX_SAFE_INTEGER, 'version numbers are safe integers');
assert(
  RECORD_CIPHERTEXT_BYTES_MAX <= Number.MAX_SAFE_INTEGER,
  'ciphertext sizes are safe integers',
);

// One share: record id (64), version (10 digits), enc (64 hex), wrappedKey (96 hex), and field names.
const KEY_SHARE_JSON_BYTES_MAX = 64 + 10 + 64 + 96 + 64;
assert(
  KEY_SHARE_COUNT_MAX * KEY_SHARE_JSON_BYTES_MAX + VERSION_BODY_OTHER_BYTES_MAX <=
    TX_BODY_BYTES_MAX,
  'a full key-share body fits in one transaction body',
);

/** A sealed note's ciphertext: room for a thousand characters of any script, their salt and the AEAD overhead. */
export const NOTE_CIPHERTEXT_BYTES_MAX = 8 * 1024;

// Contracts: agreements and membership

/** Entries in each list of an agreement's terms. */
export const AGREEMENT_TERM_ENTRY_MAX = 32;
/** Agreements not yet terminated between one discloser and one recipient, so a lookup stays cheap. */
export const AGREEMENTS_PER_PAIR_MAX = 64;
/** Organisations in one consortium, bounded so a tally stays cheap. */
export const MEMBER_COUNT_MAX = 256;
/** The longest organisation or network name, in UTF-16 code units. */
export const ORG_NAME_LENGTH_MAX = 200;

// Contracts: access

/**
 * Records one access.search lists: a page of matches and what _include/_revinclude added. A
 * search releasing more is logged in several transactions, each durable before any release.
 */
export const SEARCH_RECORD_COUNT_MAX = 2048;

// Worst-case canonical JSON of one listed record: a 64-character id, a 10-digit version, the flag.
const SEARCHED_RECORD_JSON_BYTES_MAX = 64 + 10 + 64;
// The principal, purpose, scope and field names.
const SEARCH_BODY_OTHER_BYTES_MAX = 1024;

assert(
  SEARCH_RECORD_COUNT_MAX * SEARCHED_RECORD_JSON_BYTES_MAX + SEARCH_BODY_OTHER_BYTES_MAX <=
    TX_BODY_BYTES_MAX,
  'an access.search listing the most records must fit in one transaction body',
);

/** Longest break-the-glass window a request may ask for, in minutes. */
export const BTG_MINUTES_MAX = 8 * 60;
/** The free-text reason, in UTF-16 code units, before it is sealed. */
export const BTG_REASON_LENGTH_MAX = 1000;

// Contracts: consent

/** Grants one patient may hold, active or revoked: bounds the scan on every write and read decision. */
export const GRANT_COUNT_MAX = 64;
/** Entries in each list of a grant's terms (resource types, record ids, labels, purposes), and of a restriction's (resource types, labels, practitioners). */
export const GRANT_LIST_COUNT_MAX = 32;
/** Restrictions one patient may hold, active or lifted: bounds the scan on every home-organisation read. */
export const RESTRICTION_COUNT_MAX = 64;

// Storage

/** Largest blob accepted by put() or from a BlobSource: bounds memory per read and per fetch. */
export const BLOB_BYTES_MAX = 64 * 1024 * 1024;
/** Bytes of frames written by one group commit at most; the rest wait for the next. */
export const BLOB_APPEND_BYTES_MAX = 16 * 1024 * 1024;
/** Largest secret one entry may hold. Private keys are 32–64 bytes; this leaves room for PEM. */
export const KEYSTORE_ENTRY_BYTES_MAX = 4096;
/** Entries in one keystore. Every change rewrites the whole file, so this bounds write cost. */
export const KEYSTORE_ENTRY_COUNT_MAX = 65_536;
/** Keystore file size read by open(). */
export const KEYSTORE_FILE_BYTES_MAX = 64 * 1024 * 1024;
/** Parsed state values kept in memory; the cache is simply emptied when full. */
export const STATE_CACHE_ENTRY_COUNT_MAX = 262_144;
/** New pseudonym pairs held in memory while they cannot be written; past it, new ids are refused. */
export const PSEUDONYM_UNWRITTEN_COUNT_MAX = 65_536;
/** Access tokens whose signature and claims were checked, remembered until they expire. */
export const VERIFIED_TOKEN_COUNT_MAX = 4096;
/** Signatures this node made and has not yet seen submitted; older ones are checked like any other. */
export const OWN_SIGNATURE_COUNT_MAX = 4096;

// Ordering over etcd

/** Transaction bytes in one block the etcd proposer cuts, by default (a node's blockBytesMax). */
export const ETCD_BLOCK_BYTES_MAX = 8 * 1024 * 1024;
/** Received messages above this size fail; pages are sized to stay far below it. */
export const ETCD_RECEIVE_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
/** txIds of recently ordered blocks a proposer remembers, so as not to order a retried one twice. */
export const RECENT_TXIDS_MAX = 262_144;
/** etcd refuses a transaction of more than --max-txn-ops operations (128 by default). */
export const ETCD_TXN_OPS_MAX = 100;
/** etcd refuses a request over --max-request-bytes (1.5 MiB by default); one transaction may still carry a single 1 MiB tx. */
export const ETCD_TXN_BYTES_MAX = 1024 * 1024;
/** A peer's checkpoint read from etcd: one is under 1 KiB; anything much larger is dropped unread. */
export const PEER_CHECKPOINT_BYTES_MAX = 4096;

// Node

/** Nonces remembered at once; beyond this, requests are refused rather than a nonce forgotten early. */
export const PEER_NONCE_COUNT_MAX = 100_000;
/** Blocks in one page, at most. */
export const PEER_BLOCKS_COUNT_MAX = 256;
/** Bytes of one page: blocks are added while the page is below this (at least one block). */
export const PEER_BLOCKS_PAGE_BYTES = 8 * 1024 * 1024;
/** Signatures sent to the pool in one message at admission. */
export const ADMISSION_SLICE_MAX = 256;
/** Alarms kept for /ledger/status, newest last; older ones are dropped past this many. */
export const ALARM_COUNT_MAX = 100;
/** Tries of a fetch at commit before its alarm, and the first pause between them (doubling). */
export const PROACTIVE_FETCH_ATTEMPTS_MAX = 6;
/** Faults reported past this many are counted, not listed. */
export const BLOB_FAULTS_LISTED_MAX = 100;

/** Blobs the store remembers having put since it opened (about 6 MiB), so a commit need not look up the node's own; past it the set starts again. */
export const STORED_HERE_REMEMBERED_MAX = 65_536;

// FHIR

/** Candidates a search reads from the index at a time, at most (the chunk doubles from a page's worth). */
export const SEARCH_CANDIDATE_CHUNK_MAX = 4096;
/** Refused records a search scoped to one patient lists in that patient's denial entry. */
export const SEARCH_DENIED_LISTED_MAX = 100;
/** Prepared statements kept for reuse; past this the cache starts over, since OR lists vary. */
export const SEARCH_STATEMENT_CACHE_MAX = 256;
/** Largest page; a larger _count is lowered to this, as search.html#count allows. */
export const SEARCH_COUNT_MAX = 1000;
/** Most values (counting each comma-separated one) a single search may test, so one query stays cheap. */
export const SEARCH_VALUES_MAX = 100;
/** Resources one chained or _has parameter may resolve to (among those the caller may read); more is a 400. */
export const SEARCH_CHAIN_TARGETS_MAX = 1000;
/** Most resources the _revinclude values of one search may add, counting only what the caller may read; more is refused rather than cut short. */
export const REVINCLUDE_IDS_MAX = 10_000;
/**
 * How deep JSON objects and arrays may nest, counting the resource as 1. The deepest HL7 example
 * and Synthea bundle nest 11 levels; the limit leaves room for nested Questionnaire items and contained resources while
 * keeping the recursive checks (ours and medplum's) far from the stack limit.
 */
export const RESOURCE_NESTING_DEPTH_MAX = 64;
/** Deeper nesting than this is refused, so a hostile narrative cannot make the check costly. */
export const NARRATIVE_NESTING_DEPTH_MAX = 256;
/** Operations in one JSON Patch document (PATCH [type]/[id]). */
export const PATCH_OPERATION_COUNT_MAX = 1000;
/** What the copy operations of one JSON Patch may add to a resource, in all. */
export const PATCH_COPIED_BYTES_MAX = 1024 * 1024;
/** Characters in one FHIRPath Patch path evaluated as FHIRPath (the simple form is not). */
export const FHIRPATH_PATCH_PATH_MAX = 512;
/** Bulk export jobs held at once; more kick-offs are a 429 until one finishes or expires. */
export const EXPORT_JOBS_MAX = 8;
/** Of those, held by one client, so no client takes them all. */
export const EXPORT_JOBS_PER_OWNER_MAX = 3;
/** Resources one export page reads, logs (one access.search) and seals at a time. */
export const EXPORT_PAGE_COUNT = 1000;
/** Group members one export search names at once (as comma-separated `patient` values). */
export const EXPORT_GROUP_CHUNK = 50;
/** Patient members a Group export covers. */
export const EXPORT_GROUP_MEMBERS_MAX = 10_000;
/** Unserved records an export job lists in its error file. */
export const EXPORT_ERRORS_LISTED_MAX = 1000;
/** How long a bulk export job and its files are kept once it finishes. */
export const EXPORT_RETENTION_MS = 60 * 60 * 1000;
/** Subscriptions one principal may hold. */
export const SUBSCRIPTIONS_PER_OWNER_MAX = 32;
/** Tries of one notification (backing off from 1 s to 1 min) before its subscription is in error. */
export const SUBSCRIPTION_DELIVERY_ATTEMPTS_MAX = 12;
/** Subscriptions whose due notification is looked up at once (each then delivered on its own). */
export const SUBSCRIPTION_DELIVERY_BATCH_MAX = 64;
/** Entries of a batch Bundle in flight at once. */
export const BATCH_ENTRIES_IN_FLIGHT_MAX = 64;

/**
 * The most entries a Bundle may carry; more is a 413 'too-costly', refused before any entry is
 * looked at. As many as one records.batch holds: a transaction's writes must fit one.
 */
export const BUNDLE_ENTRIES_MAX = 1000;

// HTTP

/** Largest request body the server reads at all (a Synthea transaction Bundle reaches 3 MB); routes may set lower limits. */
export const HTTP_BODY_BYTES_MAX = 16 * 1024 * 1024;

/** Longest path parameter the router passes to a route (Fastify's default is 100, below what some routes must name in their refusals). */
export const URL_PARAM_LENGTH_MAX = 1024;

/** Time a client has to send the whole request head; slower ones are cut off (a slow-headers attack holds a socket otherwise). */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Time a client has to send the whole request, head and body. */
export const HTTP_REQUEST_TIMEOUT_MS = 60_000;
/** How long an idle keep-alive connection stays open between requests. */
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often the server looks for connections past their headers or request timeout. */
export const HTTP_TIMEOUT_CHECK_INTERVAL_MS = 1_000;

assert(HTTP_HEADERS_TIMEOUT_MS <= HTTP_REQUEST_TIMEOUT_MS, 'the head is part of the request');
assert(
  HTTP_TIMEOUT_CHECK_INTERVAL_MS < HTTP_HEADERS_TIMEOUT_MS,
  'timeouts are checked more often than they expire',
);

/** A per-user FHIR request budget: a token bucket of `capacity` requests, refilled at `perSecond`. */
export interface FhirRateLimit {
  readonly capacity: number;
  readonly perSecond: number;
}

/**
 * Each FHIR user's budget (keyed by the token's subject): 50 requests/s sustained, bursts of
 * 200. Generous for a clinician's client or an import (a Bundle is one request), tight enough
 * that no one token can drive the node's search and access log flat out.
 */
export const FHIR_RATE_LIMIT_DEFAULT: FhirRateLimit = { capacity: 200, perSecond: 50 };
/** Users whose buckets are remembered at once; past this, full buckets are forgotten first. */
export const FHIR_RATE_LIMIT_USERS_MAX = 100_000;

/** One HL7 v2 message framed over MLLP; a larger one closes the connection. */
export const MLLP_MESSAGE_BYTES_MAX = 1024 * 1024;
/** Messages of one MLLP connection awaiting their answer before the connection stops being read. */
export const MLLP_WAITING_MAX = 8;
/** Notifications a subscription's websocket may leave unread before it is ended. */
export const WEBSOCKET_UNREAD_BYTES_MAX = 1 << 20;
/** Most trail entries one GET /ledger/trail answers; `fromSeq` pages on. */
export const TRAIL_PAGE_MAX = 500;
/** Longest scope parameter read at all, in UTF-16 code units. */
export const SCOPE_PARAMETER_LENGTH_MAX = 4096;
/** Most scopes one scope parameter may list. */
export const SCOPE_COUNT_MAX = 64;
/** Longest password accepted, in UTF-16 code units. */
export const PASSWORD_LENGTH_MAX = 1024;
/** Sessions held at once; past this, signing in waits for one to lapse. */
export const ADMIN_SESSIONS_MAX = 1000;
/** Largest form body the token and authorization endpoints read, in bytes. */
export const FORM_BYTES_MAX = 64 * 1024;
/** Longest `jti` of a client assertion, remembered to refuse its replay. */
export const CLIENT_ASSERTION_JTI_LENGTH_MAX = 256;
/** Open streams one caller may have at once (a tab each); more are a 429. Counted per caller, so an auditor's streams never take a patient's places. */
export const TRAIL_STREAMS_PER_CALLER_MAX = 8;
/** Open streams on the whole node; more are a 503 with Retry-After. */
export const TRAIL_STREAMS_MAX = 256;
/** Bytes a client may leave unread before its stream is ended (it resumes from the last id it read). */
export const TRAIL_STREAM_UNREAD_BYTES_MAX = 1 << 20;
/** Most hits one search answers, newest first. */
export const ACCESS_SEARCH_LIMIT_MAX = 1000;
/** A review body is a verdict and at most a note of BTG_REASON_LENGTH_MAX characters. */
export const BTG_REVIEW_BODY_BYTES_MAX = 16 * 1024;

// CLI

/** Seconds the demo seed waits out an ordering cluster still electing its leader. */
export const DEMO_SEED_RETRIES_MAX = 60;

// Across layers: each bound must leave room for what the layer below may legitimately hold.

assert(
  HTTP_BODY_BYTES_MAX >= TX_WIRE_BYTES_MAX,
  'POST /ledger/tx must accept the largest transaction the ledger accepts',
);
assert(
  ETCD_TXN_BYTES_MAX >= TX_BYTES_MAX,
  'one etcd transaction must carry the largest transaction',
);
assert(
  ETCD_RECEIVE_MESSAGE_BYTES_MAX >= BLOCK_BYTES_MAX,
  'the largest block read back from etcd must fit one message',
);
assert(
  BUNDLE_ENTRIES_MAX <= BATCH_WRITE_COUNT_MAX,
  "a transaction Bundle's writes must commit in one records.batch",
);
assert(
  BLOB_BYTES_MAX >= RECORD_CIPHERTEXT_BYTES_MAX,
  'the blob store must hold the largest record ciphertext',
);
assert(
  ETCD_BLOCK_BYTES_MAX <= BLOCK_BYTES_MAX,
  'a block the etcd proposer cuts must be a valid block',
);
assert(EXPORT_PAGE_COUNT <= SEARCH_COUNT_MAX, 'an export page is one search page');
assert(EXPORT_GROUP_CHUNK < SEARCH_VALUES_MAX, 'a Group chunk and _lastUpdated fit one search');
assert(
  EXPORT_PAGE_COUNT <= SEARCH_RECORD_COUNT_MAX,
  'an export page is logged in one access.search',
);
