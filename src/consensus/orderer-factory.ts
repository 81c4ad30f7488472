/**
 * Opens the ordering service a node's configuration chooses, and the channel its checkpoints
 * travel on: the node names what it wants, never an adapter class.
 */
import { MemoryCheckpointHub, type CheckpointExchange } from './checkpoint-exchange.js';
import { EtcdCheckpointExchange } from './etcd/etcd-checkpoints.js';
import { EtcdOrderer } from './etcd/etcd-orderer.js';
import type { Orderer, OrdererOptions } from './orderer.js';
import { SoloOrderer } from './solo/solo-orderer.js';

/** An embedded orderer keeping its queue in one SQLite file, or a network's etcd cluster. */
export type OrdererChoice =
  | { readonly kind: 'solo'; readonly queueFile: string }
  | {
      readonly kind: 'etcd';
      readonly endpoints: readonly string[];
      /** The network's key space in etcd. */
      readonly namespace: string;
      /** This node, unique in the network (the organisation id). */
      readonly nodeId: string;
      readonly leaseTtlSec?: number | undefined;
    };

/** Opens the chosen orderer; rejects with the client's error when etcd cannot be reached. */
export async function openOrderer(
  choice: OrdererChoice,
  options: OrdererOptions,
): Promise<Orderer> {
  if (choice.kind === 'solo') return new SoloOrderer(choice.queueFile, options);
  const { endpoints, namespace, nodeId, leaseTtlSec } = choice;
  return EtcdOrderer.open({
    ...options,
    endpoints,
    namespace,
    nodeId,
    ...(leaseTtlSec === undefined ? {} : { leaseTtlSec }),
  });
}

/** Where checkpoints travel: beside a network's ordering in etcd; a solo node has nobody to tell. */
export function openCheckpointExchange(choice: OrdererChoice): CheckpointExchange {
  if (choice.kind === 'etcd') return new EtcdCheckpointExchange(choice.endpoints, choice.namespace);
  return new MemoryCheckpointHub().connect();
}
