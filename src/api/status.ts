/** The node status document served at /ledger/status. */
import { blockHashOf } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';

/** Head, log and health of `node`. */
export function nodeStatus(node: NodeFacade) {
  const head = node.head();
  return {
    network: node.config.network,
    orgId: node.config.orgId,
    nodeKeyId: node.identity.signingKeyId,
    height: head.height,
    blockHash: blockHashOf(head),
    time: head.time,
    logSize: head.logSize,
    logRoot: head.logRoot,
    appHash: head.appHash,
    /** Key id of the organisation that proposed the newest block. */
    proposer: head.proposer,
    pending: node.pendingCount,
    halted: node.halted ?? null,
    ...node.checkpoints.status(),
    alarms: [
      ...(node.halted === undefined ? [] : [{ kind: 'halted', reason: node.halted }]),
      ...node.records.alarms,
    ],
  };
}

/** Hash of the block at `height`. */
export function blockHashOfHeight(node: NodeFacade, height: number): string {
  return blockHashOf(node.ledger.header(height)!);
}
