/** Public API of src/api/auth: a SMART App Launch 2.0 authorization server and the bearer-token check. */
export { AuthServer, AUTH_PATHS, type AuthServerOptions, type AuthUrls } from './auth-server.js';
export { registerAuthRoutes } from './plugin.js';
export { bearerPrincipal, bearerToken, requireScope } from './bearer.js';
export {
  AuthError,
  OAuthError,
  type BearerErrorCode,
  type OAuthErrorBody,
  type OAuthErrorCode,
} from './errors.js';
export {
  allows,
  formatScope,
  formatScopes,
  hasNamedScope,
  narrowScopes,
  parseScope,
  parseScopes,
  ScopeError,
  type Interaction,
  type NamedScope,
  type NamedScopeName,
  type ResourceScope,
  type Scope,
  type ScopeContext,
} from './scopes.js';
export { FHIR_RESOURCE_TYPES } from './resource-types.js';
export {
  ACCESS_TOKEN_ALG,
  ACCESS_TOKEN_TYP,
  CLOCK_TOLERANCE_SECONDS,
  TOKEN_LIFETIME_DEFAULT_SECONDS,
  TOKEN_LIFETIME_MAX_SECONDS,
  TokenIssuer,
  type AccessGrant,
  type TokenIssuerOptions,
} from './tokens.js';
export {
  backendClient,
  CLIENT_ASSERTION_ALGS,
  InMemoryClientRegistry,
  publicClient,
  type BackendClient,
  type Client,
  type ClientRegistry,
  type PublicClient,
} from './clients.js';
export {
  CLIENTS_FILE,
  FileClientRegistry,
  type ClientFileHealth,
  type StoredClient,
} from './client-file.js';
export { generateJoseKeyPair } from './jose-keys.js';
export {
  AUTHORIZATION_CODE_LIFETIME_MS,
  AuthorizationCodes,
  type CodeBinding,
  type PendingCode,
} from './codes.js';
export { sealedTokenKeyPair, TOKEN_KEY_ENTRY } from './token-key.js';
export { ReplayCache, type ReplayCheck } from './replay-cache.js';
export {
  RATE_LIMIT_DEFAULTS,
  TokenBucketLimiter,
  type RateDecision,
  type RateLimitOptions,
} from './rate-limit.js';
export {
  authorizationCodeGrant,
  challengeMatches,
  CLIENT_ASSERTION_LIFETIME_MAX_SECONDS,
  CLIENT_ASSERTION_TYPE,
  clientCredentialsGrant,
  handleTokenRequest,
  type TokenResponse,
} from './token-endpoint.js';
export { authorizeGet, authorizePost, type AuthorizeResponse } from './authorize.js';
export {
  smartConfiguration,
  SMART_CAPABILITIES,
  type SmartConfiguration,
} from './smart-configuration.js';
export {
  hashPassword,
  InMemoryUserDirectory,
  verifyPassword,
  type Activation,
  type ActivationOutcome,
  type Credentials,
  type SignIn,
  type User,
  type UserDirectory,
  type UserRecord,
} from './users.js';
export {
  createDemoUsers,
  createNetworkDemoUsers,
  DEMO_PASSWORD,
  DEMO_USERS,
} from './demo-users.js';
export {
  ACCOUNT_ROLES,
  isAccountRole,
  ROLE_PROFILES,
  type AccountRole,
  type RoleProfile,
} from './account-roles.js';
export {
  AccountConflictError,
  accountState,
  ACCOUNTS_FILE,
  AccountStore,
  type AccountRow,
} from './account-store.js';
export { AccountDirectory, type AccountDirectoryOptions } from './account-directory.js';
export {
  ACTIVATION_LIFETIME_MS,
  AccountInputError,
  createAccount,
  PASSWORD_LENGTH_MIN,
  reissueActivation,
  resetPassword,
  resetSecondFactor,
  type AccountRequest,
  type IssuedSecrets,
} from './account-admin.js';
export { totpUri } from './totp.js';
export { TOTP_ISSUER } from './admin-routes.js';
