/**
 * Data-key wrapping and unwrapping on a worker thread. An HPKE wrap or unwrap of a data key
 * (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), AES-256-GCM) costs 0.2-0.3 ms of CPU: a
 * write wraps to three or more recipients, and a group commit releases tens of reads at once.
 * On the main thread that work would hold every other request. Items sent in one event-loop
 * turn travel as one message. The worker's code is the same construction as hpke.ts and
 * record-envelope.ts; the tests check that each side opens what the other seals.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { fromHex, isHex, toHex } from './bytes.js';
import { HPKE_ENC_BYTES, HpkeError } from './hpke.js';
import { DATA_KEY_BYTES, DATA_KEY_WRAP_INFO, type WrappedDataKey } from './record-envelope.js';
import { AEAD_TAG_BYTES } from './aead.js';

// Plain CommonJS so the worker needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, randomBytes } = require('node:crypto');
const VERSION = Buffer.from('HPKE-v1');
const KEM_SUITE = Buffer.from([0x4b, 0x45, 0x4d, 0x00, 0x20]);
const HPKE_SUITE = Buffer.from([0x48, 0x50, 0x4b, 0x45, 0x00, 0x20, 0x00, 0x01, 0x00, 0x02]);
const EMPTY = Buffer.alloc(0);
function hmac(key, ...parts) {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}
function labeledExtract(suite, salt, label, ikm) {
  return hmac(salt, VERSION, suite, Buffer.from(label), ikm);
}
// One HKDF-Expand block: every length used here is at most 32 bytes.
function labeledExpand(suite, prk, label, info, length) {
  return hmac(prk, Buffer.from([0, length]), VERSION, suite, Buffer.from(label), info, Buffer.from([1])).subarray(0, length);
}
const CONTEXT = Buffer.concat([
  Buffer.from([0]),
  labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY),
  labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', Buffer.from(workerData.info)),
]);
const privateKeys = new Map();
// Raw keys cross into OpenSSL as JWK, not DER: the DER codecs cost 100-800 us a key here (x25519.ts).
function publicKeyOf(raw) {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}
const recipientKeys = new Map();
function recipientKeyOf(hex) {
  let key = recipientKeys.get(hex);
  if (key === undefined) {
    if (recipientKeys.size >= 4096) recipientKeys.delete(recipientKeys.keys().next().value);
    key = publicKeyOf(Buffer.from(hex, 'hex'));
    recipientKeys.set(hex, key);
  }
  return key;
}
// 32 random bytes are a private key (RFC 7748 section 5); not generateKeyPairSync, whose keys can
// deadlock Node 20 when exported (key-generation.ts).
function ephemeralKeyPair() {
  const d = randomBytes(32);
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: d.toString('base64url'), x: '' }, format: 'jwk' });
  d.fill(0);
  return { privateKey, enc: Buffer.from(privateKey.export({ format: 'jwk' }).x, 'base64url') };
}
// DH result → AEAD key and nonce: ExtractAndExpand (RFC 9180 section 4.1), then KeySchedule (5.1).
function keySchedule(dh, enc, recipientRaw) {
  if (dh.every((byte) => byte === 0)) throw new Error('all-zero shared secret');
  const eaePrk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  const sharedSecret = labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', Buffer.concat([enc, recipientRaw]), 32);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', EMPTY);
  return { key: labeledExpand(HPKE_SUITE, secret, 'key', CONTEXT, 32), nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', CONTEXT, 12) };
}
function wrap({ recipient, dataKey, aad }) {
  const recipientRaw = Buffer.from(recipient, 'hex');
  const { privateKey, enc } = ephemeralKeyPair();
  const dh = diffieHellman({ privateKey, publicKey: recipientKeyOf(recipient) });
  const { key, nonce } = keySchedule(dh, enc, recipientRaw);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: workerData.tagBytes });
  cipher.setAAD(aad);
  return Buffer.concat([enc, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
}
function unwrap({ recipient, enc, wrapped, aad }) {
  const dh = diffieHellman({ privateKey: privateKeys.get(recipient), publicKey: publicKeyOf(enc) });
  const { key, nonce } = keySchedule(dh, enc, Buffer.from(recipient, 'hex'));
  const tagAt = wrapped.length - workerData.tagBytes;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: workerData.tagBytes });
  decipher.setAAD(aad);
  decipher.setAuthTag(wrapped.subarray(tagAt));
  return Buffer.concat([decipher.update(wrapped.subarray(0, tagAt)), decipher.final()]);
}
function run(item) {
  if (item.op === 'wrap') return wrap({ ...item, dataKey: Buffer.from(item.dataKey), aad: Buffer.from(item.aad) });
  return unwrap({ ...item, enc: Buffer.from(item.enc), wrapped: Buffer.from(item.wrapped), aad: Buffer.from(item.aad) });
}
// Answers go back as they are ready, about every millisecond of work, not once for the whole
// message: a caller whose item is done goes on while the rest are still being computed.
parentPort.on('message', ({ id, newKeys, items }) => {
  for (const [recipient, privateKey] of newKeys) privateKeys.set(recipient, privateKey);
  let from = 0;
  let results = [];
  let started = performance.now();
  items.forEach((item, i) => {
    try {
      // A copy of its own: the result may sit in Buffer's shared pool, next to other keys.
      results.push(new Uint8Array(run(item)));
    } catch {
      results.push(null);
    }
    const done = i === items.length - 1;
    if (!done && performance.now() - started < workerData.replyEveryMs) return;
    parentPort.postMessage({ id, from, results, done });
    from = i + 1;
    results = [];
    started = performance.now();
  });
});
`;

/** A wrapped data key to open with the private key of `recipient` (raw X25519 public key, hex). */
export interface UnwrapItem {
  readonly envelope: WrappedDataKey;
  readonly recipient: string;
  readonly privateKey: KeyObject;
  readonly aad: Uint8Array;
}

/** What travels to the worker for one item. */
type WorkerItem =
  | {
      readonly op: 'wrap';
      readonly recipient: string;
      readonly dataKey: Uint8Array;
      readonly aad: Uint8Array;
    }
  | {
      readonly op: 'unwrap';
      readonly recipient: string;
      readonly enc: Uint8Array;
      readonly wrapped: Uint8Array;
      readonly aad: Uint8Array;
    };

interface Queued {
  readonly item: WorkerItem;
  /** The recipient's private key, which the worker must hold to unwrap. */
  readonly privateKey?: KeyObject;
  /** Called with the worker's answer: the bytes, or null when the operation failed. */
  readonly finish: (result: Uint8Array | null) => void;
  readonly reject: (error: Error) => void;
}

interface Lane {
  readonly worker: Worker;
  /** Recipients whose private key this worker already holds. */
  readonly recipients: Set<string>;
}

/** The worker's answers to items `from` on of message `id`; `done` with the last of them. */
interface Reply {
  readonly id: number;
  readonly from: number;
  readonly results: readonly (Uint8Array | null)[];
  readonly done: boolean;
}

const RECIPIENTS_PER_WORKER_MAX = 4096;
/** How much work the worker does before sending the answers it has: about four wraps. */
const REPLY_EVERY_MS = 1;
const WRAPPED_KEY_BYTES = DATA_KEY_BYTES + AEAD_TAG_BYTES;

/** Workers that wrap and open data keys. Call close() when done, or the process stays up. */
export class HpkePool {
  readonly #lanes: Lane[] = [];
  readonly #pending = new Map<number, Queued[]>();
  #queue: Queued[] = [];
  #nextId = 0;
  #nextLane = 0;
  #closed = false;

  /** Starts `size` workers. Throws RangeError when size < 1. */
  constructor(readonly size = 1) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError('size must be a positive integer');
    for (let i = 0; i < size; i++) this.#lanes.push(this.#spawn());
  }

  /** True when the workers have nothing queued or in hand. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#pending.size === 0;
  }

  /**
   * wrapDataKey on the worker: `dataKey` wrapped to `recipient` (raw X25519 public key, hex)
   * under `aad`. Rejects with RangeError for wrong lengths, HpkeError for a low-order key.
   */
  wrap(dataKey: Uint8Array, recipient: string, aad: Uint8Array): Promise<WrappedDataKey> {
    if (dataKey.byteLength !== DATA_KEY_BYTES)
      return Promise.reject(
        new RangeError(`dataKey must be ${DATA_KEY_BYTES} bytes, got ${dataKey.byteLength}`),
      );
    if (!isHex(recipient, HPKE_ENC_BYTES))
      return Promise.reject(
        new RangeError(`recipientPublicKey must be ${HPKE_ENC_BYTES} bytes of lowercase hex`),
      );
    return this.#run({ op: 'wrap', recipient, dataKey, aad }, undefined, (result) => {
      if (result?.byteLength !== HPKE_ENC_BYTES + WRAPPED_KEY_BYTES)
        throw new HpkeError(
          'zero-shared-secret',
          'X25519 produced no shared secret (low-order public key)',
        );
      return {
        enc: toHex(result.subarray(0, HPKE_ENC_BYTES)),
        wrappedKey: toHex(result.subarray(HPKE_ENC_BYTES)),
      };
    });
  }

  /**
   * unwrapDataKey on the worker: the data key `item.envelope` wraps. Rejects with HpkeError when
   * the envelope is malformed or does not open under the key and aad (wrong recipient, another
   * record, flipped bytes).
   */
  unwrap({ envelope, recipient, privateKey, aad }: UnwrapItem): Promise<Uint8Array> {
    if (!isHex(envelope.enc, HPKE_ENC_BYTES))
      return Promise.reject(
        new HpkeError('invalid-enc', `enc must be ${HPKE_ENC_BYTES} bytes of lowercase hex`),
      );
    if (!isHex(envelope.wrappedKey, WRAPPED_KEY_BYTES))
      return Promise.reject(
        new HpkeError(
          'open-failed',
          `wrappedKey must be ${WRAPPED_KEY_BYTES} bytes of lowercase hex`,
        ),
      );
    const item: WorkerItem = {
      op: 'unwrap',
      recipient,
      aad,
      enc: fromHex(envelope.enc),
      wrapped: fromHex(envelope.wrappedKey),
    };
    return this.#run(item, privateKey, (result) => {
      if (result?.byteLength !== DATA_KEY_BYTES)
        throw new HpkeError(
          'open-failed',
          'HPKE open failed: wrong key, enc, info, aad or ciphertext',
        );
      return new Uint8Array(result);
    });
  }

  /** Queues `item` for the next message; resolves with `decode` of the worker's answer. */
  #run<T>(
    item: WorkerItem,
    privateKey: KeyObject | undefined,
    decode: (result: Uint8Array | null) => T,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('HPKE pool closed'));
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.#send());
      const finish = (result: Uint8Array | null) => {
        try {
          resolve(decode(result));
        } catch (error) {
          reject(error as Error);
        }
      };
      this.#queue.push({
        item,
        ...(privateKey === undefined ? {} : { privateKey }),
        finish,
        reject,
      });
    });
  }

  #spawn(): Lane {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        info: DATA_KEY_WRAP_INFO,
        tagBytes: AEAD_TAG_BYTES,
        replyEveryMs: REPLY_EVERY_MS,
      },
    });
    worker.on('message', (reply: Reply) => this.#settle(reply));
    worker.on('error', (error) => this.#failAll(error));
    worker.unref();
    return { worker, recipients: new Set() };
  }

  #send(): void {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const lane = this.#lanes[this.#nextLane++ % this.#lanes.length]!;
    if (lane.recipients.size > RECIPIENTS_PER_WORKER_MAX) lane.recipients.clear();
    const newKeys = new Map<string, KeyObject>();
    for (const { item, privateKey } of batch) {
      if (privateKey !== undefined && !lane.recipients.has(item.recipient))
        newKeys.set(item.recipient, privateKey);
    }
    for (const recipient of newKeys.keys()) lane.recipients.add(recipient);
    const id = this.#nextId++;
    this.#pending.set(id, batch);
    lane.worker.ref();
    lane.worker.postMessage({ id, newKeys: [...newKeys], items: batch.map(({ item }) => item) });
  }

  #settle({ id, from, results, done }: Reply): void {
    const batch = this.#pending.get(id) ?? [];
    if (done) this.#pending.delete(id);
    if (this.#pending.size === 0) for (const lane of this.#lanes) lane.worker.unref();
    results.forEach((result, i) => batch[from + i]?.finish(result));
  }

  #failAll(error: Error): void {
    for (const batch of this.#pending.values()) for (const queued of batch) queued.reject(error);
    this.#pending.clear();
  }

  /** Stops every worker; operations in flight reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const error = new Error('HPKE pool closed');
    this.#failAll(error);
    for (const queued of this.#queue) queued.reject(error);
    this.#queue = [];
    await Promise.all(this.#lanes.map((lane) => lane.worker.terminate()));
  }
}
