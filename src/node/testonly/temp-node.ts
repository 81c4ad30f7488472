/**
 * Test support (not part of the public API): a data directory with a one-organisation chain
 * (practice-a, blocks cut every 5 ms), removed when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartChainNode } from '../node.js';

/** What a test context offers for cleaning up. */
export interface AfterHook {
  after(fn: () => unknown): void;
}

/** A fresh data directory under the system's temporary one, initialised, removed after `t`. */
export function tempNodeDir(t: AfterHook, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `chartchain-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  return dir;
}

/** tempNodeDir(), with its node opened on one verify worker. The caller closes it. */
export async function openTempNode(
  t: AfterHook,
  name: string,
): Promise<{ dir: string; node: ChartChainNode }> {
  const dir = tempNodeDir(t, name);
  return { dir, node: await ChartChainNode.open(dir, { verifyPoolSize: 1 }) };
}
