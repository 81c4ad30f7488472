/**
 * Users who log in at the authorization endpoint. Passwords are kept only as scrypt hashes
 * (node:crypto), encoded with their parameters: `scrypt$N$r$p$salt$hash`, base64url.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Principal } from '../../contracts/index.js';
import type { Scope } from './scopes.js';

/** Someone who can log in, and what they may grant an app. */
export interface User {
  readonly username: string;
  readonly principal: Principal;
  /** The user's FHIR resource, e.g. `Practitioner/dr-a` (SMART `fhirUser`). */
  readonly fhirUser: string;
  /** The scopes an app may be granted on this user's behalf. */
  readonly scopes: readonly Scope[];
}

/** A user together with their password hash. */
export interface UserRecord extends User {
  readonly passwordHash: string;
}

/** Where users are looked up; asynchronous so that a persistent store can stand behind it. */
export interface UserDirectory {
  /** The user whose username and password these are, or undefined. */
  authenticate(username: string, password: string): Promise<User | undefined>;
}

/** Longest password accepted, in UTF-16 code units. */
export const PASSWORD_LENGTH_MAX = 1024;
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

/** Hashes `password` with scrypt and a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scrypt(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** True if `password` hashes to `encoded`; false on a mismatch or a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash, ...rest] = encoded.split('$');
  const options = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined || rest.length > 0 || !saneParameters(options)) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length < 16) return false;
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, options);
  return timingSafeEqual(actual, expected);
}

/** Bounds a stored hash's cost parameters, so a corrupt record cannot exhaust memory. */
function saneParameters({ N, r, p }: { N: number; r: number; p: number }): boolean {
  const powerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  return powerOfTwo && Number.isSafeInteger(r) && r >= 1 && 128 * N * r <= 2 ** 28 && Number.isSafeInteger(p) && p >= 1 && p <= 16;
}

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  const maxmem = 256 * (options.N ?? 0) * (options.r ?? 0) + 1024 * 1024;
  return new Promise((resolve, reject) => scryptCallback(password.normalize('NFC'), salt, keyLength, { ...options, maxmem }, (error, key) => (error ? reject(error) : resolve(key))));
}

/** A UserDirectory held in memory. */
export class InMemoryUserDirectory implements UserDirectory {
  private readonly users: ReadonlyMap<string, UserRecord>;
  private decoy: Promise<string> | undefined;

  constructor(records: readonly UserRecord[]) {
    this.users = new Map(records.map((record) => [record.username, record]));
  }

  /** The user whose username and password these are; an unknown name costs as much as a wrong password. */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    if (password.length > PASSWORD_LENGTH_MAX) return undefined;
    const record = this.users.get(username);
    const matches = await verifyPassword(password, record?.passwordHash ?? (await this.decoyHash()));
    if (record === undefined || !matches) return undefined;
    const { passwordHash: _hash, ...user } = record;
    return user;
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= hashPassword(randomBytes(16).toString('hex'));
    return this.decoy;
  }
}
