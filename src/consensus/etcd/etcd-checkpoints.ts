/**
 * Checkpoints over etcd: each organisation's newest checkpoint under
 * `chartchain/<namespace>/checkpoints/<orgId>`, overwritten as it commits, so the key space
 * stays one small value per organisation however long the chain grows. Blocks are hash-linked,
 * so agreeing on height h is agreeing on every height below it: a node that comes late and
 * reads only the newest checkpoint of each organisation still learns all it needs. Subscribers
 * get the current values first (a paged read), then every later put (a watch from the next
 * revision). What arrives is untrusted; the node checks it.
 */
import type { Etcd3, Watcher } from 'etcd3';
import type { Checkpoint } from '../../ledger/index.js';
import type { CheckpointExchange } from '../checkpoint-exchange.js';
import { closeEtcd, connectEtcd, currentRevision, rangeAll } from './etcd-client.js';
import { EtcdKeys } from './etcd-keys.js';
import { PEER_CHECKPOINT_BYTES_MAX } from '../../ledger/index.js';

const PAGE_SIZE = 64;

/** A CheckpointExchange on an etcd cluster; close() releases its client. */
export class EtcdCheckpointExchange implements CheckpointExchange {
  readonly #client: Etcd3;
  readonly #prefix: string;
  #closed = false;

  /** Connects to `endpoints`; `namespace` is the network's, as the orderer's. Throws RangeError on a bad namespace. */
  constructor(endpoints: readonly string[], namespace: string) {
    this.#prefix = `${new EtcdKeys(namespace).root}checkpoints/`;
    this.#client = connectEtcd(endpoints);
  }

  /** Puts `checkpoint` as its organisation's newest. Rejects when etcd cannot be reached. */
  async publish(checkpoint: Checkpoint): Promise<void> {
    await this.#client
      .put(this.#prefix + checkpoint.orgId)
      .value(JSON.stringify(checkpoint))
      .exec();
  }

  /** Delivers every organisation's current checkpoint, then each one put later. */
  subscribe(listener: (checkpoint: unknown) => void): () => void {
    let active = true;
    const deliver = (value: Buffer): void => {
      if (!active || this.#closed || value.length > PEER_CHECKPOINT_BYTES_MAX) return;
      try {
        listener(JSON.parse(value.toString('utf8')) as unknown);
      } catch {
        // Not JSON: not a checkpoint, and nothing a peer sends may stop this node.
      }
    };
    const watcher = this.#follow(deliver, () => active && !this.#closed);
    return () => {
      active = false;
      void watcher.then((created) => created?.cancel()).catch(() => undefined);
    };
  }

  /** Current values first, then a watch from the revision after them; retried until unsubscribed. */
  async #follow(
    deliver: (value: Buffer) => void,
    isActive: () => boolean,
  ): Promise<Watcher | undefined> {
    while (isActive()) {
      try {
        const current = await rangeAll(this.#client, { start: this.#prefix, pageSize: PAGE_SIZE });
        if (!isActive()) return undefined;
        for (const kv of current.kvs) deliver(kv.value);
        const revision = current.revision ?? (await currentRevision(this.#client));
        const watcher = await this.#client
          .watch()
          .prefix(this.#prefix)
          .startRevision(String(BigInt(revision) + 1n))
          .create();
        watcher.on('put', (kv) => deliver(kv.value));
        watcher.on('error', () => undefined);
        return watcher;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    return undefined;
  }

  /** Stops every subscription and closes the client (detaching its watches, connected or not). */
  async close(): Promise<void> {
    this.#closed = true;
    closeEtcd(this.#client);
  }
}
