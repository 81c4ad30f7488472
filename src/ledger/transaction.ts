/**
 * The signed transaction envelope `{type, signer, nonce, body, sig}` (DESIGN.md). Its identity
 * is the SHA-256 of its RFC 8785 canonical bytes, signature included.
 */
import {
  canonicalBytes,
  canonicalize,
  fromHex,
  fromUtf8,
  isHex,
  sha256Hex,
  sign,
  toHex,
  utf8,
  concatBytes,
  type JsonValue,
  type SigningKey,
} from '../crypto/index.js';
import {
  TX_BODY_BYTES_MAX,
  TX_BYTES_MAX,
  TX_TYPE_LENGTH_MAX,
  TX_WIRE_BYTES_MAX,
} from './limits.js';
import type { EnvelopeRejection } from './tx-status.js';

/** A JSON object, as transaction bodies are. */
export type JsonObject = { [key: string]: JsonValue };

/** A signed transaction. `signer` is a key id; `sig` is hex Ed25519 over `signingMessage`. */
export interface Transaction {
  readonly type: string;
  readonly signer: string;
  readonly nonce: number;
  readonly body: JsonObject;
  readonly sig: string;
}

/** The part of a transaction its signature covers. */
export type UnsignedTransaction = Omit<Transaction, 'sig'>;

/** A transaction with its canonical bytes, id and signed message, as every layer above passes it around. */
export interface DecodedTransaction {
  readonly tx: Transaction;
  readonly bytes: Uint8Array;
  readonly txId: string;
  /** signingMessage(tx), computed once at decode time. */
  readonly message: Uint8Array;
}

/** Either a decoded transaction or the reason it was refused. */
export type DecodeResult =
  | ({ readonly ok: true } & DecodedTransaction)
  | { readonly ok: false; readonly status: EnvelopeRejection; readonly reason: string };

// Domain separation: a transaction signature can never be replayed as a block or checkpoint signature.
const TX_SIGNING_CONTEXT_TEXT = 'chartchain/tx/v1\n';
const TX_SIGNING_CONTEXT = utf8(TX_SIGNING_CONTEXT_TEXT);
const TYPE_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;
const ENVELOPE_KEYS = ['body', 'nonce', 'sig', 'signer', 'type'];

/** The bytes a transaction signature covers: a context string and the canonical unsigned form. */
export function signingMessage(unsigned: UnsignedTransaction): Uint8Array {
  const { type, signer, nonce, body } = unsigned;
  return concatBytes(TX_SIGNING_CONTEXT, canonicalBytes({ type, signer, nonce, body }));
}

/** Signs `unsigned` with `key`, which must be the key `unsigned.signer` names. Throws RangeError otherwise. */
export function signTransaction(
  unsigned: Omit<UnsignedTransaction, 'signer'> & { signer?: string },
  key: SigningKey,
): Transaction {
  return signTransactionWithMessage(unsigned, key).tx;
}

/** signTransaction(), with the signing message the signature covers. */
export function signTransactionWithMessage(
  unsigned: Omit<UnsignedTransaction, 'signer'> & { signer?: string },
  key: SigningKey,
): { tx: Transaction; message: Uint8Array } {
  const signer = unsigned.signer ?? key.keyId;
  if (signer !== key.keyId) throw new RangeError('signer must be the key id of the signing key');
  const envelope = { type: unsigned.type, signer, nonce: unsigned.nonce, body: unsigned.body };
  const message = signingMessage(envelope);
  return { tx: { ...envelope, sig: toHex(sign(key, message)) }, message };
}

/** Canonical bytes of a signed transaction. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  return canonicalBytes(tx);
}

/** txId = lowercase hex SHA-256 of the signed canonical bytes (DESIGN.md). */
export function txIdOf(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/**
 * Parses and checks the shape of a transaction from wire bytes, a string, or an already
 * parsed value. Returns the canonical bytes and txId, or a rejection with a reason that names
 * the offending field. Signature, signer and nonce are checked against state elsewhere.
 */
export function decodeTransaction(input: Uint8Array | string | unknown): DecodeResult {
  let value: unknown = input;
  if (input instanceof Uint8Array || typeof input === 'string') {
    const size = typeof input === 'string' ? input.length : input.byteLength;
    if (size > TX_WIRE_BYTES_MAX)
      return reject('invalid:oversized', `transaction exceeds ${TX_WIRE_BYTES_MAX} bytes`);
    try {
      value = JSON.parse(typeof input === 'string' ? input : fromUtf8(input));
    } catch {
      return reject('invalid:malformed', 'transaction is not valid UTF-8 JSON');
    }
  }
  const shapeError = checkShape(value);
  if (shapeError !== undefined) return shapeError;
  return finish(value as Transaction);
}

function finish(tx: Transaction): DecodeResult {
  let bodyJson: string;
  try {
    bodyJson = canonicalize(tx.body);
  } catch (error) {
    return reject(
      'invalid:malformed',
      `body has no canonical JSON form: ${(error as Error).message}`,
    );
  }
  if (utf8Length(bodyJson) > TX_BODY_BYTES_MAX)
    return reject('invalid:oversized', `body exceeds ${TX_BODY_BYTES_MAX} bytes`);
  // The members sort as body, nonce, sig, signer, type (RFC 8785 §3.2.3), so the canonical
  // transaction and its signed message are assembled around the body's canonical form, which
  // is computed once. Every other field was checked to need no escaping beyond JSON.stringify.
  const { type, signer, nonce, body, sig } = tx;
  const head = `{"body":${bodyJson},"nonce":${nonce}`;
  const tail = `,"signer":"${signer}","type":${JSON.stringify(type)}}`;
  const bytes = utf8(`${head},"sig":"${sig}"${tail}`);
  if (bytes.byteLength > TX_BYTES_MAX)
    return reject('invalid:oversized', `transaction exceeds ${TX_BYTES_MAX} bytes`);
  const message = utf8(TX_SIGNING_CONTEXT_TEXT + head + tail);
  return { ok: true, tx: { type, signer, nonce, body, sig }, bytes, txId: txIdOf(bytes), message };
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function checkShape(value: unknown): DecodeResult | undefined {
  if (!isPlainObject(value))
    return reject('invalid:malformed', 'transaction must be a JSON object');
  const keys = Object.keys(value).sort();
  if (keys.length !== ENVELOPE_KEYS.length || keys.some((key, i) => key !== ENVELOPE_KEYS[i])) {
    return reject(
      'invalid:malformed',
      'transaction must have exactly the fields type, signer, nonce, body, sig',
    );
  }
  const { type, signer, nonce, body, sig } = value;
  if (typeof type !== 'string') return reject('invalid:malformed', 'type must be a string');
  if (type.length > TX_TYPE_LENGTH_MAX)
    return reject('invalid:oversized', `type exceeds ${TX_TYPE_LENGTH_MAX} characters`);
  if (!TYPE_PATTERN.test(type))
    return reject('invalid:malformed', 'type must be dotted lowercase words');
  if (!isHex(signer, 32))
    return reject('invalid:malformed', 'signer must be a 32-byte lowercase hex key id');
  if (typeof nonce !== 'number' || !Number.isSafeInteger(nonce) || nonce < 1) {
    return reject('invalid:malformed', 'nonce must be a positive safe integer');
  }
  if (!isPlainObject(body)) return reject('invalid:malformed', 'body must be a JSON object');
  if (!isHex(sig, 64))
    return reject('invalid:malformed', 'sig must be a 64-byte lowercase hex Ed25519 signature');
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function reject(status: EnvelopeRejection, reason: string): DecodeResult {
  return { ok: false, status, reason };
}

/** The raw signature bytes of `tx`. */
export function signatureOf(tx: Transaction): Uint8Array {
  return fromHex(tx.sig, 'sig', 64);
}
