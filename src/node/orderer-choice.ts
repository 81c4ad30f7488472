/** Opens the Orderer adapter that `node.json` names: solo (the default) or etcd. */
import { join } from 'node:path';
import { EtcdCheckpointExchange, EtcdOrderer, MemoryCheckpointHub, SoloOrderer, type CheckpointExchange, type Orderer } from '../consensus/index.js';
import type { NodeConfig } from './node-config.js';

const ORDERER_FILE = 'orderer.db';

/**
 * The solo orderer keeps its queue in `<dataDir>/orderer.db`; the etcd orderer keeps it in the
 * cluster under the network's namespace, as node `orgId`. Throws RangeError when an etcd
 * orderer names no endpoints, and the client's error when etcd cannot be reached.
 */
export async function openOrderer(dataDir: string, config: NodeConfig, onFatal: (error: Error) => void): Promise<Orderer> {
  const { kind, endpoints, namespace, leaseTtlSec, blockTxCountMax, batchTimeoutMs, pendingTxCountMax } = config.orderer;
  const cutting = { blockTxCountMax, batchTimeoutMs, pendingTxCountMax, onFatal };
  if (kind === 'etcd') {
    if (endpoints === undefined || endpoints.length === 0) throw new RangeError('node.json: an etcd orderer needs orderer.endpoints');
    return EtcdOrderer.open({ ...cutting, endpoints, namespace: namespace ?? config.network, nodeId: config.orgId, ...(leaseTtlSec === undefined ? {} : { leaseTtlSec }) });
  }
  return new SoloOrderer(join(dataDir, ORDERER_FILE), cutting);
}

/**
 * Where checkpoints travel for the orderer `node.json` names: a network's etcd cluster carries
 * them beside its ordering, under the same namespace; a node on its own has nobody to tell.
 */
export function openCheckpointExchange(config: NodeConfig): CheckpointExchange {
  const { kind, endpoints, namespace } = config.orderer;
  if (kind === 'etcd' && endpoints !== undefined && endpoints.length > 0) return new EtcdCheckpointExchange(endpoints, namespace ?? config.network);
  return new MemoryCheckpointHub().connect();
}
