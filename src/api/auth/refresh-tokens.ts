/**
 * Refresh tokens (RFC 6749 §6) for users' apps, rotated at every use (OAuth 2.0 Security BCP,
 * RFC 9700 §4.14.2): redeeming one returns its successor in the same family, and presenting
 * one already redeemed (a stolen copy, or the thief's) revokes the whole family. Only a
 * SHA-256 of each token is kept. A token lapses after eight idle hours; a family, thirty days
 * after its sign-in. Revoking one (logout, RFC 7009) revokes its family.
 */
import { createHash, randomBytes } from 'node:crypto';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';
import { OAuthError } from './errors.js';
import { formatScopes, parseScopes } from './scopes.js';
import type { AccessGrant } from './tokens.js';

/** How long an unused refresh token stays good. */
export const REFRESH_TOKEN_IDLE_MS = 8 * 3600_000;
/** How long a family lasts from its sign-in, however often it is refreshed. */
export const REFRESH_FAMILY_MAX_MS = 30 * 24 * 3600_000;

/** The sign-in a refresh token descends from. */
export interface RefreshFamily {
  readonly id: string;
  /** When the user signed in (ms since the epoch). */
  readonly startedAt: number;
}

/** What redeeming a refresh token gives: the grant to renew, and its family. */
export interface Redeemed {
  readonly grant: AccessGrant;
  readonly family: RefreshFamily;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS refresh_token (
  token_hash TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  family_started INTEGER NOT NULL,
  client_id TEXT NOT NULL,
  grant_json TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_token_family ON refresh_token (family)`;

interface Row {
  family: string;
  family_started: number;
  client_id: string;
  grant_json: string;
  expires_at: number;
  used: number;
}

/** The refresh tokens of one authorization server, in a SQLite file or in memory. */
export class RefreshTokens {
  readonly #db: SqliteDatabase;
  readonly #clock: () => number;

  /** Opens (creating) the file at `options.path`, or keeps tokens in memory. Throws what SQLite throws on a damaged file. */
  constructor(options: { path?: string; clock?: () => number } = {}) {
    this.#db = openDatabase(options.path ?? ':memory:');
    this.#db.exec(SCHEMA);
    this.#clock = options.clock ?? Date.now;
  }

  /** A new refresh token for `grant`, issued to `clientId`: the next of `family`, or the first of a new one for a sign-in at `startedAt` (now by default). */
  issue(
    grant: AccessGrant,
    clientId: string,
    family: RefreshFamily | { readonly startedAt: number } = { startedAt: this.#clock() },
  ): string {
    const now = this.#clock();
    const { id, startedAt } =
      'id' in family
        ? family
        : { id: randomBytes(16).toString('base64url'), startedAt: family.startedAt };
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Math.min(now + REFRESH_TOKEN_IDLE_MS, startedAt + REFRESH_FAMILY_MAX_MS);
    this.#db
      .prepare(
        'DELETE FROM refresh_token WHERE expires_at <= ? AND family NOT IN (SELECT family FROM refresh_token WHERE expires_at > ?)',
      )
      .run(now, now);
    this.#db
      .prepare(
        'INSERT INTO refresh_token (token_hash, family, family_started, client_id, grant_json, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        hashOf(token),
        id,
        startedAt,
        clientId,
        JSON.stringify({ ...grant, scopes: formatScopes(grant.scopes) }),
        expiresAt,
      );
    return token;
  }

  /**
   * Redeems `token` for `clientId`, once. Throws OAuthError invalid_grant if it is unknown,
   * expired, another client's, or used before, which also revokes its family. `check` sees the
   * grant and its family first: if it throws (a request the grant cannot honour, a session that
   * cannot be told yet), the token stays unused.
   */
  redeem(
    token: string,
    clientId: string,
    check: (grant: AccessGrant, family: RefreshFamily) => void = () => undefined,
  ): Redeemed {
    const row = this.#db
      .prepare<[string], Row>(
        'SELECT family, family_started, client_id, grant_json, expires_at, used FROM refresh_token WHERE token_hash = ?',
      )
      .get(hashOf(token));
    if (row === undefined || row.expires_at <= this.#clock())
      throw new OAuthError(
        'invalid_grant',
        'the refresh token is unknown or expired; sign in again',
      );
    if (row.client_id !== clientId)
      throw new OAuthError('invalid_grant', 'the refresh token was issued to another client');
    if (row.used === 1) {
      this.revokeFamily(row.family);
      throw new OAuthError(
        'invalid_grant',
        'the refresh token was used before, so its session is revoked; sign in again',
      );
    }
    const stored = JSON.parse(row.grant_json) as Omit<AccessGrant, 'scopes'> & { scopes: string };
    const grant = { ...stored, scopes: parseScopes(stored.scopes) };
    const family = { id: row.family, startedAt: row.family_started };
    check(grant, family);
    this.#db.prepare('UPDATE refresh_token SET used = 1 WHERE token_hash = ?').run(hashOf(token));
    return { grant, family };
  }

  /** Revokes the family of `token` if it was issued to `clientId` (RFC 7009 §2.1); unknown tokens are ignored. */
  revoke(token: string, clientId: string): void {
    const row = this.#db
      .prepare<[string], { family: string; client_id: string }>(
        'SELECT family, client_id FROM refresh_token WHERE token_hash = ?',
      )
      .get(hashOf(token));
    if (row !== undefined && row.client_id === clientId) this.revokeFamily(row.family);
  }

  /** Revokes every token of family `id`. */
  revokeFamily(id: string): void {
    this.#db.prepare('DELETE FROM refresh_token WHERE family = ?').run(id);
  }

  close(): void {
    this.#db.close();
  }
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
