/** Bounds on what the HTTP server reads, and for how long it waits. */
import assert from 'node:assert/strict';

/** Largest request body the server reads at all (a Synthea transaction Bundle reaches 3 MB); routes may set lower limits. */
export const HTTP_BODY_BYTES_MAX = 16 * 1024 * 1024;

/** Time a client has to send the whole request head; slower ones are cut off (a slow-headers attack holds a socket otherwise). */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Time a client has to send the whole request, head and body. */
export const HTTP_REQUEST_TIMEOUT_MS = 60_000;
/** How long an idle keep-alive connection stays open between requests. */
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often the server looks for connections past their headers or request timeout. */
export const HTTP_TIMEOUT_CHECK_INTERVAL_MS = 1_000;

assert(HTTP_HEADERS_TIMEOUT_MS <= HTTP_REQUEST_TIMEOUT_MS, 'the head is part of the request');
assert(HTTP_TIMEOUT_CHECK_INTERVAL_MS < HTTP_HEADERS_TIMEOUT_MS, 'timeouts are checked more often than they expire');

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
