/**
 * Access tokens: JWTs (RFC 7519, profiled by RFC 9068) signed with the server's Ed25519 key.
 * Verification follows RFC 8725: one allowed algorithm, an explicit `typ`, the issuer and
 * audience checked, and a bounded clock tolerance.
 */
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  exportJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type GenerateKeyPairResult,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Principal } from '../../contracts/index.js';
import { VERIFIED_TOKEN_COUNT_MAX } from '../../ledger/index.js';
import { AuthError } from './errors.js';
import { generateJoseKeyPair } from './jose-keys.js';
import { formatScopes, parseScopes, ScopeError, type Scope } from './scopes.js';

/** The only signature algorithm access tokens carry or are accepted with. */
export const ACCESS_TOKEN_ALG = 'EdDSA';
/** The JOSE `typ` of an access token (RFC 9068 §2.1), so no other JWT passes for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Lifetime of an access token unless configured otherwise, in seconds. */
export const TOKEN_LIFETIME_DEFAULT_SECONDS = 300;
/** Longest lifetime an issuer may be configured with, in seconds. */
export const TOKEN_LIFETIME_MAX_SECONDS = 3600;
/** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** Why a token signed with a key this node does not hold is refused. */
export const UNKNOWN_KEY_DESCRIPTION =
  'the access token is not valid for this node (it was signed with a key this node does not hold, e.g. before a key change); log in again';

const PRINCIPAL_KINDS: ReadonlySet<string> = new Set<Principal['kind']>([
  'practitioner',
  'patient',
  'auditor',
  'system',
]);

/** What an access token grants: who, with which scopes, and in which launch context. */
export interface AccessGrant {
  readonly principal: Principal;
  readonly scopes: readonly Scope[];
  /** The FHIR resource of the user, e.g. `Practitioner/dr-a`; absent for backend (system) clients. */
  readonly fhirUser?: string;
  /** The patient in context (SMART launch context `patient`), when there is one. */
  readonly patient?: string;
  /** The client the token was issued to (RFC 9068 `client_id`). */
  readonly clientId?: string;
}

/** A verified token: its grant, and when it was issued, in milliseconds since the epoch. */
export interface VerifiedToken {
  readonly grant: AccessGrant;
  readonly issuedAtMs: number;
}

/**
 * The private claim holding the issue time in milliseconds: `iat` has whole seconds, and a
 * session ended in the same second as a sign-in after it would otherwise void the new token.
 */
const ISSUED_MS_CLAIM = 'chartchain_issued_ms';

/** When `payload` was issued, in ms: its ISSUED_MS_CLAIM when that agrees with `iat`, else `iat`. */
function issuedAtMsOf(payload: JWTPayload): number {
  const fromIat = payload.iat! * 1000;
  const claimed = payload[ISSUED_MS_CLAIM];
  return typeof claimed === 'number' && claimed >= fromIat && claimed < fromIat + 1000
    ? claimed
    : fromIat;
}

/** How to build a TokenIssuer. */
export interface TokenIssuerOptions {
  /** The token's `iss`: the authorization server's URL. */
  readonly issuer: string;
  /** The token's `aud`: the FHIR base URL. */
  readonly audience: string;
  /** Seconds from issue to expiry; default 300, at most 3600. */
  readonly lifetimeSeconds?: number | undefined;
  /** An Ed25519 key pair to sign with; one is generated if not given. */
  readonly keyPair?: GenerateKeyPairResult | undefined;
  /** Milliseconds since the epoch; `Date.now` unless a test sets the time. */
  readonly clock?: () => number;
}

/** Signs and verifies access tokens with one Ed25519 key pair. */
export class TokenIssuer {
  private constructor(
    readonly issuer: string,
    readonly audience: string,
    readonly lifetimeSeconds: number,
    private readonly keys: GenerateKeyPairResult,
    private readonly publicJwk: JWK & { kid: string },
    private readonly clock: () => number,
  ) {}

  /**
   * Tokens already verified, by their text, with their expiry: a client sends one token with
   * every request, and checking its signature again each time cost a twentieth of a FHIR
   * create's main-thread time. Only the clock can make a verified token invalid.
   */
  readonly #verified = new Map<string, VerifiedToken & { readonly expiresAt: number }>();

  /** Builds an issuer, generating its key pair unless `options.keyPair` is given. */
  static async create(options: TokenIssuerOptions): Promise<TokenIssuer> {
    const lifetime = checkedLifetime(options.lifetimeSeconds ?? TOKEN_LIFETIME_DEFAULT_SECONDS);
    const keys = options.keyPair ?? (await generateJoseKeyPair(ACCESS_TOKEN_ALG));
    if (keyAlgorithm(keys.publicKey) !== 'Ed25519' || keyAlgorithm(keys.privateKey) !== 'Ed25519')
      throw new TypeError('the token key pair must be Ed25519');
    const exported = await exportJWK(keys.publicKey);
    const { kty, crv, x } = exported;
    if (kty === undefined || crv === undefined || x === undefined)
      throw new TypeError('the token public key does not export as an OKP JWK');
    const publicJwk = {
      kty,
      crv,
      x,
      kid: await calculateJwkThumbprint(exported),
      alg: ACCESS_TOKEN_ALG,
      use: 'sig',
    };
    return new TokenIssuer(
      options.issuer,
      options.audience,
      lifetime,
      keys,
      publicJwk,
      options.clock ?? Date.now,
    );
  }

  /** The key id (RFC 7638 thumbprint) that tokens name in their header. */
  get keyId(): string {
    return this.publicJwk.kid;
  }

  /** Signs an access token for `grant`; it expires `lifetimeSeconds` from now. */
  async issue(grant: AccessGrant): Promise<string> {
    const nowMs = this.clock();
    const now = Math.floor(nowMs / 1000);
    return new SignJWT({ ...claimsOf(grant), [ISSUED_MS_CLAIM]: nowMs })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: ACCESS_TOKEN_TYP, kid: this.keyId })
      .setIssuer(this.issuer)
      .setSubject(subjectOf(grant.principal))
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.keys.privateKey);
  }

  /** The grant `token` carries; throws AuthError (invalid_token or expired_token) if it is not one of ours and current. */
  async verify(token: string): Promise<AccessGrant> {
    return (await this.verifyToken(token)).grant;
  }

  /** The grant `token` carries and when it was issued; throws as verify() does. */
  async verifyToken(token: string): Promise<VerifiedToken> {
    const now = Math.floor(this.clock() / 1000);
    const verified = this.#verified.get(token);
    if (verified !== undefined && verified.expiresAt > now - CLOCK_TOLERANCE_SECONDS)
      return { grant: verified.grant, issuedAtMs: verified.issuedAtMs };
    this.#verified.delete(token); // An expired one is refused below, as expired.
    // A token naming another key was never forged against ours: the node's key changed (a
    // rotation, a restored data directory) or the token is another node's. Say so, rather than
    // report a signature failure that reads as tampering.
    const keyId = headerKeyId(token);
    if (keyId !== undefined && keyId !== this.keyId)
      throw new AuthError('invalid_token', UNKNOWN_KEY_DESCRIPTION);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: [ACCESS_TOKEN_ALG],
        typ: ACCESS_TOKEN_TYP,
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'scope', 'chartchain_principal'],
      }));
    } catch (error) {
      throw refusalOf(error);
    }
    // Frozen: every request with this token is handed the same grant.
    const result = { grant: deepFrozen(grantOf(payload)), issuedAtMs: issuedAtMsOf(payload) };
    if (this.#verified.size >= VERIFIED_TOKEN_COUNT_MAX) this.#verified.clear();
    this.#verified.set(token, { ...result, expiresAt: payload.exp! });
    return result;
  }

  /** The public key set (RFC 7517) that verifies this issuer's tokens. */
  jwks(): JSONWebKeySet {
    return { keys: [{ ...this.publicJwk }] };
  }
}

/** The `kid` of the token's protected header, or undefined when it has none or does not parse. */
function headerKeyId(token: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

function checkedLifetime(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > TOKEN_LIFETIME_MAX_SECONDS) {
    throw new RangeError(
      `token lifetime must be a whole number of seconds from 1 to ${TOKEN_LIFETIME_MAX_SECONDS}`,
    );
  }
  return seconds;
}

function keyAlgorithm(key: CryptoKey): string {
  return (key.algorithm as { name?: string }).name ?? '';
}

function deepFrozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFrozen(item);
    Object.freeze(value);
  }
  return value;
}

/** `sub`: unique across organisations, e.g. `practice-a/practitioner/dr-a`. */
function subjectOf(principal: Principal): string {
  return `${principal.org}/${principal.kind}/${principal.id}`;
}

function claimsOf(grant: AccessGrant): JWTPayload {
  const { kind, id, org } = grant.principal;
  return {
    scope: formatScopes(grant.scopes),
    chartchain_principal: { kind, id, org },
    ...(grant.fhirUser === undefined ? {} : { fhirUser: grant.fhirUser }),
    ...(grant.patient === undefined ? {} : { patient: grant.patient }),
    ...(grant.clientId === undefined ? {} : { client_id: grant.clientId }),
  };
}

function refusalOf(error: unknown): AuthError {
  if (error instanceof errors.JWTExpired)
    return new AuthError('expired_token', 'the access token has expired');
  if (error instanceof errors.JOSEError)
    return new AuthError('invalid_token', `the access token is not valid: ${error.message}`);
  throw error;
}

/** Reads the grant out of verified claims; a well-signed token of another shape is still invalid. */
function grantOf(payload: JWTPayload): AccessGrant {
  const principal = principalOf(payload['chartchain_principal']);
  if (payload.sub !== subjectOf(principal))
    throw new AuthError('invalid_token', 'the token subject does not match its principal');
  const scopes = scopesOf(payload['scope']);
  const clientId = payload['client_id'];
  return {
    // A system principal acts through a registered client: the ledger names which one.
    principal:
      principal.kind === 'system' && typeof clientId === 'string' && clientId !== ''
        ? { ...principal, client: clientId }
        : principal,
    scopes,
    ...optionalString(payload, 'fhirUser', 'fhirUser'),
    ...optionalString(payload, 'patient', 'patient'),
    ...optionalString(payload, 'client_id', 'clientId'),
  };
}

function principalOf(value: unknown): Principal {
  const { kind, id, org } = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  if (typeof kind !== 'string' || !PRINCIPAL_KINDS.has(kind) || !nonEmpty(id) || !nonEmpty(org)) {
    throw new AuthError('invalid_token', 'the token carries no valid chartchain_principal');
  }
  return { kind: kind as Principal['kind'], id, org };
}

function scopesOf(value: unknown): Scope[] {
  if (typeof value !== 'string')
    throw new AuthError('invalid_token', 'the token scope claim is not a string');
  try {
    return parseScopes(value);
  } catch (error) {
    if (error instanceof ScopeError)
      throw new AuthError('invalid_token', `the token scope claim is malformed: ${error.message}`);
    throw error;
  }
}

function optionalString<K extends string>(
  payload: JWTPayload,
  claim: string,
  key: K,
): Partial<Record<K, string>> {
  const value = payload[claim];
  if (value === undefined) return {};
  if (!nonEmpty(value))
    throw new AuthError('invalid_token', `the token ${claim} claim is not a string`);
  return { [key]: value } as Partial<Record<K, string>>;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
