/** The ordering service `node.json` names: solo (the default) or etcd. */
import { join } from 'node:path';
import type { OrdererChoice, OrdererOptions } from '../consensus/index.js';
import type { NodeConfig } from './node-config.js';

const ORDERER_FILE = 'orderer.db';

/**
 * The solo orderer keeps its queue in `<dataDir>/orderer.db`; the etcd orderer keeps it in the
 * cluster under the network's namespace, as node `orgId`. Throws RangeError when an etcd
 * orderer names no endpoints.
 */
export function ordererChoice(dataDir: string, config: NodeConfig): OrdererChoice {
  const { kind, endpoints, namespace, leaseTtlSec } = config.orderer;
  if (kind !== 'etcd') return { kind: 'solo', queueFile: join(dataDir, ORDERER_FILE) };
  if (endpoints === undefined || endpoints.length === 0)
    throw new RangeError('node.json: an etcd orderer needs orderer.endpoints');
  return {
    kind: 'etcd',
    endpoints,
    namespace: namespace ?? config.network,
    nodeId: config.orgId,
    leaseTtlSec,
  };
}

/** How the orderer cuts blocks, from `node.json`. */
export function cuttingOf(config: NodeConfig, onFatal: (error: Error) => void): OrdererOptions {
  const { blockTxCountMax, batchTimeoutMs, pendingTxCountMax } = config.orderer;
  return { blockTxCountMax, batchTimeoutMs, pendingTxCountMax, onFatal };
}
