/**
 * How `chartchain start` connects a node: on its own (the embedded solo orderer, the default)
 * or to a network's etcd cluster, which then orders its transactions and carries its
 * checkpoints. The etcd key space is the network's name, so every node of one network meets
 * in the same place and two networks on one cluster never mix.
 */
import { EtcdCheckpointExchange, EtcdOrderer } from '../consensus/index.js';
import { ChartChainNode, readNodeConfig } from '../node/index.js';

/** The ordering flags of `chartchain start`. */
export interface ConnectionFlags {
  /** `solo` (the default) or `etcd`. */
  readonly orderer?: string;
  /** Comma-separated etcd client URLs, with `--orderer etcd`. */
  readonly etcd?: string;
}

/** A started node and how to stop it with everything it connected. */
export interface ConnectedNode {
  readonly node: ChartChainNode;
  close(): Promise<void>;
}

/** Opens the node in `dataDir` as `flags` say; throws naming the flag when they are inconsistent. */
export async function openConnected(dataDir: string, flags: ConnectionFlags): Promise<ConnectedNode> {
  if (flags.orderer === undefined || flags.orderer === 'solo') {
    const node = await ChartChainNode.open(dataDir);
    return { node, close: () => node.close() };
  }
  if (flags.orderer !== 'etcd') throw new RangeError(`--orderer must be solo or etcd, not ${flags.orderer}`);
  const endpoints = (flags.etcd ?? '').split(',').map((url) => url.trim()).filter(Boolean);
  if (endpoints.length === 0) throw new RangeError('--orderer etcd needs --etcd URL[,URL…], the etcd members\' client URLs');
  const config = readNodeConfig(dataDir);
  if (config === undefined) throw new Error(`${dataDir} holds no node`);
  const namespace = config.network;
  let halt: (error: Error) => void = () => undefined;
  const orderer = await EtcdOrderer.open({ ...config.orderer, endpoints, namespace, nodeId: config.orgId, onFatal: (error) => halt(error) });
  const checkpoints = new EtcdCheckpointExchange(endpoints, namespace);
  let node: ChartChainNode;
  try {
    node = await ChartChainNode.open(dataDir, {
      orderer: (onFatal) => {
        halt = onFatal;
        return orderer;
      },
      checkpoints,
    });
  } catch (error) {
    await Promise.all([orderer.close(), checkpoints.close()]);
    throw error;
  }
  return {
    node,
    close: async () => {
      await node.close();
      await checkpoints.close();
    },
  };
}
