/**
 * `chartchain network up|status|down`: a whole network on this machine in one command, one etcd
 * member and one node per organisation, all on loopback, each node with its own data directory,
 * keystore, keys and port. `up` on a directory that already holds a network restarts it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  buildGenesis,
  ChartChainNode,
  identityOf,
  loadOrgKeys,
  readNodeConfig,
} from '../../node/index.js';
import type { ConsentModel } from '../../contracts/index.js';
import { freePort } from '../free-port.js';
import { consentModelFlag } from '../consent-model-flag.js';
import { etcdArgs, etcdHealthy, PROPOSER_LEASE_SEC, requireEtcd } from './etcd-members.js';
import {
  planNetwork,
  readPlan,
  writePlan,
  type NetworkPlan,
  type NodePlan,
} from './network-plan.js';
import { isAlive, spawnDetached, stopProcess, waitFor } from './processes.js';

const CLI = fileURLToPath(new URL('../../../bin/chartchain.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** Creates the directories, each organisation's keys (in its own data directory), and the genesis built from their public identities alone. */
async function createNetwork(
  dir: string,
  network: string,
  orgCount: number,
  demo: boolean,
  consentModel: ConsentModel,
): Promise<NetworkPlan> {
  const ports: number[] = [];
  while (ports.length < orgCount * 3) {
    const port = await freePort('127.0.0.1');
    if (!ports.includes(port)) ports.push(port);
  }
  const plan = planNetwork(dir, network, orgCount, ports, demo);
  for (const sub of ['logs', 'etcd', 'nodes'])
    mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const identities = plan.nodes.map((node) => {
    ChartChainNode.init(node.dataDir, {
      orgId: node.orgId,
      orgName: node.name,
      network,
      join: true,
    });
    return identityOf(readNodeConfig(node.dataDir)!, loadOrgKeys(node.dataDir), node.url);
  });
  const genesis = buildGenesis(network, identities, Date.now(), consentModel);
  writeFileSync(plan.genesisFile, JSON.stringify(genesis, null, 2) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
  writePlan(plan);
  return plan;
}

function startEtcd(plan: NetworkPlan): void {
  plan.etcd.forEach((_, index) => startEtcdMember(plan, index));
}

function startEtcdMember(plan: NetworkPlan, index: number): void {
  const member = plan.etcd[index]!;
  plan.pids[member.name] = spawnDetached(
    'etcd',
    etcdArgs(member, plan.etcd, `chartchain-${plan.network}`),
    member.logFile,
  );
}

/** Starts the etcd member `plan.etcd[index]` again on its data (after a kill, say). */
export function restartEtcdMember(plan: NetworkPlan, index: number): void {
  startEtcdMember(plan, index);
  writePlan(plan);
}

function startNode(plan: NetworkPlan, index: number): void {
  const node = plan.nodes[index]!;
  // Each node talks to its own organisation's etcd member only: stopping that member cuts the
  // node off, as a network partition would.
  const args = [
    'start',
    '--data',
    node.dataDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(node.port),
    '--genesis',
    plan.genesisFile,
    '--orderer',
    'etcd',
    '--etcd',
    plan.etcd[index]!.clientUrl,
    '--proposer-lease',
    String(PROPOSER_LEASE_SEC),
  ];
  plan.pids[node.orgId] = spawnDetached(
    process.execPath,
    [CLI, ...args, ...(plan.demo ? ['--demo-network'] : ['--no-demo'])],
    node.logFile,
  );
}

async function nodeStatus(node: NodePlan): Promise<Record<string, unknown>> {
  const response = await fetch(`${node.url}/ledger/status`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as Record<string, unknown>;
}

/** What `network up` takes. */
export interface NetworkUpOptions {
  readonly dir: string;
  readonly orgs: number;
  readonly network: string;
  /** Seed the demo consortium (each node its own part) when the network is created; a restart keeps what it was. */
  readonly demo: boolean;
  /** The consent model of the genesis when the network is created (default opt-out); a restart keeps what it was. */
  readonly consentModel?: ConsentModel;
}

/**
 * Creates (the first time) and starts a local network in `options.dir`: the etcd members, then
 * the nodes; resolves with the plan once every node answers. Throws when etcd is missing or a
 * network already runs there.
 */
export async function networkUp(options: NetworkUpOptions): Promise<NetworkPlan> {
  requireEtcd();
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = readPlan(dir);
  if (existing !== undefined && Object.values(existing.pids).some(isAlive))
    throw new Error(
      `a network is already running in ${options.dir}: stop it with chartchain network down --dir ${options.dir}`,
    );
  const plan =
    existing ??
    (await createNetwork(
      dir,
      options.network,
      options.orgs,
      options.demo,
      options.consentModel ?? 'opt-out',
    ));
  startEtcd(plan);
  writePlan(plan);
  await Promise.all(
    plan.etcd.map((member) =>
      waitFor(
        `etcd member ${member.name} (log: ${member.logFile})`,
        () => etcdHealthy(member.clientUrl),
        START_TIMEOUT_MS,
      ),
    ),
  );
  plan.nodes.forEach((_, i) => startNode(plan, i));
  writePlan(plan);
  const exited = (node: NodePlan): boolean => !isAlive(plan.pids[node.orgId]!);
  await Promise.all(
    plan.nodes.map((node) =>
      waitFor(
        `node ${node.orgId} (log: ${node.logFile})`,
        async () => exited(node) || (await fetch(`${node.url}/ledger/status`)).ok,
        START_TIMEOUT_MS,
      ),
    ),
  );
  const stopped = plan.nodes.filter(exited);
  if (stopped.length > 0)
    throw new NodesStoppedError(
      stopped.map((node) => ({ orgId: node.orgId, logFile: node.logFile })),
    );
  return plan;
}

/** Nodes that exited while `network up` started them (a damaged chain, say); the rest run on. */
export class NodesStoppedError extends Error {
  constructor(readonly nodes: readonly { readonly orgId: string; readonly logFile: string }[]) {
    super(
      `node ${nodes.map((node) => `${node.orgId} (see ${node.logFile})`).join(', ')} stopped while starting; the others run`,
    );
    this.name = 'NodesStoppedError';
  }
}

/** Starts the node of `plan.nodes[index]` again (after a kill, say), with the flags network up gave it. */
export function restartNode(plan: NetworkPlan, index: number): void {
  startNode(plan, index);
  writePlan(plan);
}

async function up(flags: {
  orgs: string;
  dir: string;
  network: string;
  demo: boolean;
  consentModel?: string;
}): Promise<void> {
  await networkUp({
    dir: flags.dir,
    orgs: Number(flags.orgs),
    network: flags.network,
    demo: flags.demo,
    consentModel: consentModelFlag(flags.consentModel),
  });
  await status({ dir: flags.dir });
}

async function status(flags: { dir: string }): Promise<void> {
  const plan = requirePlan(flags.dir);
  const lines = [`network ${plan.network} in ${plan.dir}`];
  for (const node of plan.nodes) {
    const pid = plan.pids[node.orgId];
    const live = pid !== undefined && isAlive(pid);
    const state = live
      ? await nodeStatus(node).catch((error: unknown) => ({ error: String(error) }))
      : undefined;
    lines.push(
      `  ${node.orgId.padEnd(16)} ${node.url.padEnd(24)} ${live ? describe(state!) : 'stopped'}`,
    );
  }
  for (const member of plan.etcd) {
    const pid = plan.pids[member.name];
    const live =
      pid !== undefined && isAlive(pid) && (await etcdHealthy(member.clientUrl).catch(() => false));
    lines.push(
      `  ${member.name.padEnd(16)} ${member.clientUrl.padEnd(24)} ${live ? 'healthy' : 'stopped or unhealthy'}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function describe(state: Record<string, unknown>): string {
  if ('error' in state) return `unreachable (${String(state['error'])})`;
  const alarms = Array.isArray(state['alarms']) ? state['alarms'] : [];
  const finalised = state['finalisedHeight'] ?? '-';
  return `height ${String(state['height'])}, finalised ${String(finalised)}, ${alarms.length} alarm(s)${alarms.length > 0 ? `: ${JSON.stringify(alarms)}` : ''}`;
}

/** Stops every process `network up` started in `dir`, nodes first; the data stays. */
export async function networkDown(dir: string): Promise<NetworkPlan> {
  const plan = requirePlan(dir);
  // Nodes first, so none sees its etcd member vanish mid-commit; then the etcd members.
  await Promise.all(plan.nodes.map((node) => stopRecorded(plan, node.orgId)));
  await Promise.all(plan.etcd.map((member) => stopRecorded(plan, member.name)));
  writePlan(plan);
  return plan;
}

async function down(flags: { dir: string }): Promise<void> {
  const plan = await networkDown(flags.dir);
  process.stdout.write(
    `stopped network ${plan.network}; its data stays in ${plan.dir} (network up restarts it)\n`,
  );
}

async function stopRecorded(plan: NetworkPlan, name: string): Promise<void> {
  const pid = plan.pids[name];
  if (pid !== undefined) await stopProcess(pid);
  delete plan.pids[name];
}

function requirePlan(dir: string): NetworkPlan {
  const plan = readPlan(resolve(dir));
  if (plan === undefined)
    throw new Error(`${dir} holds no network: start one with chartchain network up --dir ${dir}`);
  return plan;
}

/** Registers `network up|status|down` on `program`. */
export function registerLocalNetworkCommands(program: Command): void {
  const network = program
    .command('network')
    .description(
      'run a local multi-organisation network on loopback: one etcd member and one node per organisation',
    );
  network
    .command('up')
    .description('create (first time) and start the network; restarts a stopped one')
    .option(
      '--orgs <n>',
      'number of organisations (the demo consortium: practice, hospital, lab)',
      '3',
    )
    .option('--dir <dir>', 'where the network keeps its data, logs and pids', './network')
    .option('--network <name>', 'network name', 'chartchain-local')
    .option('--no-demo', 'do not seed the demo consortium on first start')
    .option(
      '--consent-model <model>',
      "the new network's consent model: opt-out (a patient's home organisation treats them without a grant unless they restrict it) or opt-in",
      'opt-out',
    )
    .action(up);
  network
    .command('status')
    .description("each node's height, finalised height and alarms; each etcd member's health")
    .option('--dir <dir>', 'the network directory', './network')
    .action(status);
  network
    .command('down')
    .description('stop every process network up started, by pid; data is kept')
    .option('--dir <dir>', 'the network directory', './network')
    .action(down);
}
