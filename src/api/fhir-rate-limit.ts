/**
 * Rate limiting for /fhir per user: the token's subject (its principal), not the client address,
 * so one user cannot spread load over many connections and a shared proxy does not throttle
 * everyone behind it. Past the budget a request is a 429 OperationOutcome with Retry-After.
 */
import { principalKey } from '../contracts/index.js';
import { FhirError } from '../fhir/index.js';
import { TokenBucketLimiter } from './auth/index.js';
import type { FhirAuth } from './fhir-routes.js';
import { FHIR_RATE_LIMIT_USERS_MAX, type FhirRateLimit } from '../ledger/index.js';

/**
 * `auth` with every authenticated request taking one token from its user's bucket. Throws
 * FhirError 429 'throttled' with Retry-After (whole seconds) when the bucket is empty; what
 * `auth` throws (a 401) first, so unauthenticated requests never touch a user's budget.
 */
export function rateLimitedAuth(
  auth: FhirAuth,
  limit: FhirRateLimit,
  clock: () => number = Date.now,
): FhirAuth {
  if (!(limit.perSecond > 0)) throw new RangeError('limit.perSecond must be positive');
  const limiter = new TokenBucketLimiter({
    capacity: limit.capacity,
    intervalMs: (limit.capacity / limit.perSecond) * 1000,
    maxKeys: FHIR_RATE_LIMIT_USERS_MAX,
    clock,
  });
  const limited: FhirAuth = {
    async authenticate(request) {
      const caller = await auth.authenticate(request);
      const decision = limiter.take(principalKey(caller.principal));
      if (!decision.allowed) {
        const issue = {
          severity: 'error' as const,
          code: 'throttled' as const,
          diagnostics: `too many requests for this user; retry after ${decision.retryAfterSeconds} s`,
        };
        throw new FhirError(429, [issue], { 'Retry-After': String(decision.retryAfterSeconds) });
      }
      return caller;
    },
  };
  return auth.endpoints === undefined ? limited : { ...limited, endpoints: auth.endpoints };
}
