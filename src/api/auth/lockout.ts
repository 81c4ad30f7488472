/**
 * Per-account lockout with back-off: a few free failures, then each further failure locks the
 * account for twice as long as the last, up to a ceiling. Beside the per-address rate limit,
 * it stops a password being guessed slowly from many addresses.
 */

/** Consecutive failures allowed before the account locks. */
export const LOCKOUT_FREE_FAILURES = 5;
/** The first lock's length. */
export const LOCKOUT_FIRST_MS = 30_000;
/** The longest lock. */
export const LOCKOUT_MAX_MS = 15 * 60_000;

/** Until when (ms since the epoch) an account with `failures` consecutive failures, the last at `nowMs`, is locked; 0 if it is not. */
export function lockedUntil(failures: number, nowMs: number): number {
  if (failures < LOCKOUT_FREE_FAILURES) return 0;
  const doublings = Math.min(failures - LOCKOUT_FREE_FAILURES, 10);
  return nowMs + Math.min(LOCKOUT_FIRST_MS * 2 ** doublings, LOCKOUT_MAX_MS);
}
