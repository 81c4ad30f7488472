/** Test support: `chartchain start` in this process, for practice-a's node in `dir`, on a free loopback port. */
import type { TestContext } from 'node:test';
import { openServer, type StartedNode } from '../node-commands.js';

/** Starts the node in `dir` (initialising it if new), without the demo; stopped after `t`. */
export async function startNode(t: TestContext, dir: string): Promise<StartedNode> {
  const started = await openServer({
    data: dir,
    demo: false,
    host: '127.0.0.1',
    port: '0',
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
  });
  t.after(() => started.close());
  return started;
}
