/**
 * Sessions of organisation administrators at the account management API: an opaque random
 * token per sign-in, held in memory only (a restart signs every administrator out), good for
 * fifteen minutes and only while the account stays an enabled administrator whose sessions
 * were not ended since. They are not
 * access tokens: they open no FHIR or ledger route, and no access token opens the admin API.
 */
import { randomBytes } from 'node:crypto';
import { ADMIN_SESSIONS_MAX } from '../../ledger/index.js';

/** How long an admin session lasts from sign-in. */
export const ADMIN_SESSION_MS = 15 * 60_000;

/** A new admin session's token and lifetime. */
export interface AdminSession {
  readonly token: string;
  readonly expiresInSeconds: number;
}

/** Whose an open session is, and since when. */
export interface OpenSession {
  readonly username: string;
  /** When the administrator signed in (ms since the epoch). */
  readonly openedAt: number;
  readonly expires: number;
}

/** The open admin sessions of one node. */
export class AdminSessions {
  readonly #sessions = new Map<string, OpenSession>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Opens a session for `username`; undefined when too many are open. */
  open(username: string): AdminSession | undefined {
    const now = this.#clock();
    for (const [token, session] of this.#sessions)
      if (session.expires <= now) this.#sessions.delete(token);
    if (this.#sessions.size >= ADMIN_SESSIONS_MAX) return undefined;
    const token = randomBytes(32).toString('base64url');
    this.#sessions.set(token, { username, openedAt: now, expires: now + ADMIN_SESSION_MS });
    return { token, expiresInSeconds: ADMIN_SESSION_MS / 1000 };
  }

  /** The unexpired session `token` opens. */
  find(token: string): OpenSession | undefined {
    const session = this.#sessions.get(token);
    return session === undefined || session.expires <= this.#clock() ? undefined : session;
  }

  /** Ends the session `token`, if open. */
  close(token: string): void {
    this.#sessions.delete(token);
  }
}
