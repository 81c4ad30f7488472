/**
 * The etcd client as the orderer uses it: a short per-call deadline, a 1 s circuit breaker per
 * member and a few retries with backoff across members (so a killed etcd leader stalls writes
 * for about a second, not the default client's twelve), and paged range reads, because one
 * response or watch batch over the 4 MiB gRPC limit stalls silently.
 */
import {
  Etcd3,
  isRecoverableError,
  type Election,
  type IKeyValue,
  type IRangeResponse,
  type Namespace,
  type Watcher,
} from 'etcd3';
import { WatchManager } from 'etcd3/lib/watch.js';
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
} from 'cockatiel';
import { prefixEnd } from './etcd-keys.js';
import { ETCD_RECEIVE_MESSAGE_BYTES_MAX } from '../../ledger/index.js';

/** Deadline of one unary etcd call. */
export const CALL_TIMEOUT_MS = 1_000;

/**
 * etcd3 throws, from inside its watch stream's data handler, where nothing can catch it, when a
 * response names a watch id it no longer holds: a late event for a watcher it had already
 * cancelled, which a member failing over under load delivers. The process then dies. Such a
 * response concerns no watcher of ours, so it is dropped instead. Patched once, on the class.
 */
let lateWatchResponsesTolerated = false;
function tolerateLateWatchResponses(): void {
  if (lateWatchResponsesTolerated) return;
  lateWatchResponsesTolerated = true;
  type Internals = {
    watchers: { id: string | null }[];
    handleResponse(res: { watch_id: string }): void;
  };
  const prototype = WatchManager.prototype as unknown as Internals;
  const handleResponse = prototype.handleResponse;
  prototype.handleResponse = function (this: Internals, res: { watch_id: string }) {
    if (this.watchers.some((watcher) => watcher.id === res.watch_id))
      handleResponse.call(this, res);
  };
}

/** Opens a client on `endpoints` (`http://host:port`) with the orderer's fault handling. */
export function connectEtcd(endpoints: readonly string[]): Etcd3 {
  if (endpoints.length === 0) throw new RangeError('endpoints must name at least one etcd member');
  tolerateLateWatchResponses();
  const recoverable = handleWhen(isRecoverableError);
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: CALL_TIMEOUT_MS,
    grpcOptions: { 'grpc.max_receive_message_length': ETCD_RECEIVE_MESSAGE_BYTES_MAX },
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS },
    faultHandling: {
      host: () =>
        circuitBreaker(recoverable, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(2) }),
      global: retry(recoverable, {
        maxAttempts: 3,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 400 }),
      }),
      // etcd3 types this slot as a started backoff but uses it as a factory, as its own default does.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 1_000,
      }) as unknown as IBackoff<unknown>,
    },
  });
}

/** The part of etcd3's private WatchManager that closing needs. */
interface WatchManagerInternals {
  watchers: Watcher[];
  expectedClosers: Set<Watcher>;
  state: number;
  stream?: { cancel(): void };
  queue?: { destroy(): void };
  attach(watcher: Watcher): void;
}
const WATCH_IDLE = 0;
const WATCH_CONNECTED = 2;

/**
 * Closes `client`, first ending the watch stream of it and of each of `namespaces` (a namespace,
 * and an election's, has its own). etcd3 keeps a watch stream open, and re-opens it forever, for
 * any watcher still attached when its client closes, which keeps the process alive: an election
 * candidate's wait for the leader's key to go is never cancelled by a resign, and a cancelled
 * watcher waits for a reply that a closed client never reads.
 */
export function closeEtcd(client: Etcd3, namespaces: readonly Namespace[] = []): void {
  for (const namespace of [client, ...namespaces]) {
    const manager = (namespace as unknown as { watchManager?: WatchManagerInternals }).watchManager;
    if (manager !== undefined) endWatches(manager);
  }
  client.close();
}

/**
 * Leaves `manager` idle with no watcher, for good: a cancel() then returns at once, and a watch
 * started later (by a read that was in flight when the client closed) fails rather than
 * reconnecting. Every cancel() or create() already waiting is released, for etcd's reply
 * ('end'), for the watch to be created ('connected' or 'error'), as etcd3 itself does when its
 * stream drops.
 */
function endWatches(manager: WatchManagerInternals): void {
  const watchers = manager.watchers;
  manager.watchers = [];
  manager.expectedClosers.clear();
  manager.attach = (watcher) => setImmediate(() => failWatch(watcher));
  if (manager.state === WATCH_CONNECTED) {
    manager.queue?.destroy();
    manager.stream?.cancel();
  }
  manager.state = WATCH_IDLE;
  for (const watcher of watchers) {
    watcher.emit('disconnected', CLOSED);
    watcher.emit('end');
    failWatch(watcher);
  }
}

const CLOSED = new Error('etcd client closed');

/** Emits 'error' on `watcher` if anything listens (an unheard 'error' would throw). */
function failWatch(watcher: Watcher): void {
  if (watcher.listenerCount('error') > 0) watcher.emit('error', CLOSED);
}

/** The namespace an election keeps to itself (etcd3 does not expose it), for closeEtcd. */
export function electionNamespace(election: Election): Namespace {
  return (election as unknown as { namespace: Namespace }).namespace;
}

/** One page of a range read. */
export interface RangePage {
  readonly kvs: IKeyValue[];
  /** The store revision the whole paged read is pinned to. */
  readonly revision: string;
}

/** Options of a paged range read over the keys starting with `prefix` (or `[start, end)`). */
export interface RangeQuery {
  readonly start: string;
  readonly end?: Buffer;
  readonly pageSize: number;
  readonly keysOnly?: boolean;
  /** Pin to this revision; the first page's revision otherwise. */
  readonly revision?: string;
  /** Stop after this many keys in total. */
  readonly limit?: number;
}

/**
 * Reads `[start, end)` in key order, `pageSize` keys per request, every page at the revision of
 * the first so the pages form one consistent snapshot.
 */
export async function* rangePages(client: Etcd3, query: RangeQuery): AsyncGenerator<RangePage> {
  const end = query.end ?? prefixEnd(query.start);
  let from: Buffer = Buffer.from(query.start);
  let revision = query.revision;
  let remaining = query.limit ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const limit = Math.min(query.pageSize, remaining);
    const response: IRangeResponse = await client.kv.range({
      key: from,
      range_end: end,
      limit,
      keys_only: query.keysOnly === true,
      ...(revision === undefined ? {} : { revision }),
    });
    revision ??= response.header.revision;
    if (response.kvs.length > 0) yield { kvs: response.kvs, revision };
    remaining -= response.kvs.length;
    if (!response.more || response.kvs.length === 0) return;
    from = Buffer.concat([response.kvs.at(-1)!.key, Buffer.from([0])]);
  }
}

/** Every key-value of a paged read, concatenated. */
export async function rangeAll(
  client: Etcd3,
  query: RangeQuery,
): Promise<{ kvs: IKeyValue[]; revision: string | undefined }> {
  const kvs: IKeyValue[] = [];
  let revision: string | undefined;
  for await (const page of rangePages(client, query)) {
    kvs.push(...page.kvs);
    revision = page.revision;
  }
  return { kvs, revision };
}

/** The current store revision. */
export async function currentRevision(client: Etcd3): Promise<string> {
  const response = await client.kv.range({
    key: Buffer.from('chartchain/'),
    limit: 1,
    count_only: true,
  });
  return response.header.revision;
}
