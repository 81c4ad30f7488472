/**
 * Collecting blobs no transaction references. A write seals its ciphertext into the blob store
 * before its transaction is ordered, so a write that is refused, or fails half way through a
 * batch, leaves ciphertexts behind that no committed state names. They hold nothing anyone can
 * open without the discarded data keys, but they fill the disk: the collector deletes them.
 */
import { BTG_TABLE, sealedNotesOf, VERSION_TABLE, type BreakTheGlassRow, type VersionRow } from '../contracts/index.js';
import type { JsonValue } from '../crypto/index.js';
import type { Transaction } from '../ledger/index.js';
import type { BlobStore, ChainStore } from '../storage/index.js';

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

/** The ciphertext hashes committed versions and break-the-glass notes reference, and those pending transactions name. */
export function referencedBlobs(store: ChainStore, pending: readonly Transaction[]): Set<string> {
  const referenced = new Set<string>();
  for (const key of store.stateKeys(VERSION_TABLE)) {
    const hash = (store.state.get(VERSION_TABLE, key) as unknown as VersionRow | undefined)?.ciphertextHash;
    if (typeof hash === 'string') referenced.add(hash);
  }
  for (const key of store.stateKeys(BTG_TABLE)) {
    for (const note of sealedNotesOf(store.state.get(BTG_TABLE, key) as unknown as BreakTheGlassRow)) referenced.add(note.ciphertextHash);
  }
  for (const tx of pending) for (const hash of ciphertextHashesIn(tx.body)) referenced.add(hash);
  return referenced;
}

/** Deletes the blobs nothing references that are older than `graceMs`; returns how many files went and stayed. */
export function collectOrphanBlobs(host: BlobCollectorHost, options: { graceMs?: number; now?: number } = {}): { deleted: number; kept: number } {
  const referenced = referencedBlobs(host.store, host.pendingTransactions());
  return host.records.blobs.collectGarbage((hash) => referenced.has(hash), { graceMs: options.graceMs ?? BLOB_GC_GRACE_MS, ...(options.now === undefined ? {} : { now: options.now }) });
}

const lastCollection = new WeakMap<BlobCollectorHost, number>();

/**
 * After a failed write: deletes the ciphertexts `refused` stored, when there is one (a
 * transaction refused for good, whose data keys are gone with it), then collects older orphans
 * unless that was done less than BLOB_GC_INTERVAL_MS ago. Ciphertexts are sealed under fresh
 * random keys and nonces, so no other version shares one of these blobs.
 */
export function collectAfterFailedWrite(host: BlobCollectorHost, refused?: Transaction): void {
  if (refused !== undefined) for (const hash of ciphertextHashesIn(refused.body)) host.records.blobs.delete(hash);
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
  const nested = Object.entries(value).flatMap(([key, item]) => (key === 'ciphertextHash' ? [] : ciphertextHashesIn(item)));
  return typeof own === 'string' && /^[0-9a-f]{64}$/.test(own) ? [own, ...nested] : nested;
}
