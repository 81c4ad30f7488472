/**
 * Crash recovery of state: blocks are durable on commit, state only at savepoints, so after a
 * crash the blocks above the savepoint are re-executed, each checked against its stored header.
 */
import type { Executor } from '../contracts/index.js';
import { decodeBlock } from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';
import { validateBlock } from '../verifier/index.js';
import type { SignatureCache } from '../verifier/index.js';

/** Replays stored blocks above the applied state height. Resolves with the number replayed. Throws BlockValidationError on a mismatch. */
export async function recoverState(
  store: ChainStore,
  executor: Executor,
  signatures: SignatureCache,
): Promise<number> {
  const head = store.head();
  if (head === undefined) return 0;
  const first = store.appliedStateHeight + 1;
  for (let height = first; height <= head.height; height++) {
    const decoded = decodeBlock(store.block(height));
    await signatures.preverify(executor, store.state, decoded.txs, {
      height,
      time: decoded.block.header.time,
    });
    const view = {
      head: () => store.header(height - 1),
      state: store.state,
      logNodes: store.logNodes,
    };
    store.replayState(validateBlock(view, executor, decoded, signatures.check));
  }
  return head.height - first + 1;
}
