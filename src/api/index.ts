/** Public API of src/api: the HTTP server. */
export {
  buildServer,
  HTTP_BODY_BYTES_MAX,
  type HttpTimeouts,
  type MllpServerOptions,
  type ServerOptions,
  type TlsCredentials,
} from './server.js';
export { ApiError } from './api-error.js';
export {
  AuthServer,
  createDemoUsers,
  createNetworkDemoUsers,
  DEMO_PASSWORD,
  DEMO_USERS,
  InMemoryClientRegistry,
  publicClient,
  backendClient,
  CLIENTS_FILE,
  FileClientRegistry,
  generateJoseKeyPair,
  type BackendClient,
  type ClientFileHealth,
  type StoredClient,
} from './auth/index.js';
export {
  ACCOUNT_ROLES,
  AccountDirectory,
  accountState,
  ACCOUNTS_FILE,
  AccountStore,
  createAccount,
  isAccountRole,
  reissueActivation,
  resetPassword,
  resetSecondFactor,
  TOTP_ISSUER,
  totpUri,
  type AccountRole,
  type AccountRow,
  type IssuedSecrets,
} from './auth/index.js';
export {
  registerFhirRoutes,
  type FhirAuth,
  type FhirCaller,
  type FhirInteraction,
} from './fhir-routes.js';
