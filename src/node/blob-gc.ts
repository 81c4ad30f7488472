/**
 * Collecting blobs no transaction references. A write seals its ciphertext into the blob store
 * before its transaction is ordered, so a write that is refused, or fails half way through a
 * batch, leaves ciphertexts behind that no committed state names. They hold nothing anyone can
 * open without the discarded data keys, but they fill the disk: the collector deletes them.
 */
import type { JsonValue } from '../crypto/index.js';
import type { Transaction } from '../ledger/index.js';
import type { BlobStore, ChainStore } from '../storage/index.js';
import { envelopesOf } from './blob-anchors.js';

/**
 * How long a blob may sit unreferenced before it is collected: far longer than a write takes
 * from sealing to commit, so a write in flight never loses its ciphertext.
 */
export const BLOB_GC_GRACE_MS = 10 * 60_000;
/** Least time between two collections run because a write failed: each one reads every version row. */
export const BLOB_GC_INTERVAL_MS = 60_000;

/** What the collector needs of a node: its committed state, its blobs and what is still pending. */
export interface BlobCollectorHost {
  readonly store: ChainStore;
  readonly records: { readonly blobs: BlobStore };
  pendingTransactions(): Transaction[];
}

/**
 * Erases the blobs nothing references that are older than `graceMs`. Only blobs no committed
 * block was seen to anchor are candidates (after a failed write, a crash, or an index rebuilt
 * from the segments), and each is looked up by hash: committed state through blob_anchor, then
 * the pending transactions. Returns how many blobs went, and how many candidates stayed.
 */
export function collectOrphanBlobs(
  host: BlobCollectorHost,
  options: { graceMs?: number; now?: number } = {},
): { deleted: number; kept: number } {
  let pending: Set<string> | undefined;
  const isPending = (hash: string): boolean =>
    (pending ??= new Set(
      host.pendingTransactions().flatMap((tx) => ciphertextHashesIn(tx.body)),
    )).has(hash);
  const isReferenced = (hash: string): boolean =>
    envelopesOf(host.store, hash) !== undefined || isPending(hash);
  return host.records.blobs.collectGarbage(isReferenced, {
    graceMs: options.graceMs ?? BLOB_GC_GRACE_MS,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

const lastCollection = new WeakMap<BlobCollectorHost, number>();

/**
 * After a failed write: deletes the ciphertexts `refused` stored, when there is one (a
 * transaction refused for good, whose data keys are gone with it), then collects older orphans
 * unless that was done less than BLOB_GC_INTERVAL_MS ago. Ciphertexts are sealed under fresh
 * random keys and nonces, so no other version shares one of these blobs.
 */
export function collectAfterFailedWrite(host: BlobCollectorHost, refused?: Transaction): void {
  if (refused !== undefined)
    for (const hash of ciphertextHashesIn(refused.body)) host.records.blobs.delete(hash);
  const now = Date.now();
  if (now - (lastCollection.get(host) ?? -Infinity) < BLOB_GC_INTERVAL_MS) return;
  lastCollection.set(host, now);
  collectOrphanBlobs(host, { now });
}

/** Every `ciphertextHash` in a transaction body: one for an anchor, a supersede or a sealed note, one per write of a records.batch. */
function ciphertextHashesIn(value: JsonValue): string[] {
  if (Array.isArray(value)) return value.flatMap(ciphertextHashesIn);
  if (value === null || typeof value !== 'object') return [];
  const own = value['ciphertextHash'];
  const nested = Object.entries(value).flatMap(([key, item]) =>
    key === 'ciphertextHash' ? [] : ciphertextHashesIn(item),
  );
  return typeof own === 'string' && /^[0-9a-f]{64}$/.test(own) ? [own, ...nested] : nested;
}
