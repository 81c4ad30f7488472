/**
 * Time-based one-time passwords (RFC 6238): SHA-1, 6 digits, 30-second steps, as every
 * authenticator app expects. A code is accepted one step either side of now, for clock skew,
 * and only for a step later than the last one accepted, so a code seen over a shoulder cannot
 * be replayed.
 */
import { generateSecret, generateURI, verifySync } from 'otplib';

/** Steps either side of now a code may be from. */
const TOLERANCE_SECONDS = 30;
const CODE_PATTERN = /^[0-9]{6}$/;

/** A fresh shared secret, base32 (RFC 4648), 160 bits as RFC 4226 §4 recommends. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The `otpauth://` URI an authenticator app enrols from (as text or a QR code). */
export function totpUri(issuer: string, account: string, secret: string): string {
  return generateURI({ issuer, label: account, secret });
}

/**
 * The time step `code` belongs to, if it is a valid code for `secret` at `nowMs` and from a
 * step after `lastStep`; otherwise undefined.
 */
export function acceptedTotpStep(
  secret: string,
  code: string,
  nowMs: number,
  lastStep: number,
): number | undefined {
  if (!CODE_PATTERN.test(code)) return undefined;
  const result = verifySync({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOLERANCE_SECONDS,
  });
  if (!result.valid || !('timeStep' in result) || result.timeStep <= lastStep) return undefined;
  return result.timeStep;
}
