/**
 * What the app checks of the ledger itself, trusting no node: the current signed tree head, its
 * consistency with the last one this browser saw, and each audit entry's inclusion proof.
 */
import { call, publicCall } from './node-api.js';
import { verifyConsistency, verifyInclusion } from './merkle.js';
import {
  checkGrowth,
  checkSignature,
  lastSeen,
  LedgerCheckError,
  remember,
  type TreeHead,
} from './tree-head.js';

interface TreeHeadAnswer {
  readonly treeSize: number;
  readonly treeHead: TreeHead;
  readonly proposerKey: string;
}

/** An RFC 9162 inclusion proof as the node serves it. */
export interface InclusionProof {
  readonly txId: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly leafHash: string;
  readonly inclusionProof: readonly string[];
  readonly treeHead: TreeHead;
}

/** Proposer keys already fetched and checked, by key id. */
const proposerKeys = new Map<string, string>();

async function signedHead(treeSize?: number): Promise<TreeHead> {
  const answer = await publicCall<TreeHeadAnswer>(
    `/ledger/tree-head${treeSize === undefined ? '' : `?treeSize=${treeSize}`}`,
  );
  await checkSignature(answer.treeHead, answer.proposerKey);
  proposerKeys.set(answer.treeHead.proposer, answer.proposerKey);
  return answer.treeHead;
}

/** The head checkTreeHead last accepted, and the logs of other sizes proved to be its prefixes (size → root). */
let checked: TreeHead | undefined;
const provenPrefixes = new Map<number, string>();

/**
 * Checks the node's current tree head: its signature, and that it extends the last tree head
 * this browser saw (a consistency proof); then remembers it. Throws LedgerCheckError saying what
 * failed.
 */
export async function checkTreeHead(): Promise<TreeHead> {
  const head = await signedHead();
  const seen = lastSeen(location.origin);
  if (seen !== undefined) {
    const grew = head.logSize > seen.treeSize;
    const proof = grew
      ? (
          await call<{ consistencyProof: string[] }>(
            `/ledger/proof/consistency?first=${seen.treeSize}&second=${head.logSize}`,
          )
        ).consistencyProof
      : undefined;
    await checkGrowth(seen, head, proof);
  }
  remember(location.origin, {
    treeSize: head.logSize,
    logRoot: head.logRoot,
    proposerKey: proposerKeys.get(head.proposer)!,
    height: head.height,
    appHash: head.appHash,
    proposer: head.proposer,
  });
  checked = head;
  provenPrefixes.set(head.logSize, head.logRoot);
  return head;
}

/** Checks of heads not yet accepted, by log size, so many badges share one consistency proof. */
const pending = new Map<number, Promise<void>>();
let headCheck: Promise<TreeHead> | undefined;

/**
 * Throws LedgerCheckError unless `head` belongs to the history this browser checked: the head
 * it accepted, or a prefix of it by a consistency proof. A proof against any other head, however
 * well signed, could come from a forked log.
 */
async function anchor(head: TreeHead): Promise<void> {
  if (checked === undefined || head.logSize > checked.logSize) {
    headCheck ??= checkTreeHead().finally(() => (headCheck = undefined));
    await headCheck;
  }
  const known = provenPrefixes.get(head.logSize);
  if (known !== undefined) {
    if (known !== head.logRoot)
      throw new LedgerCheckError(
        `the proof's tree head of ${head.logSize} entries is not the one this browser checked`,
      );
    return;
  }
  let proving = pending.get(head.logSize);
  if (proving === undefined) {
    proving = provePrefix(head, checked!).finally(() => pending.delete(head.logSize));
    pending.set(head.logSize, proving);
  }
  await proving;
  if (provenPrefixes.get(head.logSize) !== head.logRoot)
    throw new LedgerCheckError(
      `the proof's tree head of ${head.logSize} entries is not the one this browser checked`,
    );
}

/** Proves by a consistency proof that `head`'s log is a prefix of `current`'s, and remembers its root. */
async function provePrefix(head: TreeHead, current: TreeHead): Promise<void> {
  if (head.logSize > current.logSize)
    throw new LedgerCheckError(
      `the proof's tree head of ${head.logSize} entries is beyond the node's own head`,
    );
  const proof = (
    await call<{ consistencyProof: string[] }>(
      `/ledger/proof/consistency?first=${head.logSize}&second=${current.logSize}`,
    )
  ).consistencyProof;
  if (
    !(await verifyConsistency(head.logSize, current.logSize, head.logRoot, current.logRoot, proof))
  ) {
    throw new LedgerCheckError(
      `the proof's tree head of ${head.logSize} entries is not a prefix of the log this browser checked`,
    );
  }
  provenPrefixes.set(head.logSize, head.logRoot);
}

/**
 * Throws LedgerCheckError unless `proof` is for transaction `txId` and includes its leaf in a
 * signed tree head of the history this browser checked.
 */
export async function checkInclusion(proof: InclusionProof, txId: string): Promise<void> {
  if (proof.txId !== txId)
    throw new LedgerCheckError(`the proof is for another transaction than ${txId.slice(0, 12)}…`);
  await checkHead(proof.treeHead);
  if (
    proof.treeHead.logSize !== proof.treeSize ||
    !(await verifyInclusion(
      proof.leafIndex,
      proof.treeSize,
      proof.leafHash,
      proof.inclusionProof,
      proof.treeHead.logRoot,
    ))
  ) {
    throw new LedgerCheckError(
      `the inclusion proof of transaction ${proof.txId.slice(0, 12)}… does not verify against the signed tree head`,
    );
  }
}

/** Throws LedgerCheckError unless `head` is signed by the key it names and belongs to the checked history. */
export async function checkHead(head: TreeHead, key?: string): Promise<void> {
  if (key === undefined && !proposerKeys.has(head.proposer))
    await signedHead(head.logSize).catch(() => undefined);
  const signer = key ?? proposerKeys.get(head.proposer);
  if (signer === undefined)
    throw new LedgerCheckError(
      `the node does not name a key for the signer of the tree head of ${head.logSize} entries`,
    );
  await checkSignature(head, signer);
  await anchor(head);
}
