/**
 * How checkpoints travel between nodes (DESIGN.md, State and agreement between nodes). The etcd
 * adapter keeps each organisation's newest checkpoint under one key and watches the prefix; the
 * in-memory one serves tests and the single-node default. What arrives is untrusted: the node
 * checks shape, signer and signature before counting it.
 */
import type { Checkpoint } from '../ledger/index.js';

/** Publish this node's checkpoints; hear everyone else's. */
export interface CheckpointExchange {
  /** Sends `checkpoint` to every other node. Resolves once handed to the transport. */
  publish(checkpoint: Checkpoint): Promise<void>;
  /** Calls `listener` with each checkpoint another node publishes (unverified). Returns the unsubscribe function. */
  subscribe(listener: (checkpoint: unknown) => void): () => void;
  /** Releases the transport (an etcd client, say); nothing is published or heard afterwards. */
  close?(): Promise<void>;
}

/** An in-process hub: every exchange it hands out hears what the others publish, asynchronously as a network would deliver. */
export class MemoryCheckpointHub {
  readonly #members = new Set<{ listeners: Set<(checkpoint: unknown) => void> }>();

  /** A new exchange on this hub. */
  connect(): CheckpointExchange {
    const member = { listeners: new Set<(checkpoint: unknown) => void>() };
    this.#members.add(member);
    return {
      publish: async (checkpoint) => {
        const copy = structuredClone(checkpoint);
        for (const other of this.#members) {
          if (other === member) continue;
          for (const listener of other.listeners)
            setImmediate(() => other.listeners.has(listener) && listener(copy));
        }
      },
      subscribe: (listener) => {
        member.listeners.add(listener);
        return () => member.listeners.delete(listener);
      },
    };
  }
}
