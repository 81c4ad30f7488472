/** The time a node decides by. */
import type { ChainStore } from '../storage/index.js';

/**
 * Now, never before the newest block: what a decision about a block yet to be cut (a read to
 * log, who a new version is wrapped to, which keys a grant shares) must hold at. The newest
 * block's own time can be long past on a quiet node, and a grant or break-the-glass window may
 * have ended since.
 */
export function decisionTime(chain: Pick<ChainStore, 'head'>): number {
  return Math.max(Date.now(), chain.head()?.time ?? 0);
}
