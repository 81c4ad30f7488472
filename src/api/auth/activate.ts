/**
 * The account activation endpoint, without HTTP: GET shows the form, POST activates the account
 * with its one-time code and the password the user chose. Refusals never say whether the name
 * or the code was wrong; wrong codes count toward the account's lockout.
 */
import type { AuthServer } from './auth-server.js';
import { PASSWORD_LENGTH_MIN } from './account-admin.js';
import { activatedPage, activationPage } from './activation-page.js';
import type { AuthorizeResponse } from './authorize.js';
import { parameter } from './form.js';
import { type ActivationOutcome } from './users.js';
import { PASSWORD_LENGTH_MAX } from '../../ledger/index.js';

const REFUSALS: Record<
  Exclude<ActivationOutcome, 'activated'>,
  { statusCode: number; message: string }
> = {
  refused: {
    statusCode: 401,
    message:
      'Unknown username, or the activation code is wrong, used or expired. Your practice can give you a new one.',
  },
  // Reads like a wrong code: a lock must not tell which names exist.
  locked: {
    statusCode: 401,
    message:
      'Unknown username, or the activation code is wrong, used or expired. Your practice can give you a new one.',
  },
  'weak-password': {
    statusCode: 400,
    message: `Choose a password of ${PASSWORD_LENGTH_MIN} to ${PASSWORD_LENGTH_MAX} characters.`,
  },
};

/** GET /auth/activate: the form, or 404 where accounts cannot be activated. */
export function activateGet(auth: AuthServer): AuthorizeResponse {
  if (auth.users.activate === undefined)
    return {
      kind: 'page',
      statusCode: 404,
      html: activationPage(auth.urls.activate, 'This server has no accounts to activate.'),
    };
  return { kind: 'page', statusCode: 200, html: activationPage(auth.urls.activate) };
}

/** POST /auth/activate: the form's submission. */
export async function activatePost(
  auth: AuthServer,
  form: URLSearchParams,
): Promise<AuthorizeResponse> {
  const refuse = (statusCode: number, message: string): AuthorizeResponse => ({
    kind: 'page',
    statusCode,
    html: activationPage(auth.urls.activate, message),
  });
  if (auth.users.activate === undefined)
    return refuse(404, 'This server has no accounts to activate.');
  const [username, code, password, confirm] = ['username', 'code', 'password', 'confirm'].map(
    (name) => parameter(form, name),
  );
  if (username === undefined || code === undefined || password === undefined)
    return refuse(400, 'Username, activation code and password are all needed.');
  if (password !== confirm) return refuse(400, 'The two passwords differ.');
  const outcome = await auth.users.activate({ username, code, password });
  if (outcome === 'activated') return { kind: 'page', statusCode: 200, html: activatedPage() };
  return refuse(REFUSALS[outcome].statusCode, REFUSALS[outcome].message);
}
