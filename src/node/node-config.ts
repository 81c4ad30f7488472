/** A node's configuration file, `node.json` in its data directory. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeConfigError, nodeConfigProblems } from './node-config-check.js';

/** What a node needs to know about itself beyond its keys. */
export interface NodeConfig {
  readonly network: string;
  readonly orgId: string;
  readonly orgName: string;
  /**
   * Hash of block 0 this node was started from, pinned: the node refuses a chain or a genesis
   * file with any other. Absent only in a data directory that has joined no network yet.
   */
  readonly genesisHash?: string;
  /** Where the other organisations' nodes answer peer requests (blob fetches), by orgId. */
  readonly peers?: Readonly<Record<string, string>>;
  readonly orderer: {
    /** `solo` (in-process, the default) or `etcd` (the network's etcd cluster). */
    readonly kind: OrdererKind;
    /** etcd only: client URLs of the cluster's members. */
    readonly endpoints?: readonly string[];
    /** etcd only: the network's key space; the network name by default. */
    readonly namespace?: string;
    /** etcd only: seconds a dead proposer holds its role (its election lease); the orderer's default when absent. */
    readonly leaseTtlSec?: number;
    readonly blockTxCountMax: number;
    readonly batchTimeoutMs: number;
    readonly pendingTxCountMax: number;
  };
}

/** Which Orderer adapter a node runs. */
export type OrdererKind = 'solo' | 'etcd';

/**
 * Defaults for the embedded solo node. A create waits for its block, and the block cycle (the
 * wait, then execution and commit) is what bounds 128 concurrent creates, not the CPU (about one
 * core busy): a 20 ms batch timeout gave 1,006 creates/s where 50 ms gave 830 (BENCHMARKS.md).
 */
export const DEFAULT_ORDERER = {
  kind: 'solo',
  blockTxCountMax: 2048,
  batchTimeoutMs: 20,
  pendingTxCountMax: 65_536,
} as const;

const CONFIG_FILE = 'node.json';

/**
 * Reads `node.json`; undefined when the directory holds no node yet. Throws NodeConfigError,
 * naming every bad field, when the file is not JSON or not a node configuration.
 */
export function readNodeConfig(dataDir: string): NodeConfig | undefined {
  const path = join(dataDir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NodeConfigError(path, [`the file is not JSON (${(error as Error).message})`]);
  }
  const problems = nodeConfigProblems(value);
  if (problems.length > 0) throw new NodeConfigError(path, problems);
  const config = value as NodeConfig;
  return { ...config, orderer: { ...DEFAULT_ORDERER, ...config.orderer } };
}

/** Writes `node.json`. */
export function writeNodeConfig(dataDir: string, config: NodeConfig): void {
  writeFileSync(join(dataDir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', {
    mode: 0o600,
  });
}
