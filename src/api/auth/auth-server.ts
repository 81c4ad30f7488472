/**
 * The authorization server's state, bundled: the token issuer, the client and user registries,
 * the outstanding authorization codes, the client-assertion replay cache, the refresh tokens and the rate limiter,
 * all on one clock.
 */
import type { GenerateKeyPairResult } from 'jose';
import type { Keystore } from '../../storage/index.js';
import type { AccountDirectory } from './account-directory.js';
import { AdminSessions } from './admin-sessions.js';
import { InMemoryClientRegistry, type ClientRegistry } from './clients.js';
import { AuthorizationCodes } from './codes.js';
import { TokenBucketLimiter, type RateLimitOptions } from './rate-limit.js';
import { RefreshTokens } from './refresh-tokens.js';
import { ReplayCache } from './replay-cache.js';
import { sealedTokenKeyPair } from './token-key.js';
import { TokenIssuer } from './tokens.js';
import { InMemoryUserDirectory, type UserDirectory } from './users.js';

/** Where the authorization server's routes live, relative to the app's root. */
export const AUTH_PATHS = {
  smartConfiguration: '/.well-known/smart-configuration',
  authorize: '/auth/authorize',
  token: '/auth/token',
  jwks: '/auth/jwks',
  revoke: '/auth/revoke',
  activate: '/auth/activate',
  admin: '/auth/admin',
} as const;

/** The absolute URLs the server names in tokens and metadata. */
export interface AuthUrls {
  /** Tokens' `iss`: the URL at which the app's root is reached. */
  readonly issuer: string;
  /** Tokens' `aud`, and the `aud` an authorization request must name. */
  readonly fhirBase: string;
  readonly authorize: string;
  /** Also the `aud` a client assertion must name (SMART Backend Services). */
  readonly token: string;
  readonly jwks: string;
  /** The token revocation endpoint (RFC 7009), for refresh tokens: logout. */
  readonly revoke: string;
  /** Where a user activates their account with a one-time code. */
  readonly activate: string;
}

/** How to build an AuthServer. */
export interface AuthServerOptions {
  /** The external URL of the app's root, e.g. `https://node-a.example`; no query or fragment. */
  readonly issuer: string;
  /** The FHIR base URL, e.g. `https://node-a.example/fhir`. */
  readonly fhirBaseUrl: string;
  readonly clients?: ClientRegistry;
  /** Who may log in at the authorization endpoint; `accounts` if given, else nobody. */
  readonly users?: UserDirectory;
  /** The node's own accounts: with them, administrators manage accounts over the admin API. */
  readonly accounts?: AccountDirectory;
  /** The Ed25519 key pair that signs access tokens; taken from `keystore`, else generated, unless given. */
  readonly keyPair?: GenerateKeyPairResult;
  /** The node's keystore: the token-signing key is sealed there, so tokens outlive a restart. */
  readonly keystore?: Keystore;
  /** A SQLite file for the client-assertion replay cache, so a used assertion stays used across a restart; memory only unless given. */
  readonly replayCachePath?: string;
  /** A SQLite file for refresh tokens, so sessions outlive a restart; memory only unless given. */
  readonly refreshTokenPath?: string;
  readonly tokenLifetimeSeconds?: number;
  /** The per-address budget of the token and login endpoints; 20 per 10 s by default. */
  readonly rateLimit?: Omit<RateLimitOptions, 'clock'>;
  /** Milliseconds since the epoch; `Date.now` unless a test sets the time. */
  readonly clock?: () => number;
}

/** Everything the auth routes and the bearer-token check need. */
export class AuthServer {
  private constructor(
    readonly urls: AuthUrls,
    readonly tokens: TokenIssuer,
    readonly clients: ClientRegistry,
    readonly users: UserDirectory,
    readonly codes: AuthorizationCodes,
    readonly replay: ReplayCache,
    readonly refreshTokens: RefreshTokens,
    readonly limiter: TokenBucketLimiter,
    readonly clock: () => number,
    readonly accounts: AccountDirectory | undefined,
    readonly adminSessions: AdminSessions,
  ) {}

  /** Closes the replay cache's and the refresh tokens' files, if any. */
  close(): void {
    this.replay.close();
    this.refreshTokens.close();
  }

  /** Builds an AuthServer; throws TypeError if a URL is not an absolute http(s) URL without query or fragment. */
  static async create(options: AuthServerOptions): Promise<AuthServer> {
    const clock = options.clock ?? Date.now;
    const issuer = baseUrl(options.issuer, 'issuer');
    const urls: AuthUrls = {
      issuer,
      fhirBase: baseUrl(options.fhirBaseUrl, 'fhirBaseUrl'),
      authorize: issuer + AUTH_PATHS.authorize,
      token: issuer + AUTH_PATHS.token,
      jwks: issuer + AUTH_PATHS.jwks,
      revoke: issuer + AUTH_PATHS.revoke,
      activate: issuer + AUTH_PATHS.activate,
    };
    const keyPair =
      options.keyPair ??
      (options.keystore === undefined ? undefined : await sealedTokenKeyPair(options.keystore));
    const tokens = await TokenIssuer.create({
      issuer: urls.issuer,
      audience: urls.fhirBase,
      lifetimeSeconds: options.tokenLifetimeSeconds,
      keyPair,
      clock,
    });
    return new AuthServer(
      urls,
      tokens,
      options.clients ?? new InMemoryClientRegistry(),
      options.users ?? options.accounts ?? new InMemoryUserDirectory([]),
      new AuthorizationCodes({ clock }),
      new ReplayCache({
        clock,
        ...(options.replayCachePath === undefined ? {} : { path: options.replayCachePath }),
      }),
      new RefreshTokens({
        clock,
        ...(options.refreshTokenPath === undefined ? {} : { path: options.refreshTokenPath }),
      }),
      new TokenBucketLimiter({ ...options.rateLimit, clock }),
      clock,
      options.accounts,
      new AdminSessions(clock),
    );
  }
}

/** `url` without a trailing slash, checked to be an absolute http(s) URL with no query or fragment. */
function baseUrl(url: string, name: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${name} must be an absolute URL`);
  }
  if (
    !['http:', 'https:'].includes(parsed.protocol) ||
    parsed.search !== '' ||
    parsed.hash !== '' ||
    url.includes('?') ||
    url.includes('#')
  ) {
    throw new TypeError(`${name} must be an http(s) URL without query or fragment`);
  }
  return url.replace(/\/+$/, '');
}
