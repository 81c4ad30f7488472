/**
 * The keystore: private keys encrypted at rest in one JSON file (DESIGN.md, Actors and keys:
 * custodial keys "are encrypted at rest in the home node's keystore").
 *
 * A key-encryption key (KEK) is derived from the operator's secret with scrypt (RFC 7914), whose
 * parameters are recorded in the file so they can be raised later. Each entry is sealed with
 * AES-256-GCM (NIST SP 800-38D) under the KEK with a fresh 96-bit nonce; the AAD binds the entry's
 * name, kind and creation time, so entries cannot be swapped, renamed or relabelled in the file.
 * A sealed empty `check` value lets a wrong secret be refused even when there are no entries.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inspect } from 'node:util';
import { isHex } from '../crypto/index.js';
import { writeFileDurably } from './durable-file.js';
import {
  KEYSTORE_ENTRY_BYTES_MAX,
  KEYSTORE_ENTRY_COUNT_MAX,
  KEYSTORE_FILE_BYTES_MAX,
} from '../ledger/index.js';

/** scrypt cost used by Keystore.create unless overridden: about 32 MiB and tens of milliseconds. */
export const KEYSTORE_SCRYPT_DEFAULTS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const FORMAT_VERSION = 1;
const AAD_ENTRY_PREFIX = 'chartchain/keystore/v1\n';
// Entry AADs have '\n' where this has '/', so the check value can never pass as an entry.
const AAD_CHECK = 'chartchain/keystore/v1/check';
const KEK_BYTES = 32;
const SALT_BYTES = 32;
const SALT_BYTES_MIN = 16;
const SALT_BYTES_MAX = 64;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SECRET_BYTES_MAX = 1024;
const SCRYPT_N_MIN = 2 ** 10;
const SCRYPT_N_MAX = 2 ** 20;
const SCRYPT_R_MAX = 32;
const SCRYPT_P_MAX = 16;
const SCRYPT_MEMORY_BYTES_MAX = 1024 * 1024 * 1024;
const NAME_PATTERN = /^[a-z0-9][a-z0-9:._-]{0,127}$/;
const KIND_PATTERN = /^[a-z0-9][a-z0-9:._-]{0,63}$/;
const OPEN_FAILED = 'wrong secret or corrupt keystore';

/** scrypt cost parameters (RFC 7914 §2): CPU/memory cost N (a power of two), block size r, parallelism p. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** What the keystore reveals about an entry without decrypting it. */
export interface KeystoreEntryInfo {
  readonly name: string;
  readonly kind: string;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

/** A keystore operation failed. Messages never contain secret bytes, and a failed open never says which entry failed. */
export class KeystoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeystoreError';
  }
}

interface KdfParams extends ScryptParams {
  readonly name: 'scrypt';
  readonly salt: string;
  readonly keyLength: typeof KEK_BYTES;
}

interface Sealed {
  readonly nonce: string;
  /** Hex of the GCM ciphertext followed by its 16-byte tag. */
  readonly ciphertext: string;
}

interface SealedEntry extends Sealed {
  readonly createdAt: number;
  readonly kind: string;
}

/**
 * Named secrets sealed under a KEK derived from one secret. Lives in memory; every change is
 * written to the file atomically (temporary file, fsync, rename, directory fsync) with mode 0600.
 * One writer process per file.
 */
export class Keystore {
  readonly path: string;
  readonly #kek: Buffer;
  readonly #kdf: KdfParams;
  readonly #check: Sealed;
  readonly #entries: Map<string, SealedEntry>;

  private constructor(
    path: string,
    kek: Buffer,
    kdf: KdfParams,
    check: Sealed,
    entries: Map<string, SealedEntry>,
  ) {
    this.path = path;
    this.#kek = kek;
    this.#kdf = kdf;
    this.#check = check;
    this.#entries = entries;
  }

  /**
   * Creates an empty keystore at `path`, which must not exist yet, protected by `secret`.
   * Throws TypeError/RangeError for a bad argument, KeystoreError if a file already exists at `path`.
   */
  static create(
    path: string,
    secret: string | Uint8Array,
    options: { scrypt?: ScryptParams } = {},
  ): Keystore {
    const absolutePath = checkPath(path);
    const scrypt = options.scrypt ?? KEYSTORE_SCRYPT_DEFAULTS;
    if (!isScryptParams(scrypt)) {
      throw new RangeError(
        `options.scrypt must have N a power of two in [2^10, 2^20], r in [1, ${SCRYPT_R_MAX}], p in [1, ${SCRYPT_P_MAX}], memory at most 1 GiB`,
      );
    }
    const kdf: KdfParams = {
      name: 'scrypt',
      salt: randomBytes(SALT_BYTES).toString('hex'),
      N: scrypt.N,
      r: scrypt.r,
      p: scrypt.p,
      keyLength: KEK_BYTES,
    };
    const kek = deriveKekFromSecret(secret, kdf);
    const keystore = new Keystore(
      absolutePath,
      kek,
      kdf,
      seal(kek, new Uint8Array(0), AAD_CHECK),
      new Map(),
    );
    mkdirSync(dirname(absolutePath), { recursive: true, mode: 0o700 });
    writeDocument(absolutePath, keystore.#serialize(), { exclusive: true });
    return keystore;
  }

  /**
   * Opens the keystore at `path` and checks every entry against `secret`.
   * Throws KeystoreError('wrong secret or corrupt keystore') if the secret is wrong or anything in
   * the file fails to parse or authenticate, without saying which; KeystoreError if the file is
   * missing or of an unknown version; TypeError for a bad argument.
   */
  static open(path: string, secret: string | Uint8Array): Keystore {
    const absolutePath = checkPath(path);
    checkSecret(secret);
    const document = readDocument(absolutePath);
    if (!isRecord(document)) throw new KeystoreError(OPEN_FAILED);
    if (document.version !== FORMAT_VERSION) {
      throw new KeystoreError(
        typeof document.version === 'number'
          ? `unsupported keystore version ${document.version}`
          : OPEN_FAILED,
      );
    }
    const kdf = parseKdf(document.kdf);
    const check = parseSealed(document.check);
    const entries = parseEntries(document.entries);
    if (kdf === undefined || check === undefined || entries === undefined)
      throw new KeystoreError(OPEN_FAILED);
    const kek = deriveKekFromSecret(secret, kdf);
    // Authenticate everything now, so a wrong secret or a tampered file stops the node at start-up.
    let ok = unsealed(kek, check, AAD_CHECK);
    for (const [name, entry] of entries) ok = unsealed(kek, entry, entryAad(name, entry)) && ok;
    if (!ok) {
      kek.fill(0);
      throw new KeystoreError(OPEN_FAILED);
    }
    return new Keystore(absolutePath, kek, kdf, check, entries);
  }

  /**
   * Seals `secretBytes` under `name` and writes the file. Entries are never overwritten: remove
   * one first, so a key cannot be lost by accident. Throws TypeError/RangeError for a bad argument,
   * KeystoreError if `name` exists or the keystore is full.
   */
  put(name: string, secretBytes: Uint8Array, kind: string): void {
    checkName(name);
    if (!(secretBytes instanceof Uint8Array))
      throw new TypeError('secretBytes must be a Uint8Array');
    if (secretBytes.byteLength === 0 || secretBytes.byteLength > KEYSTORE_ENTRY_BYTES_MAX) {
      throw new RangeError(
        `secretBytes must be 1 to ${KEYSTORE_ENTRY_BYTES_MAX} bytes, got ${secretBytes.byteLength}`,
      );
    }
    if (typeof kind !== 'string' || !KIND_PATTERN.test(kind))
      throw new TypeError(`kind must match ${KIND_PATTERN}`);
    if (this.#entries.has(name)) throw new KeystoreError(`entry ${name} already exists`);
    if (this.#entries.size >= KEYSTORE_ENTRY_COUNT_MAX)
      throw new KeystoreError(`keystore is full (${KEYSTORE_ENTRY_COUNT_MAX} entries)`);
    const metadata = { createdAt: Date.now(), kind };
    const entry: SealedEntry = {
      ...seal(this.#kek, secretBytes, entryAad(name, metadata)),
      ...metadata,
    };
    this.#entries.set(name, entry);
    try {
      writeDocument(this.path, this.#serialize(), { exclusive: false });
    } catch (error) {
      this.#entries.delete(name);
      throw error;
    }
  }

  /** A fresh copy of the secret stored under `name`. Throws TypeError for a bad name, KeystoreError if absent. */
  get(name: string): Uint8Array {
    const entry = this.#entryOf(name);
    const plaintext = openSealed(this.#kek, entry, entryAad(name, entry));
    if (plaintext === undefined) throw new KeystoreError(OPEN_FAILED);
    const copy = new Uint8Array(plaintext);
    plaintext.fill(0);
    return copy;
  }

  /** Kind and creation time of entry `name`. Throws TypeError for a bad name, KeystoreError if absent. */
  info(name: string): KeystoreEntryInfo {
    const entry = this.#entryOf(name);
    return { name, kind: entry.kind, createdAt: entry.createdAt };
  }

  /** True when an entry `name` exists. Throws TypeError for a bad name. */
  has(name: string): boolean {
    checkName(name);
    return this.#entries.has(name);
  }

  /** Every entry name, sorted by UTF-16 code units. */
  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** Deletes entry `name` and writes the file; false if it did not exist. Throws TypeError for a bad name. */
  remove(name: string): boolean {
    checkName(name);
    const entry = this.#entries.get(name);
    if (entry === undefined) return false;
    this.#entries.delete(name);
    try {
      writeDocument(this.path, this.#serialize(), { exclusive: false });
    } catch (error) {
      this.#entries.set(name, entry);
      throw error;
    }
    return true;
  }

  /** Only the entry names: logging or serialising a Keystore must never expose key material. */
  toJSON(): { names: string[] } {
    return { names: this.names() };
  }

  toString(): string {
    const count = this.#entries.size;
    return `Keystore(${count} ${count === 1 ? 'entry' : 'entries'})`;
  }

  [inspect.custom](): string {
    return `Keystore ${inspect(this.toJSON())}`;
  }

  #entryOf(name: string): SealedEntry {
    checkName(name);
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new KeystoreError(`no entry named ${name}`);
    return entry;
  }

  #serialize(): string {
    const entries = Object.fromEntries(this.names().map((name) => [name, this.#entries.get(name)]));
    return (
      JSON.stringify(
        { version: FORMAT_VERSION, kdf: this.#kdf, check: this.#check, entries },
        null,
        2,
      ) + '\n'
    );
  }
}

function checkPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError('path must be a non-empty path');
  return resolve(path);
}

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name))
    throw new TypeError(`name must match ${NAME_PATTERN}`);
}

function checkSecret(secret: string | Uint8Array): void {
  if (typeof secret !== 'string' && !(secret instanceof Uint8Array))
    throw new TypeError('secret must be a string or a Uint8Array');
  const length = typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.byteLength;
  if (length === 0 || length > SECRET_BYTES_MAX)
    throw new RangeError(`secret must be 1 to ${SECRET_BYTES_MAX} bytes`);
}

/** The secret's bytes: a string is taken as its UTF-8 encoding, unnormalised. */
function secretBytesOf(secret: string | Uint8Array): Uint8Array {
  checkSecret(secret);
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

function isScryptParams(value: unknown): value is ScryptParams {
  if (!isRecord(value)) return false;
  const { N, r, p } = value;
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p))
    return false;
  const [n, blockSize, parallelism] = [N as number, r as number, p as number];
  const powerOfTwo = (n & (n - 1)) === 0;
  return (
    powerOfTwo &&
    n >= SCRYPT_N_MIN &&
    n <= SCRYPT_N_MAX &&
    blockSize >= 1 &&
    blockSize <= SCRYPT_R_MAX &&
    parallelism >= 1 &&
    parallelism <= SCRYPT_P_MAX &&
    scryptMemoryBytes({ N: n, r: blockSize, p: parallelism }) <= SCRYPT_MEMORY_BYTES_MAX
  );
}

/** Memory scrypt needs, as OpenSSL's EVP_PBE_scrypt counts it: V (128·r·(N+2)) plus B (128·r·p). */
function scryptMemoryBytes({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + 2) + 128 * r * p;
}

/** The KEK for `secret`; the UTF-8 copy made of a string secret is wiped afterwards. */
function deriveKekFromSecret(secret: string | Uint8Array, kdf: KdfParams): Buffer {
  const bytes = secretBytesOf(secret);
  try {
    return deriveKek(bytes, kdf);
  } finally {
    if (typeof secret === 'string') bytes.fill(0);
  }
}

function deriveKek(secret: Uint8Array, kdf: KdfParams): Buffer {
  const salt = Buffer.from(kdf.salt, 'hex');
  // Node's default maxmem (32 MiB) is just below what the default N = 2^15, r = 8 needs.
  const maxmem = scryptMemoryBytes(kdf) + 1024 * 1024;
  return scryptSync(secret, salt, kdf.keyLength, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem });
}

function entryAad(name: string, entry: Pick<SealedEntry, 'kind' | 'createdAt'>): string {
  // Neither name nor kind can contain '\n', so the fields cannot run into one another.
  return `${AAD_ENTRY_PREFIX}${name}\n${entry.kind}\n${entry.createdAt}`;
}

/** AES-256-GCM with a fresh random nonce: at most KEYSTORE_ENTRY_COUNT_MAX seals per KEK, far below SP 800-38D's 2^32. */
function seal(kek: Buffer, plaintext: Uint8Array, aad: string): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { nonce: nonce.toString('hex'), ciphertext: ciphertext.toString('hex') };
}

/** The plaintext of `sealed`, or undefined when it does not authenticate under `kek` and `aad`. */
function openSealed(kek: Buffer, sealed: Sealed, aad: string): Buffer | undefined {
  const bytes = Buffer.from(sealed.ciphertext, 'hex');
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(sealed.nonce, 'hex'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
  const body = decipher.update(bytes.subarray(0, bytes.byteLength - TAG_BYTES));
  try {
    const plaintext = Buffer.concat([body, decipher.final()]);
    return plaintext;
  } catch {
    return undefined;
  } finally {
    body.fill(0);
  }
}

/** True when `sealed` authenticates; the plaintext is wiped at once. */
function unsealed(kek: Buffer, sealed: Sealed, aad: string): boolean {
  const plaintext = openSealed(kek, sealed, aad);
  plaintext?.fill(0);
  return plaintext !== undefined;
}

function readDocument(path: string): unknown {
  let text: string;
  try {
    if (statSync(path).size > KEYSTORE_FILE_BYTES_MAX) throw new KeystoreError(OPEN_FAILED);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new KeystoreError(`no keystore at ${path}`);
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KeystoreError(OPEN_FAILED);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseKdf(value: unknown): KdfParams | undefined {
  if (
    !isRecord(value) ||
    value.name !== 'scrypt' ||
    value.keyLength !== KEK_BYTES ||
    !isScryptParams(value)
  )
    return undefined;
  const { salt } = value;
  if (
    typeof salt !== 'string' ||
    !isHex(salt, salt.length / 2) ||
    salt.length < 2 * SALT_BYTES_MIN ||
    salt.length > 2 * SALT_BYTES_MAX
  )
    return undefined;
  return { name: 'scrypt', salt, N: value.N, r: value.r, p: value.p, keyLength: KEK_BYTES };
}

function parseSealed(value: unknown): Sealed | undefined {
  if (!isRecord(value)) return undefined;
  const { nonce, ciphertext } = value;
  if (!isHex(nonce, NONCE_BYTES) || typeof ciphertext !== 'string') return undefined;
  const length = ciphertext.length / 2;
  if (
    !isHex(ciphertext, length) ||
    length < TAG_BYTES ||
    length > TAG_BYTES + KEYSTORE_ENTRY_BYTES_MAX
  )
    return undefined;
  return { nonce, ciphertext };
}

function parseEntries(value: unknown): Map<string, SealedEntry> | undefined {
  if (!isRecord(value)) return undefined;
  const names = Object.keys(value).sort();
  if (names.length > KEYSTORE_ENTRY_COUNT_MAX) return undefined;
  const entries = new Map<string, SealedEntry>();
  for (const name of names) {
    const entry = value[name];
    const sealed = parseSealed(entry);
    if (!NAME_PATTERN.test(name) || sealed === undefined || !isRecord(entry)) return undefined;
    const { createdAt, kind } = entry;
    if (
      !Number.isSafeInteger(createdAt) ||
      (createdAt as number) < 0 ||
      typeof kind !== 'string' ||
      !KIND_PATTERN.test(kind)
    )
      return undefined;
    entries.set(name, { ...sealed, createdAt: createdAt as number, kind });
  }
  return entries;
}

/** Writes the keystore document; `exclusive` refuses to replace an existing keystore. */
function writeDocument(path: string, text: string, { exclusive }: { exclusive: boolean }): void {
  try {
    writeFileDurably(path, Buffer.from(text, 'utf8'), { exclusive });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new KeystoreError(`a file already exists at ${path}`);
    throw error;
  }
}
