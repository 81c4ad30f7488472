/**
 * The node's user accounts, in `users.db` in the data directory (owner-only, like every file
 * there). Only what sign-in needs is kept: a password hash, never a password; a TOTP secret;
 * the lockout counters; and the time before which every session of the account is void.
 * The node and the `chartchain users` commands share the file, so a disable takes effect at
 * the next request without a restart.
 */
import type { Statement } from 'better-sqlite3';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';
import type { AccountRole } from './account-roles.js';

/** The accounts file's name in a node's data directory. */
export const ACCOUNTS_FILE = 'users.db';

/** One account as stored. */
export interface AccountRow {
  readonly username: string;
  readonly role: AccountRole;
  /** Whom the account is: a practitioner's or auditor's ledger id, or a patient's FHIR Patient id (the patient acts under its pseudonym). */
  readonly subjectId: string;
  /** The scrypt hash of the password; null until the account is activated. */
  readonly passwordHash: string | null;
  /** The base32 TOTP secret; null when the account has no second factor. */
  readonly totpSecret: string | null;
  /** The last TOTP time step accepted, so no code is accepted twice. */
  readonly totpLastStep: number;
  readonly disabled: boolean;
  /** Consecutive failed sign-ins. */
  readonly failures: number;
  /** Until when (ms since the epoch) sign-in is refused after repeated failures; 0 if not locked. */
  readonly lockedUntil: number;
  /** Tokens issued before this time (ms since the epoch) are no longer honoured. */
  readonly sessionsNotBefore: number;
  /** The SHA-256 (hex) of the one-time activation code, while the account awaits activation. */
  readonly activationHash: string | null;
  /** When the activation code lapses (ms since the epoch); 0 when there is none. */
  readonly activationExpires: number;
  readonly createdAt: number;
}

/** What is given to create an account. */
export type NewAccount = Pick<
  AccountRow,
  'username' | 'role' | 'subjectId' | 'passwordHash' | 'totpSecret' | 'createdAt'
> &
  Partial<Pick<AccountRow, 'activationHash' | 'activationExpires'>>;

/** Why an account could not be created. */
export class AccountConflictError extends Error {}

const SCHEMA = `CREATE TABLE IF NOT EXISTS account (
  username TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  password_hash TEXT,
  totp_secret TEXT,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  sessions_not_before INTEGER NOT NULL DEFAULT 0,
  activation_hash TEXT,
  activation_expires INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (role, subject_id)
) WITHOUT ROWID`;

const COLUMNS = `username, role, subject_id AS subjectId, password_hash AS passwordHash, totp_secret AS totpSecret,
  totp_last_step AS totpLastStep, disabled, failures, locked_until AS lockedUntil,
  sessions_not_before AS sessionsNotBefore, activation_hash AS activationHash,
  activation_expires AS activationExpires, created_at AS createdAt`;

type StoredRow = Omit<AccountRow, 'disabled'> & { disabled: number };

/** The accounts file of one node. */
export class AccountStore {
  readonly #db: SqliteDatabase;
  readonly #byName: Statement<[string], StoredRow>;
  readonly #bySubject: Statement<[string, string], StoredRow>;

  /** Opens (creating) the accounts file at `path`. Throws what SQLite throws on a damaged file. */
  constructor(path: string) {
    this.#db = openDatabase(path);
    this.#db.exec(SCHEMA);
    this.#byName = this.#db.prepare(`SELECT ${COLUMNS} FROM account WHERE username = ?`);
    this.#bySubject = this.#db.prepare(
      `SELECT ${COLUMNS} FROM account WHERE role = ? AND subject_id = ?`,
    );
  }

  /** Creates an account; throws AccountConflictError if the username, or the role and subject, are taken. */
  add(account: NewAccount): void {
    try {
      this.#db
        .prepare(
          'INSERT INTO account (username, role, subject_id, password_hash, totp_secret, activation_hash, activation_expires, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          account.username,
          account.role,
          account.subjectId,
          account.passwordHash,
          account.totpSecret,
          account.activationHash ?? null,
          account.activationExpires ?? 0,
          account.createdAt,
        );
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true) {
        throw new AccountConflictError(
          `an account named ${account.username}, or a ${account.role} account for ${account.subjectId}, exists already`,
        );
      }
      throw error;
    }
  }

  /** The account named `username`, if there is one. */
  get(username: string): AccountRow | undefined {
    return rowOf(this.#byName.get(username));
  }

  /** The account of the `role` whose principal is `subjectId`, if there is one. */
  bySubject(role: string, subjectId: string): AccountRow | undefined {
    return rowOf(this.#bySubject.get(role, subjectId));
  }

  /** Every account, by username. */
  list(): AccountRow[] {
    return this.#db
      .prepare<[], StoredRow>(`SELECT ${COLUMNS} FROM account ORDER BY username`)
      .all()
      .map((row) => rowOf(row)!);
  }

  /** A failed sign-in: counts it and sets the lock `lockFor(failures)` gives; returns the new count. */
  recordFailure(username: string, lockFor: (failures: number) => number): number {
    const row = this.#db
      .prepare<[string], { failures: number }>(
        'UPDATE account SET failures = failures + 1 WHERE username = ? RETURNING failures',
      )
      .get(username);
    if (row === undefined) return 0;
    this.#db
      .prepare('UPDATE account SET locked_until = ? WHERE username = ?')
      .run(lockFor(row.failures), username);
    return row.failures;
  }

  /** A successful sign-in: the counters cleared, and the TOTP step used, if any; false (nothing changed) if that step was used already. */
  recordSuccess(username: string, totpStep: number | undefined): boolean {
    if (totpStep === undefined)
      return this.#update(
        'UPDATE account SET failures = 0, locked_until = 0 WHERE username = ?',
        username,
      );
    return this.#update(
      'UPDATE account SET failures = 0, locked_until = 0, totp_last_step = ? WHERE username = ? AND totp_last_step < ?',
      totpStep,
      username,
      totpStep,
    );
  }

  /** Sets the password hash, spends any activation code and clears the lock; true if the account exists. */
  setPassword(username: string, passwordHash: string): boolean {
    return this.#update(
      'UPDATE account SET password_hash = ?, activation_hash = NULL, activation_expires = 0, failures = 0, locked_until = 0 WHERE username = ?',
      passwordHash,
      username,
    );
  }

  /** Spends the activation code whose hash is `activationHash` and sets the password; false if that code is not the account's (any more). */
  activate(username: string, activationHash: string, passwordHash: string): boolean {
    return this.#update(
      'UPDATE account SET password_hash = ?, activation_hash = NULL, activation_expires = 0, failures = 0, locked_until = 0 WHERE username = ? AND activation_hash = ?',
      passwordHash,
      username,
      activationHash,
    );
  }

  /** Sets a new activation code (its hash), voiding the password until it is used; true if the account exists. */
  setActivation(username: string, activationHash: string, expires: number): boolean {
    return this.#update(
      'UPDATE account SET password_hash = NULL, activation_hash = ?, activation_expires = ? WHERE username = ?',
      activationHash,
      expires,
      username,
    );
  }

  /** Sets (or with null, removes) the TOTP secret; true if the account exists. */
  setTotpSecret(username: string, secret: string | null): boolean {
    return this.#update(
      'UPDATE account SET totp_secret = ?, totp_last_step = 0 WHERE username = ?',
      secret,
      username,
    );
  }

  /** Disables or enables the account; disabling also ends its sessions. True if the account exists. */
  setDisabled(username: string, disabled: boolean, nowMs: number): boolean {
    if (!disabled)
      return this.#update(
        'UPDATE account SET disabled = 0, failures = 0, locked_until = 0 WHERE username = ?',
        username,
      );
    return this.#update(
      'UPDATE account SET disabled = 1, sessions_not_before = max(sessions_not_before, ?) WHERE username = ?',
      nowMs,
      username,
    );
  }

  /** Voids every token issued to the account until now; true if the account exists. */
  endSessions(username: string, nowMs: number): boolean {
    return this.#update(
      'UPDATE account SET sessions_not_before = max(sessions_not_before, ?) WHERE username = ?',
      nowMs,
      username,
    );
  }

  close(): void {
    this.#db.close();
  }

  #update(sql: string, ...parameters: (string | number | null)[]): boolean {
    return this.#db.prepare(sql).run(...parameters).changes === 1;
  }
}

/** What state an account is in, in words. */
export function accountState(
  account: AccountRow,
  nowMs: number,
): 'disabled' | 'awaiting activation' | 'locked' | 'active' {
  if (account.disabled) return 'disabled';
  if (account.passwordHash === null) return 'awaiting activation';
  return account.lockedUntil > nowMs ? 'locked' : 'active';
}

function rowOf(row: StoredRow | undefined): AccountRow | undefined {
  return row === undefined ? undefined : { ...row, disabled: row.disabled === 1 };
}
