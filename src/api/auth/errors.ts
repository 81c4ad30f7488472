/**
 * The two error vocabularies of the authorization module: RFC 6750 §3.1 for protected
 * resources (a bearer token was missing, bad or too narrow) and RFC 6749 §5.2 for the token
 * endpoint. Messages name what was wrong, never a secret or patient data.
 */

/** Why a bearer token was refused (RFC 6750 §3.1; `expired_token` tells expiry apart). */
export type BearerErrorCode = 'invalid_token' | 'expired_token' | 'insufficient_scope';

/** A refused bearer token: 401 unless the token was good but its scopes too narrow (403). */
export class AuthError extends Error {
  /** 401 for a missing, invalid or expired token; 403 for insufficient_scope. */
  readonly statusCode: 401 | 403;

  constructor(
    readonly code: BearerErrorCode,
    description: string,
    /** False when the request carried no token at all: RFC 6750 §3.1 then names no error. */
    readonly tokenPresented = true,
  ) {
    super(description);
    this.name = 'AuthError';
    this.statusCode = code === 'insufficient_scope' ? 403 : 401;
  }

  /** The WWW-Authenticate challenge for this refusal (RFC 6750 §3). */
  challenge(realm = 'chartchain'): string {
    if (!this.tokenPresented) return `Bearer realm="${realm}"`;
    // RFC 6750 registers no expired_token: an expired token is an invalid_token there.
    const code = this.code === 'expired_token' ? 'invalid_token' : this.code;
    return `Bearer realm="${realm}", error="${code}", error_description="${quotable(this.message)}"`;
  }
}

/** Error codes of the token and authorization endpoints (RFC 6749 §4.1.2.1, §5.2). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'temporarily_unavailable';

/** The JSON body of an OAuth error response (RFC 6749 §5.2). */
export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description: string;
}

/** An OAuth refusal: 401 for invalid_client, 503 when temporarily unavailable, else 400. */
export class OAuthError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: OAuthErrorCode,
    description: string,
    statusCode?: number,
    /** Seconds to send in Retry-After, when the client should come back later. */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
    this.name = 'OAuthError';
    this.statusCode = statusCode ?? defaultStatus(code);
  }

  /** The response body of RFC 6749 §5.2. */
  body(): OAuthErrorBody {
    return { error: this.code, error_description: this.message };
  }
}

function defaultStatus(code: OAuthErrorCode): number {
  if (code === 'invalid_client') return 401;
  return code === 'temporarily_unavailable' ? 503 : 400;
}

/** error_description allows %x20-21 / %x23-5B / %x5D-7E only (RFC 6750 §3). */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?');
}
