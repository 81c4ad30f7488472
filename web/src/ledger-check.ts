/**
 * What the app checks of the ledger itself, trusting no node: the current signed tree head, its
 * consistency with the last one this browser saw, and each audit entry's inclusion proof.
 */
import { call, publicCall } from './node-api.js';
import { verifyInclusion } from './merkle.js';
import { checkGrowth, checkSignature, lastSeen, LedgerCheckError, remember, type TreeHead } from './tree-head.js';

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
  const answer = await publicCall<TreeHeadAnswer>(`/ledger/tree-head${treeSize === undefined ? '' : `?treeSize=${treeSize}`}`);
  await checkSignature(answer.treeHead, answer.proposerKey);
  proposerKeys.set(answer.treeHead.proposer, answer.proposerKey);
  return answer.treeHead;
}

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
    const proof = grew ? (await call<{ consistencyProof: string[] }>(`/ledger/proof/consistency?first=${seen.treeSize}&second=${head.logSize}`)).consistencyProof : undefined;
    await checkGrowth(seen, head, proof);
  }
  remember(location.origin, { treeSize: head.logSize, logRoot: head.logRoot, proposerKey: proposerKeys.get(head.proposer)! });
  return head;
}

/** Throws LedgerCheckError unless `proof` includes its leaf in a tree head whose signature verifies. */
export async function checkInclusion(proof: InclusionProof): Promise<void> {
  const head = proof.treeHead;
  if (head.logSize !== proof.treeSize) throw new LedgerCheckError(`the proof for ${proof.txId.slice(0, 12)}… names a tree head of another size`);
  const key = proposerKeys.get(head.proposer);
  if (key === undefined) await signedHead(head.logSize);
  await checkSignature(head, proposerKeys.get(head.proposer)!);
  if (!(await verifyInclusion(proof.leafIndex, proof.treeSize, proof.leafHash, proof.inclusionProof, head.logRoot))) {
    throw new LedgerCheckError(`the inclusion proof of transaction ${proof.txId.slice(0, 12)}… does not verify against the signed tree head`);
  }
}
