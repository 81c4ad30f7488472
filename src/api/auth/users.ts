/**
 * Users who log in at the authorization endpoint. Passwords are kept only as scrypt hashes
 * (node:crypto), encoded with their parameters: `scrypt$N$r$p$salt$hash`, base64url.
 */
import {
  randomBytes,
  scrypt as scryptCallback,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';
import type { Principal } from '../../contracts/index.js';
import { RELEARNING_RETRY_AFTER_SECONDS } from '../../fhir/index.js';
import type { PatientNames } from '../../node/index.js';
import { OAuthError } from './errors.js';
import type { Scope } from './scopes.js';
import { PASSWORD_LENGTH_MAX } from '../../ledger/index.js';

/** Someone who can log in, and what they may grant an app. */
export interface User {
  readonly username: string;
  readonly principal: Principal;
  /** The user's FHIR resource, e.g. `Practitioner/dr-a` (SMART `fhirUser`). */
  readonly fhirUser: string;
  /** For a patient, their FHIR Patient id (SMART launch context `patient`); the principal's id is their ledger pseudonym. */
  readonly patient?: string;
  /** The scopes an app may be granted on this user's behalf. */
  readonly scopes: readonly Scope[];
}

/**
 * `user` as signed in: a patient, named in their account by their FHIR Patient id, acts under
 * their ledger pseudonym, looked up now (the Patient may be created after the account). A
 * patient this node has no Patient for acts under an id no ledger patient can have (ledger ids
 * hold no '.'): an account whose FHIR id was set to another patient's pseudonym must not act as
 * that patient. Without `patients` (no node to ask) the FHIR id is the ledger id.
 */
export function signedIn(user: User, patients: PatientNames | undefined): User {
  if (user.principal.kind !== 'patient') return user;
  const fhirId = user.patient ?? user.principal.id;
  return {
    ...user,
    patient: fhirId,
    principal: patientPrincipal(user.principal, fhirId, patients),
  };
}

/** `principal`, a patient named by FHIR Patient id `fhirId`, under the ledger id that id has now (see signedIn). */
export function patientPrincipal(
  principal: Principal,
  fhirId: string,
  patients: PatientNames | undefined,
): Principal {
  if (patients === undefined) return { ...principal, id: fhirId };
  const id = patients.patientIdOf(fhirId);
  // Not found while ids are relearnt after an unclean stop: the patient may be found shortly,
  // and a session made now would act as nobody for its whole life.
  if (id === undefined) refuseWhileRelearning(patients);
  return { ...principal, id: id ?? `${NO_PATIENT}${fhirId}` };
}

/**
 * Throws OAuthError temporarily_unavailable (503, Retry-After) while `patients` is being
 * relearnt from the chain: a patient not found now may be found shortly.
 */
function refuseWhileRelearning(patients: PatientNames | undefined): void {
  if (patients?.complete === false)
    throw new OAuthError(
      'temporarily_unavailable',
      'this node is relearning patient ids after a restart; try again shortly',
      503,
      RELEARNING_RETRY_AFTER_SECONDS,
    );
}

/** Starts the principal id of a patient account whose FHIR Patient this node does not have. */
const NO_PATIENT = 'no-patient.';

/**
 * The FHIR Patient id that the account of patient principal `id` names: signedIn undone. Throws
 * OAuthError 503 as patientPrincipal does while ids are relearnt and `id` is not known yet: the
 * account cannot be told, so neither can whether its session stands.
 */
export function accountPatientId(id: string, patients: PatientNames | undefined): string {
  if (id.startsWith(NO_PATIENT)) return id.slice(NO_PATIENT.length);
  const fhirId = patients?.fhirPatientIdOf(id);
  if (fhirId === undefined) refuseWhileRelearning(patients);
  return fhirId ?? id;
}

/** A user together with their password hash. */
export interface UserRecord extends User {
  readonly passwordHash: string;
}

/** What a user types at the login form. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** The one-time code from the user's authenticator app, when they have one. */
  readonly code?: string;
}

/** A sign-in's outcome: the user, or a refusal that does not say which credential was wrong. */
export type SignIn = { readonly user: User } | { readonly refused: 'credentials' | 'locked' };

/** A user activating their account: the one-time code they were handed, and the password they choose. */
export interface Activation {
  readonly username: string;
  readonly code: string;
  readonly password: string;
}

/** An activation's outcome; `refused` never says whether the name or the code was wrong. */
export type ActivationOutcome = 'activated' | 'refused' | 'locked' | 'weak-password';

/** Where users are looked up; asynchronous so that a persistent store can stand behind it. */
export interface UserDirectory {
  signIn(credentials: Credentials): Promise<SignIn>;
  /** Activates an account with its one-time code; directories without activation omit it. */
  activate?(activation: Activation): Promise<ActivationOutcome>;
  /**
   * False once tokens issued to `principal` at `issuedAtMs` may no longer be honoured (the
   * account was disabled or its sessions ended). Directories without sessions to end omit it.
   * Throws OAuthError temporarily_unavailable (503) while it cannot tell yet: a patient's
   * account is found by their FHIR Patient id, which may be being relearnt after a crash.
   */
  sessionActive?(principal: Principal, issuedAtMs: number): boolean;
  /**
   * Who a session signed in as `principal` (a patient: with FHIR Patient id `patient`) acts as
   * now: a refresh looks a patient's ledger id up again, so a session begun before their Patient
   * existed, or under an id since refused, follows what the account names today.
   */
  actingAs?(principal: Principal, patient: string | undefined): Principal;
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

/** Hashes `password` with scrypt and a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scrypt(password, salt, SCRYPT.keyLength, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return [
    'scrypt',
    SCRYPT.N,
    SCRYPT.r,
    SCRYPT.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** True if `password` hashes to `encoded`; false on a mismatch or a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash, ...rest] = encoded.split('$');
  const options = { N: Number(n), r: Number(r), p: Number(p) };
  if (
    scheme !== 'scrypt' ||
    salt === undefined ||
    hash === undefined ||
    rest.length > 0 ||
    !saneParameters(options)
  )
    return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length < 16) return false;
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, options);
  return timingSafeEqual(actual, expected);
}

/** Bounds a stored hash's cost parameters, so a corrupt record cannot exhaust memory. */
function saneParameters({ N, r, p }: { N: number; r: number; p: number }): boolean {
  const powerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  return (
    powerOfTwo &&
    Number.isSafeInteger(r) &&
    r >= 1 &&
    128 * N * r <= 2 ** 28 &&
    Number.isSafeInteger(p) &&
    p >= 1 &&
    p <= 16
  );
}

function scrypt(
  password: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  const maxmem = 256 * (options.N ?? 0) * (options.r ?? 0) + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scryptCallback(
      password.normalize('NFC'),
      salt,
      keyLength,
      { ...options, maxmem },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/** A UserDirectory held in memory. */
export class InMemoryUserDirectory implements UserDirectory {
  private readonly users: ReadonlyMap<string, UserRecord>;
  private decoy: Promise<string> | undefined;

  constructor(records: readonly UserRecord[]) {
    this.users = new Map(records.map((record) => [record.username, record]));
  }

  async signIn({ username, password }: Credentials): Promise<SignIn> {
    const user = await this.authenticate(username, password);
    return user === undefined ? { refused: 'credentials' } : { user };
  }

  /** The user whose username and password these are; an unknown name costs as much as a wrong password. */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    if (password.length > PASSWORD_LENGTH_MAX) return undefined;
    const record = this.users.get(username);
    const matches = await verifyPassword(
      password,
      record?.passwordHash ?? (await this.decoyHash()),
    );
    if (record === undefined || !matches) return undefined;
    const { passwordHash: _hash, ...user } = record;
    return user;
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= decoyHash();
    return this.decoy;
  }
}

/** A hash no password matches, to verify against when there is no user: an unknown name costs as much as a wrong password. */
export function decoyHash(): Promise<string> {
  return hashPassword(randomBytes(16).toString('hex'));
}
