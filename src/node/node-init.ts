/**
 * Creating a node's data directory: keys and node.json, then block 0 from a genesis. A node of
 * a multi-organisation network starts from the network's genesis file; a node on its own
 * (`chartchain init` with neither --join nor --genesis, and `npm start`) builds a one-member
 * genesis from its own public identity, the same way.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../crypto/index.js';
import { ID_PATTERN, standardExecutor, type ConsentModel } from '../contracts/index.js';
import { blockHashOf } from '../ledger/index.js';
import { ChainStore } from '../storage/index.js';
import {
  buildGenesis,
  GenesisError,
  readGenesis,
  type GenesisFile,
  type OrgIdentity,
} from './network-genesis.js';
import {
  DEFAULT_ORDERER,
  readNodeConfig,
  writeNodeConfig,
  type NodeConfig,
} from './node-config.js';
import { createOrgKeys, loadOrgKeys, type OrgKeys } from './org-keys.js';

/** The chain file inside a data directory. */
export const CHAIN_FILE = 'chain.db';

/** Options for creating a node's data directory. */
export interface InitOptions {
  readonly orgId: string;
  readonly orgName: string;
  /** Network name of a one-member network; ignored with `genesis` or `join`. */
  readonly network: string;
  readonly orderer?: Partial<NodeConfig['orderer']>;
  /** Start from this network genesis (it must list this organisation with these keys). */
  readonly genesis?: unknown;
  /** Create only keys and node.json: the genesis comes later, once the network's founders have exported their identities. */
  readonly join?: boolean;
  /** Consent model of a one-member network's genesis (default opt-out); ignored with `genesis` or `join`. */
  readonly consentModel?: ConsentModel;
}

/** True when `dataDir` already holds an initialised node (keys, node.json and block 0). */
export function isInitialised(dataDir: string): boolean {
  return readNodeConfig(dataDir) !== undefined && existsSync(join(dataDir, CHAIN_FILE));
}

/** True when `dataDir` holds keys and node.json but no chain yet (`init --join`). */
export function awaitsGenesis(dataDir: string): boolean {
  return readNodeConfig(dataDir) !== undefined && !existsSync(join(dataDir, CHAIN_FILE));
}

/**
 * Creates the data directory: keys, node.json and, unless `options.join`, block 0 (from
 * `options.genesis`, or a one-member genesis). Throws when `dataDir` already holds keys,
 * RangeError for a malformed orgId, GenesisError for a genesis that does not list this node.
 */
export function initDataDir(dataDir: string, options: InitOptions): void {
  if (readNodeConfig(dataDir) !== undefined) throw new Error(`${dataDir} already holds a node`);
  if (!ID_PATTERN.test(options.orgId))
    throw new RangeError(
      'orgId must be 2–64 lowercase letters, digits or dashes, starting with a letter or digit',
    );
  mkdirSync(dataDir, { recursive: true });
  const keys = createOrgKeys(dataDir);
  const network = options.genesis === undefined && options.join !== true ? options.network : '';
  writeNodeConfig(dataDir, {
    network,
    orgId: options.orgId,
    orgName: options.orgName,
    orderer: { ...DEFAULT_ORDERER, ...options.orderer },
  });
  if (options.join === true) return;
  const genesis =
    options.genesis ??
    buildGenesis(
      options.network,
      [identityOf(readNodeConfig(dataDir)!, keys)],
      Date.now(),
      options.consentModel,
    );
  adoptGenesis(dataDir, genesis);
}

/** This organisation's public identity, as `chartchain identity export` prints it. */
export function identityOf(config: NodeConfig, keys: OrgKeys, endpoint?: string): OrgIdentity {
  const identity = {
    orgId: config.orgId,
    name: config.orgName,
    signingKey: toHex(keys.signing.publicKey),
    encryptionKey: keys.encryptionPublicKey,
  };
  return endpoint === undefined ? identity : { ...identity, endpoint };
}

/**
 * Starts `dataDir` from genesis file `value`, or checks that it already did: writes block 0 if
 * the directory has no chain, pins the genesis hash and takes the peer endpoints into node.json.
 * Throws GenesisError when the file is invalid, does not list this organisation with this
 * node's keys, or differs from the genesis the node pinned or holds.
 */
export function adoptGenesis(dataDir: string, value: unknown): GenesisFile {
  const config = readNodeConfig(dataDir);
  if (config === undefined) throw new Error(`${dataDir} holds no node: run chartchain init first`);
  const { genesis, commit, founders } = readGenesis(value);
  if (config.genesisHash !== undefined && config.genesisHash !== genesis.genesisHash) {
    throw new GenesisError(
      `genesis ${genesis.genesisHash} differs from the genesis ${config.genesisHash} this node pinned`,
    );
  }
  const keys = loadOrgKeys(dataDir);
  const own = identityOf(config, keys);
  const listed = founders.find((founder) => founder.orgId === own.orgId);
  if (listed?.signingKey !== own.signingKey || listed.encryptionKey !== own.encryptionKey) {
    throw new GenesisError(`genesis does not list ${own.orgId} with this node's keys`);
  }
  const store = ChainStore.open(join(dataDir, CHAIN_FILE), standardExecutor().tables);
  try {
    const block0 = store.header(0);
    if (block0 === undefined) store.commitSync(commit);
    else if (blockHashOf(block0) !== genesis.genesisHash)
      throw new GenesisError(
        `genesis ${genesis.genesisHash} differs from this node's block 0 ${blockHashOf(block0)}`,
      );
  } finally {
    store.close();
  }
  const peers = Object.fromEntries(
    Object.entries({ ...genesis.peers, ...config.peers }).filter(
      ([orgId]) => orgId !== config.orgId,
    ),
  );
  writeNodeConfig(dataDir, {
    ...config,
    network: genesis.network,
    genesisHash: genesis.genesisHash,
    peers,
  });
  return genesis;
}

/** Throws GenesisError unless block 0 of `store` is the genesis `config` pinned. */
export function checkPinnedGenesis(store: ChainStore, config: NodeConfig): void {
  const block0 = store.header(0);
  if (block0 === undefined)
    throw new GenesisError('this node has no block 0: start it with --genesis FILE');
  if (config.genesisHash !== undefined && blockHashOf(block0) !== config.genesisHash) {
    throw new GenesisError(
      `block 0 is ${blockHashOf(block0)}, not the pinned genesis ${config.genesisHash}`,
    );
  }
}
