/**
 * Test support (not a test): a node serving /ledger, /fhir and the SMART endpoints on a free
 * loopback port, with the demo users, torn down after the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import {
  AuthServer,
  buildServer,
  createDemoUsers,
  type BackendClient,
  type ServerOptions,
} from '../src/api/index.js';
import { publicClients } from '../src/cli/demo-clients.js';
import { freePort } from '../src/cli/free-port.js';
import { ChartChainNode } from '../src/node/index.js';

/**
 * Starts the server for org 'demo-practice'. `prepare` runs before the server opens its search
 * index, as seeding does under `chartchain start`; `clock` drives token times.
 */
export async function startFhirServer(
  t: TestContext,
  options: {
    prepare: (node: ChartChainNode) => Promise<void>;
    clock?: () => number;
    /** More of the server: an MLLP listener, say. */
    server?: Omit<ServerOptions, 'auth'>;
    /** Backend clients to register beside the demo's public ones. */
    clients?: readonly BackendClient[];
  },
): Promise<{ node: ChartChainNode; auth: AuthServer; origin: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-fhir-server-'));
  ChartChainNode.init(dir, {
    orgId: 'demo-practice',
    orgName: 'Demo Practice',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const port = await freePort('127.0.0.1');
  const origin = `http://127.0.0.1:${port}`;
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const clients = publicClients(origin);
  for (const client of options.clients ?? []) await clients.register(client);
  const auth = await AuthServer.create({
    issuer: origin,
    fhirBaseUrl: `${origin}/fhir`,
    users: await createDemoUsers('demo-practice', node.homePatients),
    clients,
    tokenLifetimeSeconds: 3600,
    ...clock,
  });
  await options.prepare(node);
  const app = buildServer(node, { ...options.server, auth });
  t.after(async () => {
    await app.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await app.listen({ host: '127.0.0.1', port });
  return { node, auth, origin };
}
