/**
 * `chartchain network up|status|down`: a whole network on this machine in one command, one etcd
 * member and one node per organisation, all on loopback, each node with its own data directory,
 * keystore, keys and port. `up` on a directory that already holds a network restarts it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { freePort } from '../demo-clients.js';
import { etcdArgs, etcdHealthy, requireEtcd } from './etcd-members.js';
import { planNetwork, readPlan, writePlan, type NetworkPlan, type NodePlan } from './network-plan.js';
import { isAlive, spawnDetached, stopProcess, waitFor } from './processes.js';

const CLI = fileURLToPath(new URL('../../../bin/chartchain.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** Runs a chartchain subcommand to completion; resolves with its stdout, throws with its stderr. */
function chartchain(args: readonly string[]): string {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`chartchain ${args[0]} failed: ${run.stderr.trim() || run.error?.message}`);
  return run.stdout;
}

/** Creates the directories, each organisation's keys, and the genesis built from their public identities. */
async function createNetwork(dir: string, network: string, orgCount: number): Promise<NetworkPlan> {
  const ports: number[] = [];
  while (ports.length < orgCount * 3) {
    const port = await freePort('127.0.0.1');
    if (!ports.includes(port)) ports.push(port);
  }
  const plan = planNetwork(dir, network, orgCount, ports);
  for (const sub of ['logs', 'etcd', 'nodes', 'identities']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const identities = plan.nodes.map((node) => {
    chartchain(['init', '--keys-only', '--org-id', node.orgId, '--org-name', node.name, '--network', network, '--data', node.dataDir]);
    const file = join(dir, 'identities', `${node.orgId}.json`);
    chartchain(['identity', 'export', '--data', node.dataDir, '--endpoint', node.url, '--out', file]);
    return file;
  });
  chartchain(['genesis', '--network', network, ...identities.flatMap((file) => ['--org', file]), '--out', plan.genesisFile]);
  writePlan(plan);
  return plan;
}

function startEtcd(plan: NetworkPlan): void {
  for (const member of plan.etcd) {
    plan.pids[member.name] = spawnDetached('etcd', etcdArgs(member, plan.etcd, `chartchain-${plan.network}`), member.logFile);
  }
}

function startNode(plan: NetworkPlan, node: NodePlan, index: number): void {
  const args = ['start', '--data', node.dataDir, '--host', '127.0.0.1', '--port', String(node.port), '--genesis', plan.genesisFile, '--orderer', 'etcd', '--etcd', plan.etcd[index]!.clientUrl, '--demo-network'];
  plan.pids[node.orgId] = spawnDetached(process.execPath, [CLI, ...args], node.logFile);
}

async function nodeStatus(node: NodePlan): Promise<Record<string, unknown>> {
  const response = await fetch(`${node.url}/ledger/status`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as Record<string, unknown>;
}

async function up(flags: { orgs: string; dir: string; network: string }): Promise<void> {
  requireEtcd();
  const dir = resolve(flags.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = readPlan(dir);
  if (existing !== undefined && Object.values(existing.pids).some(isAlive)) throw new Error(`a network is already running in ${flags.dir}: stop it with chartchain network down --dir ${flags.dir}`);
  const plan = existing ?? (await createNetwork(dir, flags.network, Number(flags.orgs)));
  startEtcd(plan);
  writePlan(plan);
  await Promise.all(plan.etcd.map((member) => waitFor(`etcd member ${member.name} (log: ${member.logFile})`, () => etcdHealthy(member.clientUrl), START_TIMEOUT_MS)));
  plan.nodes.forEach((node, i) => startNode(plan, node, i));
  writePlan(plan);
  await Promise.all(plan.nodes.map((node) => waitFor(`node ${node.orgId} (log: ${node.logFile})`, async () => (await fetch(`${node.url}/ledger/status`)).ok, START_TIMEOUT_MS)));
  await status({ dir: flags.dir });
}

async function status(flags: { dir: string }): Promise<void> {
  const plan = requirePlan(flags.dir);
  const lines = [`network ${plan.network} in ${plan.dir}`];
  for (const node of plan.nodes) {
    const pid = plan.pids[node.orgId];
    const live = pid !== undefined && isAlive(pid);
    const state = live ? await nodeStatus(node).catch((error: unknown) => ({ error: String(error) })) : undefined;
    lines.push(`  ${node.orgId.padEnd(16)} ${node.url.padEnd(24)} ${live ? describe(state!) : 'stopped'}`);
  }
  for (const member of plan.etcd) {
    const pid = plan.pids[member.name];
    const live = pid !== undefined && isAlive(pid) && (await etcdHealthy(member.clientUrl).catch(() => false));
    lines.push(`  ${member.name.padEnd(16)} ${member.clientUrl.padEnd(24)} ${live ? 'healthy' : 'stopped or unhealthy'}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function describe(state: Record<string, unknown>): string {
  if ('error' in state) return `unreachable (${String(state['error'])})`;
  const alarms = Array.isArray(state['alarms']) ? state['alarms'] : [];
  const finalised = state['finalisedHeight'] ?? '-';
  return `height ${String(state['height'])}, finalised ${String(finalised)}, ${alarms.length} alarm(s)${alarms.length > 0 ? `: ${JSON.stringify(alarms)}` : ''}`;
}

async function down(flags: { dir: string }): Promise<void> {
  const plan = requirePlan(flags.dir);
  // Nodes first, so none sees its etcd member vanish mid-commit; then the etcd members.
  await Promise.all(plan.nodes.map((node) => stopRecorded(plan, node.orgId)));
  await Promise.all(plan.etcd.map((member) => stopRecorded(plan, member.name)));
  writePlan(plan);
  process.stdout.write(`stopped network ${plan.network}; its data stays in ${plan.dir} (network up restarts it)\n`);
}

async function stopRecorded(plan: NetworkPlan, name: string): Promise<void> {
  const pid = plan.pids[name];
  if (pid !== undefined) await stopProcess(pid);
  delete plan.pids[name];
}

function requirePlan(dir: string): NetworkPlan {
  const plan = readPlan(resolve(dir));
  if (plan === undefined) throw new Error(`${dir} holds no network: start one with chartchain network up --dir ${dir}`);
  return plan;
}

/** Registers `network up|status|down` on `program`. */
export function registerNetworkCommands(program: Command): void {
  const network = program.command('network').description('run a local multi-organisation network on loopback: one etcd member and one node per organisation');
  network
    .command('up')
    .description('create (first time) and start the network; restarts a stopped one')
    .option('--orgs <n>', 'number of organisations (the demo consortium: practice, hospital, lab)', '3')
    .option('--dir <dir>', 'where the network keeps its data, logs and pids', './network')
    .option('--network <name>', 'network name', 'chartchain-local')
    .action(up);
  network.command('status').description('each node\'s height, finalised height and alarms; each etcd member\'s health').option('--dir <dir>', 'the network directory', './network').action(status);
  network.command('down').description('stop every process network up started, by pid; data is kept').option('--dir <dir>', 'the network directory', './network').action(down);
}
