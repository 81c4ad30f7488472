/**
 * Managing accounts, for the `chartchain users` commands: creating one, with a generated
 * password unless one is given and a TOTP secret where the role requires a second factor;
 * resetting a password or the second factor. Every secret is returned once, to be handed to the
 * user, and kept only as a hash (the password) or for verification (the TOTP secret).
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { secondFactorRequired, type AccountRole } from './account-roles.js';
import type { AccountStore } from './account-store.js';
import { newTotpSecret } from './totp.js';
import { hashPassword } from './users.js';
import { PASSWORD_LENGTH_MAX } from '../../ledger/index.js';

/** Shortest password accepted (NIST SP 800-63B §3.1.1.2 asks at least 8; clinical accounts get more). */
export const PASSWORD_LENGTH_MIN = 12;
const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** A FHIR id (FHIR R4 §2.24.0.1 `id`): the subject is a Practitioner, Patient or Person id. */
const FHIR_ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/** How long an activation code stays good. */
export const ACTIVATION_LIFETIME_MS = 14 * 24 * 3600_000;
/** Letters and digits that cannot be misread for one another (Crockford's base32). */
const ACTIVATION_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Why an account request is unusable. */
export class AccountInputError extends Error {}

/** The secrets of a new or reset account, shown once. */
export interface IssuedSecrets {
  /** The password, when it was generated here. */
  readonly password?: string;
  /** The TOTP secret (base32), when one was made. */
  readonly totpSecret?: string;
  /** The one-time activation code, when the user is to choose their own password. */
  readonly activationCode?: string;
}

/** What creates an account. */
export interface AccountRequest {
  readonly username: string;
  readonly role: AccountRole;
  readonly subjectId: string;
  /** The password; one is generated when absent, unless `activation` asks for a code instead. */
  readonly password?: string;
  /** No password yet: the user activates the account with a one-time code and chooses one. */
  readonly activation?: boolean;
}

/** Creates an account; throws AccountInputError for a bad name, id or password, AccountConflictError if taken. */
export async function createAccount(
  store: AccountStore,
  request: AccountRequest,
  nowMs: number,
): Promise<IssuedSecrets> {
  if (!USERNAME_PATTERN.test(request.username))
    throw new AccountInputError(
      'a username is 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  if (!FHIR_ID_PATTERN.test(request.subjectId))
    throw new AccountInputError(
      `the ${request.role} id must be a FHIR id: 1 to 64 letters, digits, "-" or "."`,
    );
  if (request.activation === true && request.password !== undefined)
    throw new AccountInputError('an account gets a password or an activation code, not both');
  const totpSecret = secondFactorRequired(request.role) ? newTotpSecret() : undefined;
  const account = {
    username: request.username,
    role: request.role,
    subjectId: request.subjectId,
    totpSecret: totpSecret ?? null,
    createdAt: nowMs,
  };
  const second = totpSecret === undefined ? {} : { totpSecret };
  if (request.activation === true) {
    const activationCode = newActivationCode();
    store.add({
      ...account,
      passwordHash: null,
      activationHash: activationHashOf(activationCode),
      activationExpires: nowMs + ACTIVATION_LIFETIME_MS,
    });
    return { activationCode, ...second };
  }
  const password = request.password ?? generatedPassword();
  store.add({ ...account, passwordHash: await hashNewPassword(password) });
  return { ...(request.password === undefined ? { password } : {}), ...second };
}

/** A fresh activation code for the account, voiding its password until used; undefined if there is no such account. */
export function reissueActivation(
  store: AccountStore,
  username: string,
  nowMs: number,
): IssuedSecrets | undefined {
  const activationCode = newActivationCode();
  if (
    !store.setActivation(username, activationHashOf(activationCode), nowMs + ACTIVATION_LIFETIME_MS)
  )
    return undefined;
  store.endSessions(username, nowMs);
  return { activationCode };
}

/** The stored form of an activation code, as typed in any case, with or without dashes and spaces. */
export function activationHashOf(code: string): string {
  return createHash('sha256').update(code.toUpperCase().replace(/[\s-]/g, '')).digest('hex');
}

/** Twelve characters of Crockford base32 (60 bits), as XXXX-XXXX-XXXX. */
function newActivationCode(): string {
  const characters = Array.from(
    { length: 12 },
    () => ACTIVATION_ALPHABET[randomInt(ACTIVATION_ALPHABET.length)],
  );
  return [0, 4, 8].map((start) => characters.slice(start, start + 4).join('')).join('-');
}

/** Sets a new password (generated unless given), clears the lock and ends every session; undefined if there is no such account. */
export async function resetPassword(
  store: AccountStore,
  username: string,
  nowMs: number,
  given?: string,
): Promise<IssuedSecrets | undefined> {
  const password = given ?? generatedPassword();
  if (!store.setPassword(username, await hashNewPassword(password))) return undefined;
  store.endSessions(username, nowMs);
  return given === undefined ? { password } : {};
}

/** Replaces the TOTP secret with a fresh one and ends every session; undefined if there is no such account. */
export function resetSecondFactor(
  store: AccountStore,
  username: string,
  nowMs: number,
): IssuedSecrets | undefined {
  const totpSecret = newTotpSecret();
  if (!store.setTotpSecret(username, totpSecret)) return undefined;
  store.endSessions(username, nowMs);
  return { totpSecret };
}

/** 120 random bits as 20 base64url characters. */
function generatedPassword(): string {
  return randomBytes(15).toString('base64url');
}

/** The hash of a password a user or administrator chose; throws AccountInputError if it is too short or long. */
export async function hashNewPassword(password: string): Promise<string> {
  if (password.length < PASSWORD_LENGTH_MIN || password.length > PASSWORD_LENGTH_MAX) {
    throw new AccountInputError(
      `a password is ${PASSWORD_LENGTH_MIN} to ${PASSWORD_LENGTH_MAX} characters`,
    );
  }
  return hashPassword(password);
}
