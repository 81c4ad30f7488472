/**
 * Ed25519 verification on worker threads. One core verifies about 10k signatures a second,
 * so both admission and chain verification fan out across cores. Items travel packed in one
 * transferred buffer per chunk to keep messaging cheap.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';

/** One signature to check. */
export interface VerifyItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

// Plain CommonJS so the worker needs no TypeScript loader. Layout per item:
// publicKey(32) ‖ signature(64) ‖ messageLength(u32 BE) ‖ message.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map();
function keyOf(raw) {
  const id = raw.toString('hex');
  let key = keys.get(id);
  if (key === undefined) {
    try { key = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' }); } catch { key = null; }
    if (keys.size >= 4096) keys.delete(keys.keys().next().value);
    keys.set(id, key);
  }
  return key;
}
parentPort.on('message', ({ id, buffer, count }) => {
  const data = Buffer.from(buffer);
  const results = new Uint8Array(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const raw = data.subarray(offset, offset + 32);
    const signature = data.subarray(offset + 32, offset + 96);
    const length = data.readUInt32BE(offset + 96);
    const message = data.subarray(offset + 100, offset + 100 + length);
    offset += 100 + length;
    const key = keyOf(raw);
    results[i] = key !== null && verify(null, message, key, signature) ? 1 : 0;
  }
  parentPort.postMessage({ id, results }, [results.buffer]);
});
`;

const ITEM_HEADER_BYTES = ED25519_PUBLIC_KEY_BYTES + ED25519_SIGNATURE_BYTES + 4;
/** Batches smaller than this go to one worker: splitting them costs more than it saves. */
const SPLIT_THRESHOLD = 64;

interface Pending {
  resolve: (results: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** A fixed set of verification workers. Call close() when done, or the process stays up. */
export class VerifyPool {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #nextWorker = 0;

  /** Starts `size` workers (default: one per core). Throws RangeError when size < 1. */
  constructor(readonly size = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError('size must be a positive integer');
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn());
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', ({ id, results }: { id: number; results: Uint8Array }) => {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.resolve(results);
    });
    worker.on('error', (error) => this.#failAll(error));
    worker.unref();
    return worker;
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** Verifies every item; result i is true when item i carries a valid signature. Malformed keys or signature lengths are simply invalid. */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const chunkCount = items.length < SPLIT_THRESHOLD ? 1 : this.#workers.length;
    const chunkSize = Math.ceil(items.length / chunkCount);
    const chunks: Promise<Uint8Array>[] = [];
    for (let begin = 0; begin < items.length; begin += chunkSize) {
      chunks.push(this.#send(items.slice(begin, begin + chunkSize)));
    }
    const results: boolean[] = [];
    for (const chunk of await Promise.all(chunks)) for (const bit of chunk) results.push(bit === 1);
    return results;
  }

  /** Verifies one signature. */
  async verifyOne(item: VerifyItem): Promise<boolean> {
    const [ok] = await this.verifyBatch([item]);
    return ok === true;
  }

  #send(items: readonly VerifyItem[]): Promise<Uint8Array> {
    const { buffer, valid } = pack(items);
    const id = this.#nextId++;
    const worker = this.#workers[this.#nextWorker++ % this.#workers.length]!;
    const sent = new Promise<Uint8Array>((resolve, reject) =>
      this.#pending.set(id, { resolve, reject }),
    );
    worker.ref();
    worker.postMessage({ id, buffer, count: items.length }, [buffer]);
    return sent.then((results) => {
      if (this.#pending.size === 0) for (const w of this.#workers) w.unref();
      for (let i = 0; i < valid.length; i++) if (!valid[i]) results[i] = 0;
      return results;
    });
  }

  /** Stops every worker; pending batches reject. */
  async close(): Promise<void> {
    this.#failAll(new Error('verify pool closed'));
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

function pack(items: readonly VerifyItem[]): { buffer: ArrayBuffer; valid: boolean[] } {
  let length = 0;
  for (const item of items) length += ITEM_HEADER_BYTES + item.message.byteLength;
  const buffer = new ArrayBuffer(length);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const valid: boolean[] = [];
  let offset = 0;
  for (const { publicKey, signature, message } of items) {
    const wellFormed =
      publicKey.byteLength === ED25519_PUBLIC_KEY_BYTES &&
      signature.byteLength === ED25519_SIGNATURE_BYTES;
    valid.push(wellFormed);
    if (wellFormed) {
      bytes.set(publicKey, offset);
      bytes.set(signature, offset + ED25519_PUBLIC_KEY_BYTES);
    }
    view.setUint32(offset + ED25519_PUBLIC_KEY_BYTES + ED25519_SIGNATURE_BYTES, message.byteLength);
    bytes.set(message, offset + ITEM_HEADER_BYTES);
    offset += ITEM_HEADER_BYTES + message.byteLength;
  }
  return { buffer, valid };
}
