/**
 * Sign-in against the node's accounts: the password, then the TOTP code where the role
 * requires one or the user enrolled, with per-account lockout. Every refusal reads the same
 * to the person signing in, whichever credential was wrong, and an unknown or disabled account
 * costs as much as a wrong password. Names it does not hold go to `fallback` (the demo users).
 * A patient handed a one-time activation code activates their account by choosing a password.
 */
import type { Principal } from '../../contracts/index.js';
import { timingSafeEqual } from 'node:crypto';
import { AccountInputError, activationHashOf, hashNewPassword } from './account-admin.js';
import { isFhirRole, ROLE_PROFILES, secondFactorRequired, type FhirRole } from './account-roles.js';
import type { AccountRow, AccountStore } from './account-store.js';
import { lockedUntil } from './lockout.js';
import { parseScopes } from './scopes.js';
import { acceptedTotpStep } from './totp.js';
import {
  accountPatientId,
  decoyHash,
  patientPrincipal,
  signedIn,
  verifyPassword,
  type Activation,
  type ActivationOutcome,
  type Credentials,
  type SignIn,
  type User,
  type UserDirectory,
} from './users.js';
import type { PatientNames } from '../../node/index.js';
import { PASSWORD_LENGTH_MAX } from '../../ledger/index.js';

/** How to build an AccountDirectory. */
export interface AccountDirectoryOptions {
  /** The organisation that authenticates these users: the node's own. */
  readonly org: string;
  /** Who signs in under a name no account holds, e.g. the demo users. */
  readonly fallback?: UserDirectory;
  /** Milliseconds since the epoch; `Date.now` unless a test sets the time. */
  readonly clock?: () => number;
  /** Patients' pseudonyms: a patient account names its FHIR Patient id, and acts under the pseudonym. */
  readonly patients?: PatientNames;
}

/** A UserDirectory over an AccountStore. */
export class AccountDirectory implements UserDirectory {
  readonly #store: AccountStore;
  readonly #org: string;
  readonly #fallback: UserDirectory | undefined;
  readonly #clock: () => number;
  readonly #patients: PatientNames | undefined;
  #decoy: Promise<string> | undefined;
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(store: AccountStore, options: AccountDirectoryOptions) {
    this.#store = store;
    this.#org = options.org;
    this.#fallback = options.fallback;
    this.#clock = options.clock ?? Date.now;
    this.#patients = options.patients;
  }

  async signIn(credentials: Credentials): Promise<SignIn> {
    if (this.#fallback !== undefined && this.#store.get(credentials.username) === undefined)
      return this.#fallback.signIn(credentials);
    return this.#serially(credentials.username, async () => {
      const account = this.#store.get(credentials.username);
      const checked = await this.#check(
        account !== undefined && isFhirAccount(account) ? account : undefined,
        credentials,
      );
      return 'refused' in checked ? checked : { user: this.#userOf(checked.account) };
    });
  }

  /** An organisation administrator's sign-in, for the account management API: admin accounts only. */
  async signInAdmin(
    credentials: Credentials,
  ): Promise<{ readonly username: string } | { readonly refused: 'credentials' | 'locked' }> {
    return this.#serially(credentials.username, async () => {
      const account = this.#store.get(credentials.username);
      const checked = await this.#check(
        account?.role === 'admin' ? account : undefined,
        credentials,
      );
      return 'refused' in checked ? checked : { username: checked.account.username };
    });
  }

  /** True while `username` is an enabled administrator whose sessions were not ended since `openedAtMs` (in the same millisecond counts as after): an admin session lasts only that long. */
  isActiveAdmin(username: string, openedAtMs: number): boolean {
    const account = this.#store.get(username);
    return account?.role === 'admin' && !account.disabled && openedAtMs > account.sessionsNotBefore;
  }

  /** The organisation these accounts belong to. */
  get org(): string {
    return this.#org;
  }

  /** The accounts behind this directory, for the account management API. */
  get store(): AccountStore {
    return this.#store;
  }

  /** Password, then second factor, with lockout; an absent account costs as much as a wrong password. */
  async #check<A extends AccountRow>(
    account: A | undefined,
    credentials: Credentials,
  ): Promise<{ readonly account: A } | { readonly refused: 'credentials' | 'locked' }> {
    if (
      account === undefined ||
      account.disabled ||
      account.passwordHash === null ||
      credentials.password.length > PASSWORD_LENGTH_MAX
    ) {
      await verifyPassword(
        credentials.password.slice(0, PASSWORD_LENGTH_MAX),
        await this.#decoyHash(),
      );
      return { refused: 'credentials' };
    }
    const now = this.#clock();
    if (account.lockedUntil > now) {
      await verifyPassword(credentials.password, await this.#decoyHash());
      return { refused: 'locked' };
    }
    const step = await this.#secondFactor(account, credentials, now);
    if (step === false || !this.#store.recordSuccess(account.username, step)) {
      this.#store.recordFailure(account.username, (failures) => lockedUntil(failures, now));
      return { refused: 'credentials' };
    }
    return { account };
  }

  /**
   * Runs `attempt` after every attempt already running for `username`, so that no two attempts
   * on one account read its lock or last TOTP step before the other has written them.
   */
  async #serially<T>(username: string, attempt: () => Promise<T>): Promise<T> {
    const run = (this.#inFlight.get(username) ?? Promise.resolve()).then(attempt);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.set(username, settled);
    try {
      return await run;
    } finally {
      if (this.#inFlight.get(username) === settled) this.#inFlight.delete(username);
    }
  }

  async activate(activation: Activation): Promise<ActivationOutcome> {
    return this.#serially(activation.username, () => this.#activate(activation));
  }

  async #activate({ username, code, password }: Activation): Promise<ActivationOutcome> {
    let passwordHash: string;
    try {
      passwordHash = await hashNewPassword(password);
    } catch (error) {
      if (error instanceof AccountInputError) return 'weak-password';
      throw error;
    }
    const account = this.#store.get(username);
    const now = this.#clock();
    // Only an account awaiting activation counts failures here: guessing at an active account's
    // name must not lock its owner out.
    if (account === undefined || account.activationHash === null) return 'refused';
    if (account.lockedUntil > now) return 'locked';
    const codeHash = activationHashOf(code);
    const current =
      !account.disabled &&
      account.activationExpires > now &&
      equalHex(account.activationHash, codeHash);
    if (!current || !this.#store.activate(username, codeHash, passwordHash)) {
      this.#store.recordFailure(username, (failures) => lockedUntil(failures, now));
      return 'refused';
    }
    return 'activated';
  }

  sessionActive(principal: Principal, issuedAtMs: number): boolean {
    if (principal.org !== this.#org || principal.kind === 'system') return true;
    const subject =
      principal.kind === 'patient' ? accountPatientId(principal.id, this.#patients) : principal.id;
    const account = this.#store.bySubject(principal.kind, subject);
    // Tokens go only to accounts here and to the demo users (the fallback): a principal with
    // neither, a demo user once the node runs without the demo, holds no session now.
    if (account === undefined) return this.#fallback !== undefined;
    return !account.disabled && issuedAtMs >= account.sessionsNotBefore;
  }

  actingAs(principal: Principal, patient: string | undefined): Principal {
    if (principal.kind !== 'patient' || principal.org !== this.#org || patient === undefined)
      return principal;
    return patientPrincipal(principal, patient, this.#patients);
  }

  /** After the password: the TOTP step the code used (undefined when none is needed), or false when either is wrong. */
  async #secondFactor(
    account: AccountRow,
    credentials: Credentials,
    now: number,
  ): Promise<number | undefined | false> {
    if (!(await verifyPassword(credentials.password, account.passwordHash!))) return false;
    if (account.totpSecret === null) return secondFactorRequired(account.role) ? false : undefined;
    return (
      acceptedTotpStep(account.totpSecret, credentials.code ?? '', now, account.totpLastStep) ??
      false
    );
  }

  #userOf(account: FhirAccount): User {
    const profile = ROLE_PROFILES[account.role];
    const user = {
      username: account.username,
      principal: { kind: account.role, id: account.subjectId, org: this.#org },
      fhirUser: `${profile.fhirType}/${account.subjectId}`,
      scopes: parseScopes(profile.scope),
    };
    return signedIn(user, this.#patients);
  }

  #decoyHash(): Promise<string> {
    this.#decoy ??= decoyHash();
    return this.#decoy;
  }
}

type FhirAccount = AccountRow & { readonly role: FhirRole };

function isFhirAccount(account: AccountRow): account is FhirAccount {
  return isFhirRole(account.role);
}

function equalHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
