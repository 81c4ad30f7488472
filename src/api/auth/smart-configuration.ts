/**
 * The SMART App Launch 2.0 discovery document served at `.well-known/smart-configuration`. It
 * lists only what works: no OpenID Connect (so no `issuer`, which SMART says to omit without
 * `sso-openid-connect`), no EHR launch. Refresh tokens go to users' apps granted `offline_access`.
 */
import type { AuthServer } from './auth-server.js';
import { CLIENT_ASSERTION_ALGS } from './clients.js';

/** The metadata fields this server publishes. */
export interface SmartConfiguration {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  scopes_supported: string[];
  response_types_supported: string[];
  code_challenge_methods_supported: string[];
  capabilities: string[];
}

/** The capabilities this server actually implements (SMART App Launch 2.0 §Capabilities). */
export const SMART_CAPABILITIES = [
  'launch-standalone',
  'client-public',
  'client-confidential-asymmetric',
  'context-standalone-patient',
  'permission-patient',
  'permission-user',
  'permission-v2',
  'permission-offline',
] as const;

/** The discovery document for `auth`. */
export function smartConfiguration(auth: AuthServer): SmartConfiguration {
  return {
    authorization_endpoint: auth.urls.authorize,
    token_endpoint: auth.urls.token,
    jwks_uri: auth.urls.jwks,
    revocation_endpoint: auth.urls.revoke,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    scopes_supported: [
      'patient/*.rs',
      'user/*.cruds',
      'system/*.rs',
      'launch/patient',
      'offline_access',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [...SMART_CAPABILITIES],
  };
}
