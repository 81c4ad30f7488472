/**
 * `chartchain login`: a SMART authorization-code login with PKCE (RFC 7636), as a public client
 * would do it, printing the access token for use as `Authorization: Bearer <token>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { DEMO_CLIENT_ID } from './demo-clients.js';

/** Logs `user` in at the node at `url`, with the TOTP `code` when the account has a second factor; resolves with the token response. */
export async function login(
  url: string,
  user: string,
  password: string,
  scope: string,
  code?: string,
): Promise<{ access_token: string; expires_in: number; scope: string }> {
  const origin = new URL(url).origin;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirectUri = `${origin}/demo/callback`;
  const request = {
    response_type: 'code',
    client_id: DEMO_CLIENT_ID,
    redirect_uri: redirectUri,
    scope,
    state: randomBytes(8).toString('hex'),
    aud: `${origin}/fhir`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  const authorized = await fetch(`${origin}/auth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      ...request,
      username: user,
      password,
      ...(code === undefined ? {} : { code }),
    }),
  });
  const location = authorized.headers.get('location');
  if (authorized.status !== 302 || location === null)
    throw new Error(`login refused (HTTP ${authorized.status})`);
  const authorizationCode = new URL(location).searchParams.get('code');
  if (authorizationCode === null)
    throw new Error(`login refused: ${new URL(location).searchParams.get('error') ?? 'no code'}`);
  const token = await fetch(`${origin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: authorizationCode,
      redirect_uri: redirectUri,
      client_id: DEMO_CLIENT_ID,
      code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as {
    access_token?: string;
    expires_in: number;
    scope: string;
    error?: string;
  };
  if (!token.ok || body.access_token === undefined)
    throw new Error(`token refused: ${body.error ?? token.status}`);
  return body as { access_token: string; expires_in: number; scope: string };
}

/** Registers login on `program`. */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in to a node as a user (authorization code + PKCE) and print an access token')
    .option('--url <url>', 'the node', 'http://127.0.0.1:8080')
    .requiredOption('--user <name>', 'username')
    .requiredOption('--password <password>', 'password')
    .option(
      '--code <code>',
      'the six-digit code from the authenticator app, for an account with a second factor',
    )
    .option('--scope <scopes>', 'requested scopes (space-separated)', 'user/*.cruds')
    .action(
      async (flags: {
        url: string;
        user: string;
        password: string;
        code?: string;
        scope: string;
      }) => {
        const token = await login(flags.url, flags.user, flags.password, flags.scope, flags.code);
        process.stdout.write(`${token.access_token}\n`);
        process.stderr.write(`scope: ${token.scope}; expires in ${token.expires_in} s\n`);
      },
    );
}
