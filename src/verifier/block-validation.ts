/**
 * Checks a block someone else proposed: its signature, its place in the chain, and every
 * header field against our own execution of its transactions. The node uses this for blocks
 * it did not propose; `chartchain verify` uses it for every block.
 */
import { fromHex, isHex, keyIdOf, publicKeyFromRaw } from '../crypto/index.js';
import {
  KEYS,
  MEMBERSHIP_GENESIS,
  ORGS,
  runSteps,
  type Executor,
  type SignatureCheck,
  type Steps,
} from '../contracts/index.js';
import {
  decodeBlock,
  NETWORK_GENESIS_KEY_ID,
  NETWORK_GENESIS_PUBLIC_KEY,
  verifyHeaderSignature,
  type BlockHeader,
  type DecodedBlock,
} from '../ledger/index.js';
import type { BlockCommit } from '../storage/index.js';
import { assembleBlockSteps, type ChainView } from './block-assembly.js';

/** A block that does not match the chain or its own contents. Carries the evidence. */
export class BlockValidationError extends Error {
  constructor(
    readonly height: number,
    readonly field: string,
    readonly expected: unknown,
    readonly actual: unknown,
  ) {
    super(
      `block ${height}: ${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
    );
    this.name = 'BlockValidationError';
  }
}

const DERIVED_FIELDS = ['prevHash', 'txRoot', 'logSize', 'logRoot', 'appHash'] as const;

/** Validates `decoded` as the next block on `view`, returning the commit to apply. Throws BlockValidationError. */
export function validateBlock(
  view: ChainView,
  executor: Executor,
  decoded: DecodedBlock,
  checkSignature: SignatureCheck,
): BlockCommit {
  return runSteps(validateBlockSteps(view, executor, decoded, checkSignature));
}

/** validateBlock in steps, one per transaction (see Executor.executeBlockSteps). */
export function* validateBlockSteps(
  view: ChainView,
  executor: Executor,
  decoded: DecodedBlock,
  checkSignature: SignatureCheck,
): Steps<BlockCommit> {
  const { header } = decoded.block;
  const previous = view.head();
  const expectedHeight = previous === undefined ? 0 : previous.height + 1;
  if (header.height !== expectedHeight)
    throw new BlockValidationError(header.height, 'height', expectedHeight, header.height);
  if (previous !== undefined && header.time < previous.time)
    throw new BlockValidationError(header.height, 'time', `>= ${previous.time}`, header.time);
  const assembled = yield* assembleBlockSteps(view, executor, decoded.txs, header, checkSignature);
  for (const field of DERIVED_FIELDS) {
    if (assembled.header[field] !== header[field])
      throw new BlockValidationError(header.height, field, assembled.header[field], header[field]);
  }
  decoded.block.txs.forEach((entry, i) => {
    if (entry.status !== assembled.statuses[i])
      throw new BlockValidationError(
        header.height,
        `txs[${i}].status`,
        assembled.statuses[i],
        entry.status,
      );
  });
  checkProposer(view, decoded, header);
  return assembled.commitFor(header);
}

/**
 * The proposer must be a member organisation's key and its signature must verify. Height 0 is
 * the exception: a founder's key, or the published network genesis key when the genesis
 * transaction is signed by it too (a network genesis, trusted by its pinned hash alone).
 */
function checkProposer(view: ChainView, decoded: DecodedBlock, header: BlockHeader): void {
  const publicKey =
    header.height === 0
      ? genesisProposerKey(decoded, header.proposer)
      : memberKey(view, header.proposer);
  if (publicKey === undefined)
    throw new BlockValidationError(
      header.height,
      'proposer',
      'an active member organisation key',
      header.proposer,
    );
  if (!verifyHeaderSignature(header, publicKeyFromRaw(fromHex(publicKey))))
    throw new BlockValidationError(header.height, 'sig', 'a valid proposer signature', header.sig);
}

function memberKey(view: ChainView, keyId: string): string | undefined {
  const key = KEYS.get(view.state, keyId);
  if (key?.role !== 'org') return undefined;
  const org = ORGS.get(view.state, key.org);
  return org?.status === 'active' ? key.publicKey : undefined;
}

function genesisProposerKey(decoded: DecodedBlock, keyId: string): string | undefined {
  const genesis = decoded.txs[0];
  if (
    genesis === undefined ||
    genesis.tx.type !== MEMBERSHIP_GENESIS.type ||
    decoded.block.txs[0]?.status !== 'ok'
  )
    return undefined;
  if (keyId === NETWORK_GENESIS_KEY_ID)
    return genesis.tx.signer === NETWORK_GENESIS_KEY_ID ? NETWORK_GENESIS_PUBLIC_KEY : undefined;
  const orgs = genesis.tx.body['orgs'] as { signingKey?: unknown }[];
  const keys = orgs.map((org) => org.signingKey).filter((key): key is string => isHex(key, 32));
  return keys.find((key) => keyIdOf(fromHex(key)) === keyId);
}

/** Who a block claims proposed it, for an alarm: the organisation its header's key belongs to, if any. */
export function claimedProposer(view: ChainView, bytes: Uint8Array): string {
  let keyId: string;
  try {
    keyId = decodeBlock(bytes).block.header.proposer;
  } catch {
    return 'an undecodable proposer';
  }
  const key = KEYS.get(view.state, keyId);
  return key?.role === 'org' ? `organisation ${key.org} (key ${keyId})` : `unknown key ${keyId}`;
}
