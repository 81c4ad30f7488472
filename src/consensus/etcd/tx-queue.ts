/**
 * The queue of transactions waiting for a block, kept in etcd so that a proposer's death loses
 * nothing acknowledged. Each orderer instance appends under its own writer id with increasing
 * sequence numbers, one transaction in flight at a time, so a writer's keys are in submission
 * order and any block takes a prefix of each writer's queue. The queue's order is etcd's: by
 * revision, then by key within one transaction.
 */
import type { Etcd3 } from 'etcd3';
import { OrdererUnavailableError } from '../orderer.js';
import { rangeAll } from './etcd-client.js';
import { lastSegment, txqEntrySize, type EtcdKeys } from './etcd-keys.js';
import { ETCD_TXN_BYTES_MAX, ETCD_TXN_OPS_MAX, txIdOf } from '../../ledger/index.js';

/** Seconds a client should wait before retrying when etcd is unreachable. */
export const RETRY_AFTER_SEC = 1;

interface Waiting {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Appends transactions under one writer id. Everything submitted while a write is in flight
 * goes into the next etcd transaction (group commit), up to ETCD_TXN_OPS_MAX and ETCD_TXN_BYTES_MAX.
 */
export class TxQueueWriter {
  #seq = 0;
  #waiting: Waiting[] = [];
  #draining: Promise<void> | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
    readonly writerId: string,
  ) {}

  /** Resolves once `bytes` is in etcd (acknowledged by a quorum); rejects with OrdererUnavailableError otherwise. */
  append(bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ bytes, resolve, reject });
      this.#draining ??= new Promise<void>((started) => setImmediate(started)).then(() =>
        this.#drain(),
      );
    });
  }

  /** Waits for every append in flight. */
  async flushed(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const group = this.#takeGroup();
      try {
        await this.#write(group);
        group.forEach((waiting) => waiting.resolve());
      } catch (error) {
        group.forEach((waiting) =>
          waiting.reject(new OrdererUnavailableError(RETRY_AFTER_SEC, error)),
        );
      }
    }
    this.#draining = undefined;
  }

  #takeGroup(): Waiting[] {
    return this.#waiting.splice(
      0,
      fittingCount(
        this.#waiting,
        ETCD_TXN_OPS_MAX,
        ETCD_TXN_BYTES_MAX,
        (waiting) => waiting.bytes.length,
      ),
    );
  }

  async #write(group: readonly Waiting[]): Promise<void> {
    const puts = group.map(({ bytes }) => ({
      request_put: {
        key: Buffer.from(this.keys.txqEntry(this.writerId, ++this.#seq, bytes.length)),
        value: Buffer.from(bytes),
      },
    }));
    // The writer key changes with every append: the proposer watches these small keys, never the
    // queue's values.
    puts.push({
      request_put: {
        key: Buffer.from(this.keys.writer(this.writerId)),
        value: Buffer.from(String(this.#seq)),
      },
    });
    await this.client.kv.txn({ compare: [], success: puts, failure: [] });
  }
}

/** One queued transaction. */
export interface QueuedTx {
  readonly key: string;
  readonly writer: string;
  readonly modRevision: number;
  readonly bytes: Uint8Array;
  readonly txId: string;
}

/** The head of the queue at one revision. */
export interface QueueHead {
  readonly entries: QueuedTx[];
  /** Per writer, the last key taken: a block deletes `[txqOf(writer), lastKey]`. */
  readonly lastKeyByWriter: Map<string, string>;
}

const KEY_PAGE = 1024;
/** Bytes of values read in one range: a block's read takes a few round trips and bounded memory. */
const VALUE_PAGE_BYTES = 3 * 1024 * 1024;
/** Value ranges read at once. */
const VALUE_READERS = 4;

/**
 * Reads the oldest `countMax` queued transactions (at most `bytesMax` bytes, but at least one),
 * in queue order, from one consistent snapshot.
 */
export async function readQueueHead(
  client: Etcd3,
  keys: EtcdKeys,
  countMax: number,
  bytesMax = Number.POSITIVE_INFINITY,
): Promise<QueueHead> {
  const writers = await rangeAll(client, { start: keys.writers, pageSize: KEY_PAGE });
  if (writers.revision === undefined) return { entries: [], lastKeyByWriter: new Map() };
  const revision = writers.revision;
  const heads = await Promise.all(
    writers.kvs.map(async (kv) => {
      const writer = lastSegment(kv.key.toString());
      const found = await rangeAll(client, {
        start: keys.txqOf(writer),
        pageSize: KEY_PAGE,
        keysOnly: true,
        revision,
        limit: countMax,
      });
      return found.kvs.map((entry) => ({
        key: entry.key.toString(),
        writer,
        modRevision: Number(entry.mod_revision),
      }));
    }),
  );
  const chosen = heads
    .flat()
    .sort((a, b) => a.modRevision - b.modRevision || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const taken = chosen.slice(
    0,
    fittingCount(chosen, countMax, bytesMax, (entry) => statedSize(entry.key)),
  );
  const values = await fetchValues(client, taken, revision);
  const entries = taken.flatMap((entry): QueuedTx[] => {
    const value = values.get(entry.key);
    return value === undefined ? [] : [{ ...entry, bytes: value, txId: txIdOf(value) }];
  });
  const lastKeyByWriter = new Map<string, string>();
  for (const entry of entries) lastKeyByWriter.set(entry.writer, entry.key);
  return { entries, lastKeyByWriter };
}

type QueueKey = Omit<QueuedTx, 'bytes' | 'txId'>;

/** The size `key` states; a key that states none (written before sizes were) counts as the largest transaction. */
const statedSize = (key: string): number => txqEntrySize(key) ?? ETCD_TXN_BYTES_MAX;

/** How many of the first `items`, at most `countMax`, fit in `bytesMax` by `sizeOf` (at least one, if any). */
function fittingCount<T>(
  items: readonly T[],
  countMax: number,
  bytesMax: number,
  sizeOf: (item: T) => number,
): number {
  let count = 0;
  let bytes = 0;
  while (
    count < items.length &&
    count < countMax &&
    (count === 0 || bytes + sizeOf(items[count]!) <= bytesMax)
  ) {
    bytes += sizeOf(items[count]!);
    count += 1;
  }
  return count;
}

/**
 * Values of `chosen` at `revision`, each writer's keys read as key ranges of at most
 * VALUE_PAGE_BYTES by their stated sizes, VALUE_READERS ranges at a time.
 */
async function fetchValues(
  client: Etcd3,
  chosen: readonly QueueKey[],
  revision: string,
): Promise<Map<string, Uint8Array>> {
  const values = new Map<string, Uint8Array>();
  const pages = valuePages(chosen);
  // A few ranges at a time, so that a long queue read at start does not race every range
  // against its deadline at once.
  const reader = async (): Promise<void> => {
    for (let page = pages.shift(); page !== undefined; page = pages.shift()) {
      const found = await rangeAll(client, {
        start: page[0]!,
        end: Buffer.from(`${page.at(-1)!}\0`),
        pageSize: page.length,
        revision,
      });
      for (const kv of found.kvs) values.set(kv.key.toString(), new Uint8Array(kv.value));
    }
  };
  await Promise.all(Array.from({ length: VALUE_READERS }, reader));
  return values;
}

/**
 * `chosen`'s keys cut, per writer, into runs whose stated sizes fit in VALUE_PAGE_BYTES. Queue
 * order lists each writer's keys in key order (its sequence numbers rise with revisions).
 */
function valuePages(chosen: readonly QueueKey[]): string[][] {
  const pages: string[][] = [];
  const open = new Map<string, { keys: string[]; bytes: number }>();
  for (const { key, writer } of chosen) {
    const size = statedSize(key);
    let page = open.get(writer);
    if (page === undefined || page.bytes + size > VALUE_PAGE_BYTES) {
      page = { keys: [], bytes: 0 };
      open.set(writer, page);
      pages.push(page.keys);
    }
    page.keys.push(key);
    page.bytes += size;
  }
  return pages;
}
