/**
 * The organisation's own backend client (SMART Backend Services): it authenticates with a
 * client assertion signed by the organisation's Ed25519 key, so whoever operates the node (and
 * holds its keystore) can read the ledger's blocks, transactions and erasures without a user
 * login. It holds `system/AuditEvent.rs` only: the ledger and the audit trail, never records.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SignJWT } from 'jose';
import { backendClient, type BackendClient } from '../api/index.js';
import { loadOrgKeys, readNodeConfig } from '../node/index.js';

/** The client_id of the organisation's own backend client. */
export const ORG_CLIENT_ID = 'organisation';
/** What the organisation's client may be granted. */
export const ORG_CLIENT_SCOPE = 'system/AuditEvent.rs';
const ORG_KEY_ID = 'organisation-signing';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Client assertions live this long (SMART Backend Services asks for at most five minutes). */
const ASSERTION_LIFETIME_SECONDS = 60;

/** The backend client of organisation `orgId`, whose assertions verify with its signing key `publicKey` (raw Ed25519). */
export function orgClient(orgId: string, publicKey: Uint8Array): BackendClient {
  const jwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: Buffer.from(publicKey).toString('base64url'),
    alg: 'EdDSA',
    kid: ORG_KEY_ID,
  };
  return backendClient({
    clientId: ORG_CLIENT_ID,
    org: orgId,
    jwks: { keys: [jwk] },
    scope: ORG_CLIENT_SCOPE,
  });
}

/** An access token for the organisation's client from the node at `url`, signing the assertion with the key in `dataDir`. Throws if the node refuses. */
export async function orgToken(url: string, dataDir: string): Promise<string> {
  return clientCredentialsToken(url, {
    clientId: ORG_CLIENT_ID,
    kid: ORG_KEY_ID,
    alg: 'EdDSA',
    privateKey: loadOrgKeys(dataDir).signing.privateKey,
    scope: ORG_CLIENT_SCOPE,
  });
}

/**
 * An access token for backend client `client` from the node at `url` (SMART Backend Services:
 * client_credentials with a client assertion, RFC 7523, signed by its private key). Throws if
 * the node refuses.
 */
export async function clientCredentialsToken(
  url: string,
  client: {
    clientId: string;
    kid: string;
    alg: string;
    privateKey: KeyObject | CryptoKey;
    scope: string;
  },
): Promise<string> {
  const tokenUrl = `${new URL(url).origin}/auth/token`;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: client.alg, kid: client.kid, typ: 'JWT' })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(tokenUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(client.privateKey);
  const form = {
    grant_type: 'client_credentials',
    scope: client.scope,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
  };
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (!response.ok || body.access_token === undefined)
    throw new Error(`token refused: ${body.error ?? response.status}`);
  return body.access_token;
}

/** Registers `token` on `program`. */
export function registerOrgToken(program: Command): void {
  program
    .command('token')
    .description(
      "get an access token as the organisation's own backend client (for the ledger's blocks, transactions and erasures)",
    )
    .option('--url <url>', 'the node', 'http://127.0.0.1:8080')
    .option('--data <dir>', 'data directory holding the organisation key', './data')
    .action(async (flags: { url: string; data: string }) => {
      const dataDir = resolve(flags.data);
      if (readNodeConfig(dataDir) === undefined) throw new Error(`${flags.data} holds no node`);
      process.stdout.write(`${await orgToken(flags.url, dataDir)}\n`);
    });
}
