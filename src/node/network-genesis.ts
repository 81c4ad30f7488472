/**
 * A network's genesis, built from the PUBLIC identities of its founding organisations: nobody
 * holds every founder's key, so block 0 and its one transaction are signed with the published
 * network genesis key and trusted by hash alone. `chartchain genesis` writes the file, every
 * node starts from it and pins its hash.
 */
import { fromHex, publicKeyFromRaw, verify } from '../crypto/index.js';
import {
  CONSENT_MODELS,
  MEMBERSHIP_GENESIS,
  orgCandidate,
  standardExecutor,
  type ConsentModel,
  type OrgCandidate,
  type SignatureCheck,
} from '../contracts/index.js';
import {
  blockHashOf,
  decodeBlock,
  decodeTransaction,
  NETWORK_GENESIS_KEY,
  NETWORK_GENESIS_KEY_ID,
  signatureOf,
  signHeader,
  signTransaction,
  type Block,
} from '../ledger/index.js';
import type { BlockCommit } from '../storage/index.js';
import { assembleBlock } from '../verifier/index.js';
import { validateBlock } from '../verifier/index.js';
import { MemoryChain } from '../verifier/index.js';

/** What `chartchain identity export` prints: an organisation's public identity. */
export interface OrgIdentity {
  readonly orgId: string;
  readonly name: string;
  /** Raw Ed25519 public key, hex. */
  readonly signingKey: string;
  /** Raw X25519 public key, hex. */
  readonly encryptionKey: string;
  /** Base URL where the organisation's node answers peer requests; optional. */
  readonly endpoint?: string;
}

/** The genesis file every node of a network starts from. */
export interface GenesisFile {
  readonly format: typeof GENESIS_FORMAT;
  readonly network: string;
  /** Hash of `block`: what operators compare and pin. */
  readonly genesisHash: string;
  readonly block: Block;
  /** Peer endpoints by orgId, copied into each node's node.json (not on-chain: hosts move). */
  readonly peers: Readonly<Record<string, string>>;
}

/** A genesis file that is malformed, inconsistent, or not the one a node pinned. */
export class GenesisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenesisError';
  }
}

const GENESIS_FORMAT = 'chartchain-genesis/v1';
const ENDPOINT_PATTERN = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

/** Signature check for the few transactions of a genesis block, verified in-thread. */
const checkInThread: SignatureCheck = (decoded, publicKey) =>
  verify(publicKeyFromRaw(fromHex(publicKey)), decoded.message, signatureOf(decoded.tx));

/**
 * Builds the genesis of network `network` founded by `identities` (sorted by orgId, so the
 * order of the files given does not change the hash) at block time `time`, with consent model
 * `consentModel` (written explicitly: a genesis without one means opt-in, as older chains do).
 * Throws GenesisError for a malformed identity, a duplicate orgId or key, or an empty list;
 * RangeError for an unknown consent model.
 */
export function buildGenesis(
  network: string,
  identities: readonly OrgIdentity[],
  time: number,
  consentModel: ConsentModel = 'opt-out',
): GenesisFile {
  if (identities.length === 0)
    throw new GenesisError('a network needs at least one founding organisation');
  if (!CONSENT_MODELS.includes(consentModel))
    throw new RangeError('consentModel must be opt-in or opt-out');
  const orgs = [...identities]
    .sort((a, b) => (a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : 0))
    .map(founderOf);
  const tx = signTransaction(
    {
      type: MEMBERSHIP_GENESIS.type,
      nonce: 1,
      body: MEMBERSHIP_GENESIS.build({ network, orgs, consentModel }),
    },
    NETWORK_GENESIS_KEY,
  );
  const decoded = decodeTransaction(tx);
  if (!decoded.ok) throw new GenesisError(`genesis transaction is malformed: ${decoded.reason}`);
  const assembled = assembleBlock(
    new MemoryChain(),
    standardExecutor(),
    [decoded],
    { height: 0, time, proposer: NETWORK_GENESIS_KEY_ID },
    checkInThread,
  );
  if (assembled.statuses[0] !== 'ok')
    throw new GenesisError(
      `genesis transaction refused (${assembled.statuses[0]}): check names, keys and duplicates`,
    );
  const header = signHeader(assembled.header, NETWORK_GENESIS_KEY);
  const block: Block = { header, txs: [{ tx, status: 'ok' }] };
  return {
    format: GENESIS_FORMAT,
    network,
    genesisHash: blockHashOf(header),
    block,
    peers: peersOf(identities),
  };
}

function founderOf(identity: OrgIdentity): OrgCandidate {
  const { orgId, name, signingKey, encryptionKey } = identity;
  const founder = orgCandidate({ orgId, name, signingKey, encryptionKey });
  if (founder === undefined)
    throw new GenesisError(
      `identity of ${String(orgId)} is malformed (orgId, name, signingKey, encryptionKey)`,
    );
  return founder;
}

function peersOf(identities: readonly OrgIdentity[]): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const identity of identities) {
    if (identity.endpoint === undefined) continue;
    if (!ENDPOINT_PATTERN.test(identity.endpoint))
      throw new GenesisError(`endpoint of ${identity.orgId} must be an http(s) URL`);
    peers[identity.orgId] = identity.endpoint.replace(/\/$/, '');
  }
  return peers;
}

/**
 * Parses and checks a genesis file: its format, that its block is a network genesis (signed by
 * the published genesis key, nothing else) that executes cleanly, and that `genesisHash` is the
 * block's hash. Returns the file and the commit that writes block 0. Throws GenesisError.
 */
export function readGenesis(value: unknown): {
  genesis: GenesisFile;
  commit: BlockCommit;
  founders: OrgIdentity[];
} {
  const file = value as Partial<GenesisFile> | null;
  if (file === null || typeof file !== 'object' || file.format !== GENESIS_FORMAT)
    throw new GenesisError(`not a ${GENESIS_FORMAT} file`);
  let commit: BlockCommit;
  try {
    const decoded = decodeBlock(file.block);
    if (decoded.block.header.proposer !== NETWORK_GENESIS_KEY_ID)
      throw new GenesisError('block 0 of a network genesis is proposed by the network genesis key');
    commit = validateBlock(new MemoryChain(), standardExecutor(), decoded, checkInThread);
  } catch (error) {
    if (error instanceof GenesisError) throw error;
    throw new GenesisError(`genesis block is invalid: ${(error as Error).message}`);
  }
  const hash = blockHashOf(commit.header);
  if (file.genesisHash !== hash)
    throw new GenesisError(
      `genesisHash ${String(file.genesisHash)} is not the block's hash ${hash}`,
    );
  const body =
    commit.txs.length === 1
      ? (file.block!.txs[0]!.tx.body as unknown as { network: string; orgs: OrgIdentity[] })
      : undefined;
  if (body === undefined)
    throw new GenesisError('a network genesis block holds exactly the genesis transaction');
  const peers = file.peers ?? {};
  if (
    typeof peers !== 'object' ||
    Object.values(peers).some((url) => typeof url !== 'string' || !ENDPOINT_PATTERN.test(url))
  )
    throw new GenesisError('peers must map orgIds to http(s) URLs');
  const genesis: GenesisFile = {
    format: GENESIS_FORMAT,
    network: body.network,
    genesisHash: hash,
    block: file.block!,
    peers,
  };
  return { genesis, commit, founders: body.orgs };
}
