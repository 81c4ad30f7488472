/**
 * The account management API for organisation administrators, under /auth/admin (so it is
 * served only over HTTPS or loopback): sign in with password and TOTP code for a fifteen-minute
 * admin session, then list, create, disable, enable and reset accounts, as `chartchain users`
 * does on the node's machine. Secrets are in the response once and never again. Answers are
 * JSON `{error, reason}` on refusal, with no health data in any of them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AccountInputError,
  createAccount,
  reissueActivation,
  resetPassword,
  resetSecondFactor,
  type IssuedSecrets,
} from './account-admin.js';
import type { AccountDirectory } from './account-directory.js';
import { isAccountRole, ACCOUNT_ROLES } from './account-roles.js';
import { AccountConflictError, accountState } from './account-store.js';
import { AUTH_PATHS, type AuthServer } from './auth-server.js';
import { bearerToken } from './bearer.js';
import { AuthError } from './errors.js';
import { totpUri } from './totp.js';

/** The issuer an authenticator app shows beside the account. */
export const TOTP_ISSUER = 'ChartChain';
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A refusal of the admin API. */
class AdminError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

type Action = (
  accounts: AccountDirectory,
  username: string,
  now: number,
) => Promise<IssuedSecrets | undefined> | IssuedSecrets | undefined;

/** What each POST /auth/admin/users/:username/:action does; undefined when there is no such account. */
const ACTIONS: Readonly<Record<string, Action>> = {
  disable: (accounts, username, now) =>
    accounts.store.setDisabled(username, true, now) ? {} : undefined,
  enable: (accounts, username, now) =>
    accounts.store.setDisabled(username, false, now) ? {} : undefined,
  'end-sessions': (accounts, username, now) =>
    accounts.store.endSessions(username, now) ? {} : undefined,
  'reset-password': (accounts, username, now) => resetPassword(accounts.store, username, now),
  'reset-mfa': (accounts, username, now) => resetSecondFactor(accounts.store, username, now),
  'activation-code': (accounts, username, now) => reissueActivation(accounts.store, username, now),
};

/** Adds the admin API to `scope`, the auth routes' encapsulation context (raw-byte bodies). */
export function registerAdminRoutes(scope: FastifyInstance, auth: AuthServer): void {
  const base = AUTH_PATHS.admin;
  scope.post(`${base}/session`, async (request, reply) =>
    answer(reply, () => openSession(auth, request)),
  );
  scope.delete(`${base}/session`, async (request, reply) =>
    answer(reply, () => closeSession(auth, request)),
  );
  scope.get(`${base}/users`, async (request, reply) =>
    answer(reply, () => listAccounts(auth, request)),
  );
  scope.post(`${base}/users`, async (request, reply) =>
    answer(reply, () => addAccount(auth, request)),
  );
  scope.post<{ Params: { username: string; action: string } }>(
    `${base}/users/:username/:action`,
    async (request, reply) => answer(reply, () => act(auth, request)),
  );
}

async function answer(
  reply: FastifyReply,
  handle: () => Promise<{ statusCode: number; body: unknown }>,
): Promise<FastifyReply> {
  void reply.header('cache-control', 'no-store');
  try {
    const { statusCode, body } = await handle();
    return reply.code(statusCode).send(body);
  } catch (error) {
    if (error instanceof AdminError)
      return reply.code(error.statusCode).send({ error: error.code, reason: error.message });
    if (error instanceof AccountInputError)
      return reply.code(400).send({ error: 'invalid', reason: error.message });
    if (error instanceof AccountConflictError)
      return reply.code(409).send({ error: 'conflict', reason: error.message });
    throw error;
  }
}

async function openSession(
  auth: AuthServer,
  request: FastifyRequest,
): Promise<{ statusCode: number; body: unknown }> {
  const accounts = accountsOf(auth);
  const throttled = auth.limiter.take(`login ${request.ip}`);
  if (!throttled.allowed)
    throw new AdminError(
      429,
      'rate-limited',
      'too many sign-ins from this address; try again shortly',
    );
  const body = jsonBody(request);
  const [username, password, code] = ['username', 'password', 'code'].map((name) =>
    optionalString(body, name),
  );
  if (username === undefined || password === undefined)
    throw new AdminError(400, 'invalid', 'username and password are required');
  const signedIn = await accounts.signInAdmin({
    username,
    password,
    ...(code === undefined ? {} : { code }),
  });
  // A locked account reads like a wrong password: a lock must not tell which names exist.
  if ('refused' in signedIn)
    throw new AdminError(
      401,
      'refused',
      'unknown administrator, wrong password or wrong authentication code (after repeated failures an account is locked for a while)',
    );
  const session = auth.adminSessions.open(signedIn.username);
  if (session === undefined)
    throw new AdminError(503, 'unavailable', 'too many admin sessions are open; try again later');
  return {
    statusCode: 200,
    body: { token: session.token, token_type: 'Bearer', expires_in: session.expiresInSeconds },
  };
}

async function closeSession(
  auth: AuthServer,
  request: FastifyRequest,
): Promise<{ statusCode: number; body: unknown }> {
  accountsOf(auth);
  auth.adminSessions.close(adminToken(request));
  return { statusCode: 200, body: {} };
}

async function listAccounts(
  auth: AuthServer,
  request: FastifyRequest,
): Promise<{ statusCode: number; body: unknown }> {
  const accounts = administrator(auth, request);
  const now = auth.clock();
  const list = accounts.store.list().map((account) => ({
    username: account.username,
    role: account.role,
    id: account.subjectId,
    state: accountState(account, now),
    secondFactor: account.totpSecret !== null,
  }));
  return { statusCode: 200, body: { accounts: list } };
}

async function addAccount(
  auth: AuthServer,
  request: FastifyRequest,
): Promise<{ statusCode: number; body: unknown }> {
  const accounts = administrator(auth, request);
  const body = jsonBody(request);
  const [username, role, id] = ['username', 'role', 'id'].map((name) => optionalString(body, name));
  if (username === undefined || id === undefined)
    throw new AdminError(400, 'invalid', 'username and id are required');
  if (role === undefined || !isAccountRole(role))
    throw new AdminError(400, 'invalid', `role must be one of ${ACCOUNT_ROLES.join(', ')}`);
  const secrets = await createAccount(
    accounts.store,
    { username, role, subjectId: id, activation: body['activation'] === true },
    auth.clock(),
  );
  return {
    statusCode: 201,
    body: { username, role, id, ...secretsOf(accounts, username, secrets) },
  };
}

async function act(
  auth: AuthServer,
  request: FastifyRequest<{ Params: { username: string; action: string } }>,
): Promise<{ statusCode: number; body: unknown }> {
  const accounts = administrator(auth, request);
  const { username, action } = request.params;
  const perform = Object.hasOwn(ACTIONS, action) ? ACTIONS[action]! : undefined;
  if (perform === undefined)
    throw new AdminError(404, 'not-found', `no such action: ${Object.keys(ACTIONS).join(', ')}`);
  const secrets = await perform(accounts, username, auth.clock());
  if (secrets === undefined) throw new AdminError(404, 'not-found', `no account named ${username}`);
  return { statusCode: 200, body: { username, action, ...secretsOf(accounts, username, secrets) } };
}

function secretsOf(
  accounts: AccountDirectory,
  username: string,
  secrets: IssuedSecrets,
): Record<string, string> {
  const { totpSecret } = secrets;
  return {
    ...secrets,
    ...(totpSecret === undefined
      ? {}
      : { totpUri: totpUri(TOTP_ISSUER, `${username}@${accounts.org}`, totpSecret) }),
  };
}

/** The accounts, when the caller holds an open admin session of an enabled administrator; logs who acts. */
function administrator(auth: AuthServer, request: FastifyRequest): AccountDirectory {
  const accounts = accountsOf(auth);
  const session = auth.adminSessions.find(adminToken(request));
  if (session === undefined || !accounts.isActiveAdmin(session.username, session.openedAt))
    throw new AdminError(
      401,
      'unauthorized',
      'an admin session is required: POST /auth/admin/session',
    );
  request.log.info(
    {
      admin: session.username,
      method: request.method,
      route: request.routeOptions.url,
      params: request.params,
    },
    'account administration',
  );
  return accounts;
}

function accountsOf(auth: AuthServer): AccountDirectory {
  if (auth.accounts === undefined)
    throw new AdminError(404, 'not-found', 'this server keeps no accounts');
  return auth.accounts;
}

function adminToken(request: FastifyRequest): string {
  try {
    return bearerToken(request.headers.authorization);
  } catch (error) {
    if (error instanceof AuthError)
      throw new AdminError(
        401,
        'unauthorized',
        'an admin session is required: POST /auth/admin/session',
      );
    throw error;
  }
}

function jsonBody(request: FastifyRequest): Record<string, unknown> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json' || !(request.body instanceof Uint8Array))
    throw new AdminError(415, 'unsupported-media-type', 'the body must be application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(UTF8.decode(request.body));
  } catch {
    throw new AdminError(400, 'invalid', 'the body is not UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AdminError(400, 'invalid', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AdminError(400, 'invalid', `${name} must be a string`);
  return value;
}
