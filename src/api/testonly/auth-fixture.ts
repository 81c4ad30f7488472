/**
 * Test support for the auth tests (not part of the public API): an AuthServer on a settable
 * clock behind a bare Fastify app, a registered backend client with a real key pair, a public
 * app, the demo users, and helpers to sign client assertions and make PKCE pairs.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import {
  exportJWK,
  SignJWT,
  type CryptoKey,
  type GenerateKeyPairResult,
  type JWTPayload,
} from 'jose';
import { generateJoseKeyPair } from '../auth/jose-keys.js';
import { AuthServer } from '../auth/auth-server.js';
import { backendClient, InMemoryClientRegistry, publicClient } from '../auth/clients.js';
import { createDemoUsers } from '../auth/demo-users.js';
import { registerAuthRoutes } from '../auth/plugin.js';
import type { UserDirectory } from '../auth/users.js';

/** The app's external root URL: the tokens' iss. */
export const ISSUER = 'https://node-a.example';
/** The FHIR base URL: the tokens' aud. */
export const FHIR_BASE = 'https://node-a.example/fhir';
/** The aud a client assertion must name. */
export const TOKEN_URL = `${ISSUER}/auth/token`;
/** The registered backend client, acting as practice-a with system/Observation.cruds and system/Patient.rs. */
export const BACKEND_ID = 'lab-system';
/** The kid of the backend client's registered key. */
export const BACKEND_KID = 'lab-key-1';
/** A public app registered with REDIRECT_URI and a loopback URI. */
export const APP_ID = 'patient-app';
/** Another public app, with a redirect URI of its own. */
export const OTHER_APP_ID = 'other-app';
/** APP_ID's main redirect URI. */
export const REDIRECT_URI = 'https://app.example/callback';
/** The client_assertion_type of private_key_jwt, spelled out independently of the code under test. */
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now = Date.UTC(2025, 0, 15, 9, 0, 0)) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** Everything a test drives. */
export interface AuthFixture {
  readonly auth: AuthServer;
  readonly app: FastifyInstance;
  readonly clock: TestClock;
  /** The backend client's signing key pair; its public half is registered under BACKEND_KID. */
  readonly backendKeys: GenerateKeyPairResult;
}

let demoUsers: Promise<UserDirectory> | undefined;

/** A fresh AuthServer and bare Fastify app with the auth routes, closed after `t`. */
export async function authFixture(
  t: TestContext,
  options: {
    rateLimit?: { capacity?: number; intervalMs?: number };
    users?: UserDirectory;
    backendKeys?: GenerateKeyPairResult;
    replayCachePath?: string;
  } = {},
): Promise<AuthFixture> {
  const clock = new TestClock();
  const backendKeys = options.backendKeys ?? (await generateJoseKeyPair('EdDSA'));
  const clients = new InMemoryClientRegistry([
    backendClient({
      clientId: BACKEND_ID,
      org: 'practice-a',
      jwks: { keys: [{ ...(await exportJWK(backendKeys.publicKey)), kid: BACKEND_KID }] },
      scope: 'system/Observation.cruds system/Patient.rs',
    }),
    publicClient({ clientId: APP_ID, redirectUris: [REDIRECT_URI, 'http://127.0.0.1:8400/cb'] }),
    publicClient({ clientId: OTHER_APP_ID, redirectUris: ['https://other.example/cb'] }),
  ]);
  demoUsers ??= createDemoUsers('practice-a');
  const replay =
    options.replayCachePath === undefined ? {} : { replayCachePath: options.replayCachePath };
  const auth = await AuthServer.create({
    issuer: ISSUER,
    fhirBaseUrl: FHIR_BASE,
    clients,
    users: options.users ?? (await demoUsers),
    clock: clock.read,
    rateLimit: options.rateLimit ?? { capacity: 1000 },
    ...replay,
  });
  const app = Fastify();
  t.after(async () => {
    await app.close();
    auth.close();
  });
  registerAuthRoutes(app, auth);
  await app.ready();
  return { auth, app, clock, backendKeys };
}

/** A client assertion for the backend client, valid now; `claims` override or (as undefined) drop claims. */
export async function signAssertion(
  fixture: AuthFixture,
  claims: Record<string, unknown> = {},
  header: { alg?: string; kid?: string } = {},
  key?: CryptoKey | Uint8Array,
): Promise<string> {
  const now = Math.floor(fixture.clock.now / 1000);
  const base: Record<string, unknown> = {
    iss: BACKEND_ID,
    sub: BACKEND_ID,
    aud: TOKEN_URL,
    exp: now + 240,
    iat: now,
    jti: randomUUID(),
  };
  const payload = Object.fromEntries(
    Object.entries({ ...base, ...claims }).filter(([, value]) => value !== undefined),
  ) as JWTPayload;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: header.alg ?? 'EdDSA', kid: header.kid ?? BACKEND_KID, typ: 'JWT' })
    .sign(key ?? fixture.backendKeys.privateKey);
}

/** POSTs `params` to the token endpoint as a form. */
export function postForm(
  app: FastifyInstance,
  url: string,
  params: Record<string, string>,
  remoteAddress = '127.0.0.1',
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(params).toString(),
  });
}

/** A client_credentials request carrying `assertion`. */
export function clientCredentials(
  app: FastifyInstance,
  assertion: string,
  extra: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return postForm(app, '/auth/token', {
    grant_type: 'client_credentials',
    scope: 'system/Observation.rs',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
    ...extra,
  });
}

/** A PKCE code_verifier and its S256 code_challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
