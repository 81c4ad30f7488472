/**
 * The plan of a local network, kept in `<dir>/network.json` (owner-only): which organisations,
 * which etcd members, which ports and data directories, and the pids of what `network up`
 * started. `network status` and `network down` read it; nothing else does.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdMember } from './etcd-members.js';

/** One organisation's node in the local network. */
export interface NodePlan {
  readonly orgId: string;
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
}

/** The whole local network. */
export interface NetworkPlan {
  readonly network: string;
  readonly dir: string;
  readonly genesisFile: string;
  readonly etcd: readonly (EtcdMember & { readonly logFile: string })[];
  readonly nodes: readonly NodePlan[];
  /** Whether the nodes run the demo consortium (seeded once, its users on every start). */
  readonly demo: boolean;
  /** Pids of the processes started, by etcd member name or organisation id. */
  pids: Record<string, number>;
}

/** The demo consortium's organisations, in founding order; a larger network adds numbered clinics. */
export const DEMO_ORGS: readonly { readonly orgId: string; readonly name: string }[] = [
  { orgId: 'demo-practice', name: 'Demo Internal Medicine Practice' },
  { orgId: 'demo-hospital', name: 'Demo Community Hospital' },
  { orgId: 'demo-lab', name: 'Demo Reference Laboratory' },
];

/** The organisations of an `orgCount`-member local network. */
export function rosterOf(orgCount: number): { orgId: string; name: string }[] {
  if (!Number.isInteger(orgCount) || orgCount < 1 || orgCount > 7)
    throw new RangeError('--orgs must be an integer from 1 to 7');
  return Array.from(
    { length: orgCount },
    (_, i) => DEMO_ORGS[i] ?? { orgId: `demo-clinic-${i + 1}`, name: `Demo Clinic ${i + 1}` },
  );
}

/** Lays out a plan under `dir` with the ports given (two per etcd member, one per node). */
export function planNetwork(
  dir: string,
  network: string,
  orgCount: number,
  ports: readonly number[],
  demo: boolean,
): NetworkPlan {
  const roster = rosterOf(orgCount);
  if (ports.length < roster.length * 3)
    throw new RangeError(
      `a ${roster.length}-organisation network needs ${roster.length * 3} ports`,
    );
  const etcd = roster.map((_, i) => ({
    name: `etcd-${i + 1}`,
    clientUrl: `http://127.0.0.1:${ports[3 * i]!}`,
    peerUrl: `http://127.0.0.1:${ports[3 * i + 1]!}`,
    dataDir: join(dir, 'etcd', `etcd-${i + 1}`),
    logFile: join(dir, 'logs', `etcd-${i + 1}.log`),
  }));
  const nodes = roster.map((org, i) => {
    const port = ports[3 * i + 2]!;
    return {
      ...org,
      dataDir: join(dir, 'nodes', org.orgId),
      port,
      url: `http://127.0.0.1:${port}`,
      logFile: join(dir, 'logs', `${org.orgId}.log`),
    };
  });
  return { network, dir, genesisFile: join(dir, 'genesis.json'), etcd, nodes, demo, pids: {} };
}

const PLAN_FILE = 'network.json';

/** The plan saved in `dir`, or undefined when there is none. */
export function readPlan(dir: string): NetworkPlan | undefined {
  const file = join(dir, PLAN_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as NetworkPlan) : undefined;
}

/** Saves `plan` in its directory, owner-only. */
export function writePlan(plan: NetworkPlan): void {
  writeFileSync(join(plan.dir, PLAN_FILE), JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
}
