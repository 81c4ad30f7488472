/**
 * Data-key unwrapping on a worker thread. Opening an HPKE-wrapped key (RFC 9180 base mode,
 * DHKEM(X25519, HKDF-SHA256), AES-256-GCM) costs about 0.3 ms of CPU, most of a read's; a
 * group commit releases tens of reads at once, and on the main thread their unwraps would hold
 * every other request for as long. Items sent in one event-loop turn travel as one message.
 * The worker's code is the same construction as hpke.ts and record-envelope.ts; the tests
 * check that both open exactly what wrapDataKey seals.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { fromHex, isHex } from './bytes.js';
import { HPKE_ENC_BYTES, HpkeError } from './hpke.js';
import { DATA_KEY_BYTES, DATA_KEY_WRAP_INFO, type WrappedDataKey } from './record-envelope.js';
import { AEAD_TAG_BYTES } from './aead.js';

// Plain CommonJS so the worker needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createDecipheriv, createHmac, createPublicKey, diffieHellman } = require('node:crypto');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
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
const keys = new Map();
function unwrap({ recipient, enc, wrapped, aad }) {
  const privateKey = keys.get(recipient);
  const dh = diffieHellman({ privateKey, publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, enc]), format: 'der', type: 'spki' }) });
  if (dh.every((byte) => byte === 0)) return null;
  const eaePrk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  const sharedSecret = labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', Buffer.concat([enc, Buffer.from(recipient, 'hex')]), 32);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', EMPTY);
  const key = labeledExpand(HPKE_SUITE, secret, 'key', CONTEXT, 32);
  const nonce = labeledExpand(HPKE_SUITE, secret, 'base_nonce', CONTEXT, 12);
  const tagAt = wrapped.length - workerData.tagBytes;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: workerData.tagBytes });
  decipher.setAAD(aad);
  decipher.setAuthTag(wrapped.subarray(tagAt));
  return Buffer.concat([decipher.update(wrapped.subarray(0, tagAt)), decipher.final()]);
}
parentPort.on('message', ({ id, newKeys, items }) => {
  for (const [recipient, privateKey] of newKeys) keys.set(recipient, privateKey);
  const results = items.map((item) => {
    try {
      return unwrap({ ...item, enc: Buffer.from(item.enc), wrapped: Buffer.from(item.wrapped) });
    } catch {
      return null;
    }
  });
  parentPort.postMessage({ id, results });
});
`;

/** A wrapped data key to open with the private key of `recipient` (raw X25519 public key, hex). */
export interface UnwrapItem {
  readonly envelope: WrappedDataKey;
  readonly recipient: string;
  readonly privateKey: KeyObject;
  readonly aad: Uint8Array;
}

interface Queued extends UnwrapItem {
  readonly resolve: (dataKey: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

interface Lane {
  readonly worker: Worker;
  /** Recipients whose private key this worker already holds. */
  readonly recipients: Set<string>;
}

const RECIPIENTS_PER_WORKER_MAX = 4096;

/** Workers that open wrapped data keys. Call close() when done, or the process stays up. */
export class UnwrapPool {
  readonly #lanes: Lane[] = [];
  readonly #pending = new Map<number, Queued[]>();
  #queue: Queued[] = [];
  #nextId = 0;
  #nextLane = 0;
  #closed = false;

  /** Starts `size` workers. Throws RangeError when size < 1. */
  constructor(readonly size = 1) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer');
    for (let i = 0; i < size; i++) this.#lanes.push(this.#spawn());
  }

  /**
   * The data key `item.envelope` wraps. Rejects with HpkeError when the envelope is malformed or
   * does not open under the key and aad (wrong recipient, another record, flipped bytes).
   */
  unwrap(item: UnwrapItem): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('unwrap pool closed'));
    if (!isHex(item.envelope.enc, HPKE_ENC_BYTES)) return Promise.reject(new HpkeError('invalid-enc', `enc must be ${HPKE_ENC_BYTES} bytes of lowercase hex`));
    if (!isHex(item.envelope.wrappedKey, DATA_KEY_BYTES + AEAD_TAG_BYTES)) return Promise.reject(new HpkeError('open-failed', `wrappedKey must be ${DATA_KEY_BYTES + AEAD_TAG_BYTES} bytes of lowercase hex`));
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.#send());
      this.#queue.push({ ...item, resolve, reject });
    });
  }

  #spawn(): Lane {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { info: DATA_KEY_WRAP_INFO, tagBytes: AEAD_TAG_BYTES } });
    worker.on('message', ({ id, results }: { id: number; results: (Uint8Array | null)[] }) => this.#settle(id, results));
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
    for (const { recipient, privateKey } of batch) if (!lane.recipients.has(recipient)) newKeys.set(recipient, privateKey);
    for (const recipient of newKeys.keys()) lane.recipients.add(recipient);
    const id = this.#nextId++;
    this.#pending.set(id, batch);
    const items = batch.map(({ recipient, envelope, aad }) => ({ recipient, aad, enc: fromHex(envelope.enc), wrapped: fromHex(envelope.wrappedKey) }));
    lane.worker.ref();
    lane.worker.postMessage({ id, newKeys: [...newKeys], items });
  }

  #settle(id: number, results: (Uint8Array | null)[]): void {
    const batch = this.#pending.get(id) ?? [];
    this.#pending.delete(id);
    if (this.#pending.size === 0) for (const lane of this.#lanes) lane.worker.unref();
    batch.forEach(({ resolve, reject }, i) => {
      const dataKey = results[i];
      if (dataKey instanceof Uint8Array && dataKey.byteLength === DATA_KEY_BYTES) resolve(new Uint8Array(dataKey));
      else reject(new HpkeError('open-failed', 'HPKE open failed: wrong key, enc, info, aad or ciphertext'));
    });
  }

  #failAll(error: Error): void {
    for (const batch of this.#pending.values()) for (const queued of batch) queued.reject(error);
    this.#pending.clear();
  }

  /** Stops every worker; unwraps in flight reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new Error('unwrap pool closed'));
    for (const queued of this.#queue) queued.reject(new Error('unwrap pool closed'));
    this.#queue = [];
    await Promise.all(this.#lanes.map((lane) => lane.worker.terminate()));
  }
}
