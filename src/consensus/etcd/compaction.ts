/**
 * Keeps etcd small: the durable chain lives in every node's SQLite, so once every node has
 * published a committed height at or past a block, the proposer deletes the manifests and parts
 * below the lowest such height and compacts etcd's history. (etcd's 2 GiB default quota fills in
 * under a minute of heavy load otherwise.) History is compacted one round late, at the revision
 * of the previous round's delete, so reads and watches pinned a moment ago still succeed.
 * Writer keys whose queue is empty are deleted too: every orderer start adds a writer, and the
 * proposer reads each writer's queue on every block.
 */
import type { Etcd3 } from 'etcd3';
import type { BlockLog } from './block-log.js';
import { rangeAll } from './etcd-client.js';
import { lastSegment, prefixEnd, type EtcdKeys } from './etcd-keys.js';

/** How often the proposer compacts, by default. */
export const COMPACT_INTERVAL_MS = 5_000;

/** Compaction progress kept by the proposer between rounds. */
export interface CompactionState {
  readonly intervalMs: number;
  lastRun: number;
  revision: string | undefined;
}

/**
 * One round, if `state.intervalMs` has passed: deletes blocks below the lowest committed height
 * of all nodes (never above `ownCommitted`), then compacts history to the revision of the last
 * round's delete, if it deleted anything.
 */
export async function compactOnce(
  client: Etcd3,
  keys: EtcdKeys,
  log: BlockLog,
  state: CompactionState,
  ownCommitted: number,
): Promise<void> {
  if (Date.now() - state.lastRun < state.intervalMs) return;
  state.lastRun = Date.now();
  const committed = await rangeAll(client, { start: keys.committed, pageSize: 1024 });
  const heights = committed.kvs.map((kv) => Number(kv.value.toString()));
  const keep = Math.min(ownCommitted, ...heights);
  const floor = await log.floor();
  // The last round's revision is compacted now whether or not this round deletes anything:
  // otherwise the history of a burst followed by quiet would stay until the next burst.
  const previous = state.revision;
  state.revision = floor !== undefined && keep > floor ? await log.deleteBelow(keep) : undefined;
  if (previous !== undefined) await client.kv.compact({ revision: previous });
  await forgetIdleWriters(client, keys);
}

/**
 * Deletes `writers/<writer>` when that writer has nothing queued, unless it wrote since it was
 * read: a writer puts its key in the same transaction as its queue entries, so the delete,
 * conditioned on the key's mod revision, can never hide a queued transaction.
 */
async function forgetIdleWriters(client: Etcd3, keys: EtcdKeys): Promise<void> {
  const writers = await rangeAll(client, { start: keys.writers, pageSize: 1024 });
  for (const kv of writers.kvs) {
    const queue = keys.txqOf(lastSegment(kv.key.toString()));
    const queued = await client.kv.range({
      key: Buffer.from(queue),
      range_end: prefixEnd(queue),
      count_only: true,
    });
    if (queued.count !== '0') continue;
    await client.kv.txn({
      compare: [{ key: kv.key, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
      success: [{ request_delete_range: { key: kv.key } }],
      failure: [],
    });
  }
}
