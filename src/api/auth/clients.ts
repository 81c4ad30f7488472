/**
 * Registered OAuth clients. Backend clients (SMART Backend Services) authenticate with a JWT
 * signed by a key in their registered JWK set (private_key_jwt, RFC 7523) and act as their
 * organisation; public clients (browser or native apps) authenticate nobody and are bound to
 * exact redirect URIs, with PKCE protecting their codes (RFC 7636).
 */
import type { JSONWebKeySet, JWK } from 'jose';
import { CLIENT_ID_PATTERN, type Principal } from '../../contracts/index.js';
import { formatScope, parseScopes, type Scope } from './scopes.js';

/** Algorithms a client assertion may be signed with: SMART's required RS384 and ES384, and EdDSA. */
export const CLIENT_ASSERTION_ALGS = ['ES384', 'RS384', 'EdDSA'] as const;

/** A confidential client with asymmetric keys that acts as its organisation, e.g. a lab system. */
export interface BackendClient {
  readonly kind: 'backend';
  readonly clientId: string;
  /** Public keys only; an assertion must verify against one of them. */
  readonly jwks: JSONWebKeySet;
  /** The most this client may be granted; all `system/` scopes. */
  readonly scopes: readonly Scope[];
  /** Who the client acts as: `{ kind: 'system', id: org, org }`. */
  readonly principal: Principal;
}

/** An app that cannot keep a secret; it gets codes only at its registered redirect URIs. */
export interface PublicClient {
  readonly kind: 'public';
  readonly clientId: string;
  /** Absolute URIs, compared by exact string match (RFC 6749 §3.1.2.3). */
  readonly redirectUris: readonly string[];
  /** The most a user may grant this app; without it, whatever the user holds. */
  readonly scopes?: readonly Scope[];
}

/** Any registered client. */
export type Client = BackendClient | PublicClient;

/** Where clients are kept; asynchronous so that a persistent store can stand behind it. */
export interface ClientRegistry {
  /** The client registered as `clientId`, if any. */
  find(clientId: string): Promise<Client | undefined>;
  /** Adds `client`; throws if its client_id is taken. */
  register(client: Client): Promise<void>;
}

/** A ClientRegistry held in memory, for tests and single-node demos. */
export class InMemoryClientRegistry implements ClientRegistry {
  private readonly clients = new Map<string, Client>();

  constructor(clients: readonly Client[] = []) {
    for (const client of clients) this.add(client);
  }

  /** The client registered as `clientId`, if any. */
  async find(clientId: string): Promise<Client | undefined> {
    return this.clients.get(clientId);
  }

  /** Adds `client`; throws if its client_id is taken. */
  async register(client: Client): Promise<void> {
    this.add(client);
  }

  private add(client: Client): void {
    if (this.clients.has(client.clientId))
      throw new Error(`client_id ${client.clientId} is already registered`);
    this.clients.set(client.clientId, client);
  }
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'] as const;
const ASSERTION_KEY_TYPES: ReadonlySet<string> = new Set(['RSA', 'EC', 'OKP']);

/** A backend client acting as organisation `org`; throws TypeError on a bad id, key set or scope. */
export function backendClient(options: {
  clientId: string;
  org: string;
  jwks: JSONWebKeySet;
  scope: string;
}): BackendClient {
  checkClientId(options.clientId);
  if (options.org === '') throw new TypeError('a backend client needs an organisation');
  const scopes = parseScopes(options.scope);
  const nonSystem = scopes.find((scope) => scope.kind !== 'resource' || scope.context !== 'system');
  if (nonSystem !== undefined)
    throw new TypeError(`backend clients hold system/ scopes only, not ${formatScope(nonSystem)}`);
  return {
    kind: 'backend',
    clientId: options.clientId,
    jwks: checkedKeySet(options.jwks),
    scopes,
    principal: { kind: 'system', id: options.org, org: options.org },
  };
}

/** A public client; throws TypeError on a bad id, redirect URI or scope. */
export function publicClient(options: {
  clientId: string;
  redirectUris: readonly string[];
  scope?: string;
}): PublicClient {
  checkClientId(options.clientId);
  if (options.redirectUris.length === 0)
    throw new TypeError('a public client needs at least one redirect URI');
  options.redirectUris.forEach(checkRedirectUri);
  const client: PublicClient = {
    kind: 'public',
    clientId: options.clientId,
    redirectUris: [...options.redirectUris],
  };
  return options.scope === undefined ? client : { ...client, scopes: parseScopes(options.scope) };
}

function checkClientId(clientId: string): void {
  if (!CLIENT_ID_PATTERN.test(clientId))
    throw new TypeError('client_id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -');
}

function checkedKeySet(jwks: JSONWebKeySet): JSONWebKeySet {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0)
    throw new TypeError('a backend client needs a non-empty JWK set');
  return { keys: jwks.keys.map(checkedPublicKey) };
}

function checkedPublicKey(jwk: JWK): JWK {
  if (!ASSERTION_KEY_TYPES.has(String(jwk.kty)))
    throw new TypeError(`client keys must be RSA, EC or OKP, not ${String(jwk.kty)}`);
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk))
    throw new TypeError('a client JWK set must hold public keys only');
  if (jwk.alg !== undefined && !(CLIENT_ASSERTION_ALGS as readonly string[]).includes(jwk.alg))
    throw new TypeError(`client key algorithm ${jwk.alg} is not accepted`);
  return { ...jwk };
}

/** Redirect URIs are absolute, fragment-free, and https unless on the loopback interface (RFC 8252 §7.3). */
function checkRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError(`redirect URI ${uri} is not an absolute URL`);
  }
  if (url.hash !== '' || uri.includes('#'))
    throw new TypeError(`redirect URI ${uri} must not have a fragment`);
  const loopback =
    url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !loopback)
    throw new TypeError(`redirect URI ${uri} must be https or loopback http`);
}
