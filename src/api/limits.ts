/** Bounds on what the HTTP server reads. */

/** Largest request body the server reads at all (a Synthea transaction Bundle reaches 3 MB); routes may set lower limits. */
export const HTTP_BODY_BYTES_MAX = 16 * 1024 * 1024;

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
