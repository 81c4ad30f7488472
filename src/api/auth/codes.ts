/**
 * Authorization codes (RFC 6749 §4.1.2): random, single-use, valid for 60 seconds, and bound
 * to the client, the redirect URI and the PKCE code challenge (RFC 7636) they were issued for.
 * Only a SHA-256 of each code is kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccessGrant } from './tokens.js';

/** How long a code may wait to be redeemed, in milliseconds. */
export const AUTHORIZATION_CODE_LIFETIME_MS = 60_000;
/** Most codes outstanding at once unless configured otherwise. */
export const PENDING_CODES_MAX_DEFAULT = 10_000;

/** What a code was issued for, and what redeeming it grants. */
export interface CodeBinding {
  readonly clientId: string;
  readonly redirectUri: string;
  /** BASE64URL(SHA-256(code_verifier)): the S256 challenge (RFC 7636 §4.2). */
  readonly codeChallenge: string;
  readonly grant: AccessGrant;
  /** When the user signed in (ms since the epoch): their session, and any refresh family, dates from then. */
  readonly signedInAt: number;
}

/** A code's binding and when it stops being redeemable. */
export interface PendingCode extends CodeBinding {
  readonly expiresAt: number;
}

/** The outstanding authorization codes. */
export class AuthorizationCodes {
  private readonly pending = new Map<string, PendingCode>();
  private readonly clock: () => number;
  private readonly capacity: number;

  constructor(options: { clock?: () => number; capacity?: number } = {}) {
    this.clock = options.clock ?? Date.now;
    this.capacity = options.capacity ?? PENDING_CODES_MAX_DEFAULT;
  }

  /** A fresh code for `binding`, or undefined if too many codes are outstanding. */
  issue(binding: CodeBinding): string | undefined {
    if (this.pending.size >= this.capacity) this.purge();
    if (this.pending.size >= this.capacity) return undefined;
    const code = randomBytes(32).toString('base64url');
    this.pending.set(digest(code), {
      ...binding,
      expiresAt: this.clock() + AUTHORIZATION_CODE_LIFETIME_MS,
    });
    return code;
  }

  /** The binding of `code`, once: it is forgotten on first redemption, and undefined once expired. */
  redeem(code: string): PendingCode | undefined {
    const key = digest(code);
    const found = this.pending.get(key);
    this.pending.delete(key);
    return found !== undefined && found.expiresAt > this.clock() ? found : undefined;
  }

  private purge(): void {
    const now = this.clock();
    for (const [key, code] of this.pending) if (code.expiresAt <= now) this.pending.delete(key);
  }
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('base64url');
}
