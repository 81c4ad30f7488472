/**
 * A resource version's proof, checkable by anyone without trusting the node (the answer to
 * `[type]/[id]/_history/[vid]/$verify`): the signed anchoring transaction, its RFC 9162
 * inclusion proof, the signed tree head it is proven against, and the resource with its salt,
 * so the on-chain commitment SHA-256(salt ‖ JCS(resource)) can be recomputed.
 */
import {
  canonicalBytes,
  commitmentOf,
  fromHex,
  isHex,
  keyIdOf,
  publicKeyFromRaw,
  verify,
  type JsonValue,
} from '../crypto/index.js';
import {
  decodeTransaction,
  hashLeaf,
  signatureOf,
  verifyHeaderSignature,
  verifyInclusion,
  type BlockHeader,
  type JsonObject,
} from '../ledger/index.js';

/** Everything a verifier needs; hex strings are lowercase. */
export interface ResourceProof {
  /** The resource exactly as committed (no server-managed meta). */
  readonly resource: JsonObject;
  readonly salt: string;
  /** The anchoring transaction as its canonical signed JSON text: the log leaf's data. */
  readonly transaction: string;
  readonly signerPublicKey: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly inclusionProof: readonly string[];
  readonly treeHead: BlockHeader;
  readonly treeHeadSignerPublicKey: string;
}

/** One check and its result; 'skipped' only for the pinned-key check when no key is pinned. */
export interface ProofCheck {
  readonly check:
    | 'transaction-signature'
    | 'anchors-resource'
    | 'commitment'
    | 'inclusion'
    | 'tree-head-signature'
    | 'tree-head-key-pinned';
  readonly result: 'ok' | 'failed' | 'skipped';
  readonly detail: string;
}

/** `proof` as a FHIR Parameters resource. */
export function proofParameters(proof: ResourceProof): JsonObject {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'resource', resource: proof.resource },
      { name: 'salt', valueString: proof.salt },
      { name: 'transaction', valueString: proof.transaction },
      { name: 'signerPublicKey', valueString: proof.signerPublicKey },
      { name: 'leafIndex', valueInteger: proof.leafIndex },
      { name: 'treeSize', valueInteger: proof.treeSize },
      ...proof.inclusionProof.map((hash) => ({ name: 'inclusionProof', valueString: hash })),
      { name: 'treeHead', valueString: JSON.stringify(proof.treeHead) },
      { name: 'treeHeadSignerPublicKey', valueString: proof.treeHeadSignerPublicKey },
    ],
  };
}

/** The proof in a Parameters resource. Throws TypeError naming the first missing or malformed part. */
export function proofFromParameters(parameters: unknown): ResourceProof {
  const list = (parameters as { parameter?: unknown } | null)?.parameter;
  if (!Array.isArray(list)) throw new TypeError('not a Parameters resource');
  const parts = list as {
    name?: unknown;
    valueString?: unknown;
    valueInteger?: unknown;
    resource?: unknown;
  }[];
  const one = (name: string) => parts.find((part) => part.name === name);
  const text = (name: string): string => {
    const value = one(name)?.valueString;
    if (typeof value !== 'string') throw new TypeError(`parameter ${name} is missing`);
    return value;
  };
  const integer = (name: string): number => {
    const value = one(name)?.valueInteger;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
      throw new TypeError(`parameter ${name} is missing`);
    return value;
  };
  const resource = one('resource')?.resource;
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource))
    throw new TypeError('parameter resource is missing');
  return {
    resource: resource as JsonObject,
    salt: text('salt'),
    transaction: text('transaction'),
    signerPublicKey: text('signerPublicKey'),
    leafIndex: integer('leafIndex'),
    treeSize: integer('treeSize'),
    inclusionProof: parts
      .filter((part) => part.name === 'inclusionProof')
      .map((part) => String(part.valueString)),
    treeHead: JSON.parse(text('treeHead')) as BlockHeader,
    treeHeadSignerPublicKey: text('treeHeadSignerPublicKey'),
  };
}

/**
 * Checks `proof` on its own. With `pinnedNodeKey` (the hex Ed25519 key of a node the verifier
 * trusts, e.g. from `chartchain keys show`), also that this node signed the tree head.
 */
export function checkResourceProof(proof: ResourceProof, pinnedNodeKey?: string): ProofCheck[] {
  const decoded = decodeTransaction(proof.transaction);
  if (!decoded.ok)
    return [failed('transaction-signature', `the transaction is malformed: ${decoded.reason}`)];
  const { tx } = decoded;
  return [
    guard('transaction-signature', () => {
      const key = fromHex(proof.signerPublicKey, 'signerPublicKey', 32);
      if (keyIdOf(key) !== tx.signer) return 'the signer key is not the one the transaction names';
      return verify(publicKeyFromRaw(key), decoded.message, signatureOf(tx))
        ? undefined
        : 'the signature does not verify';
    }),
    // Which record: the commitment below covers the resource with its id, while the transaction
    // names the record by its ledger pseudonym, which never equals a FHIR id.
    guard('anchors-resource', () => {
      if (tx.type !== 'records.anchor' && tx.type !== 'records.supersede')
        return `the transaction is a ${tx.type}, not a records write`;
      return undefined;
    }),
    guard('commitment', () => {
      const commitment = commitmentOf(
        fromHex(proof.salt, 'salt', 32),
        canonicalBytes(proof.resource as JsonValue),
      );
      return commitment === tx.body['commitment']
        ? undefined
        : 'SHA-256(salt ‖ resource) is not the anchored commitment';
    }),
    guard('inclusion', () => {
      if (proof.treeHead.logSize !== proof.treeSize)
        return 'the tree head is for another tree size';
      const leaf = hashLeaf(decoded.bytes);
      verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        leaf,
        proof.inclusionProof.map((hash) => fromHex(hash, 'inclusionProof', 32)),
        fromHex(proof.treeHead.logRoot, 'logRoot', 32),
      );
      return undefined;
    }),
    guard('tree-head-signature', () => {
      const key = fromHex(proof.treeHeadSignerPublicKey, 'treeHeadSignerPublicKey', 32);
      if (keyIdOf(key) !== proof.treeHead.proposer) return 'the tree head names another proposer';
      return verifyHeaderSignature(proof.treeHead, publicKeyFromRaw(key))
        ? undefined
        : 'the tree head signature does not verify';
    }),
    pinned(proof, pinnedNodeKey),
  ];
}

function pinned(proof: ResourceProof, pinnedNodeKey: string | undefined): ProofCheck {
  if (pinnedNodeKey === undefined)
    return {
      check: 'tree-head-key-pinned',
      result: 'skipped',
      detail: 'no node key pinned: the tree head is checked against the key it carries',
    };
  if (!isHex(pinnedNodeKey, 32))
    return failed('tree-head-key-pinned', 'the pinned key is not 32 bytes of hex');
  return pinnedNodeKey === proof.treeHeadSignerPublicKey
    ? ok('tree-head-key-pinned')
    : failed('tree-head-key-pinned', 'the tree head was signed by another key');
}

function guard(check: ProofCheck['check'], run: () => string | undefined): ProofCheck {
  try {
    const problem = run();
    return problem === undefined ? ok(check) : failed(check, problem);
  } catch (error) {
    return failed(check, error instanceof Error ? error.message : String(error));
  }
}

function ok(check: ProofCheck['check']): ProofCheck {
  return { check, result: 'ok', detail: 'ok' };
}

function failed(check: ProofCheck['check'], detail: string): ProofCheck {
  return { check, result: 'failed', detail };
}
