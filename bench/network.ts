/**
 * npm run bench:network [-- --txs N] [--json]
 *
 * Starts, on loopback, a 3-organisation network (three etcd members, three node processes, each
 * with only its own keys) and a single solo node, drives both with the same load generator over
 * HTTP (org-signed patient registrations, POST /ledger/tx, 64 in flight per node), and measures:
 *   soloTxPerSec     committed transactions/s on one node with the embedded solo orderer;
 *   networkTxPerSec  committed transactions/s on the network (every node has them);
 *   failoverGapMs    the longest gap between commits, seen from a surviving node, after the
 *                    proposer node is killed with SIGKILL under load;
 *   lost             transactions acknowledged (HTTP 202) and never committed;
 *   duplicated       transactions that appear more than once in the chain.
 * The last line is JSON. Everything started is stopped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomHex } from './bench-util.js';
import { MEMBERSHIP_REGISTER_PATIENT, standardExecutor } from '../src/contracts/index.js';
import { encodeTransaction, signTransaction, txIdOf } from '../src/ledger/index.js';
import { ChartChainNode, loadOrgKeys } from '../src/node/index.js';
import { ChainStore } from '../src/storage/index.js';
import { freePort } from '../src/cli/free-port.js';
import { networkDown, networkUp } from '../src/cli/network/local-network-commands.js';
import { isAlive, spawnDetached, stopProcess, waitFor } from '../src/cli/network/processes.js';

const flag = (name: string, fallback: string): string => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
};
const TXS = Number(flag('txs', '12000'));
const IN_FLIGHT_PER_NODE = 64;
const CLI = fileURLToPath(new URL('../bin/chartchain.js', import.meta.url));

interface Target {
  readonly url: string;
  readonly dataDir: string;
}

/**
 * Org-signed patient registrations for the organisation of `dataDir`, signed as they are sent,
 * with nonces far above any the node uses itself. Several in flight from one signer can reach
 * the node out of nonce order, and one whose nonce a committed block has passed is refused (409,
 * never acknowledged): it is signed again with a fresh nonce, as any client would.
 */
class Registrations {
  readonly #signing;
  #nonce: number;
  constructor(dataDir: string, nonceBase: number) {
    this.#signing = loadOrgKeys(dataDir).signing;
    this.#nonce = nonceBase;
  }
  next(): Uint8Array {
    const body = MEMBERSHIP_REGISTER_PATIENT.build({
      patientId: `bench-${randomHex(8)}`,
      signingKey: randomHex(32),
      encryptionKey: randomHex(32),
      custody: 'custodial',
    });
    return encodeTransaction(
      signTransaction(
        { type: MEMBERSHIP_REGISTER_PATIENT.type, nonce: (this.#nonce += 1), body },
        this.#signing,
      ),
    );
  }
}

async function status(url: string): Promise<{
  logSize: number;
  height: number;
  blockHash: string;
  proposer: string;
  nodeKeyId: string;
}> {
  const response = await fetch(`${url}/ledger/status`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as never;
}

/** Posts `count` registrations to `url`, `IN_FLIGHT_PER_NODE` at a time, until done or `stop()` says so; returns the txIds acknowledged with 202. */
async function submitAll(
  url: string,
  source: Registrations,
  count: number,
  stop: () => boolean = () => false,
): Promise<string[]> {
  const acknowledged: string[] = [];
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < count && !stop()) {
      sent += 1;
      let tx = source.next();
      for (;;) {
        const response = await fetch(`${url}/ledger/tx`, {
          method: 'POST',
          body: Buffer.from(tx),
          headers: { 'content-type': 'application/json' },
        }).catch(() => undefined);
        await response?.arrayBuffer();
        if (response?.status === 202) {
          acknowledged.push(txIdOf(tx));
          break;
        }
        if (stop()) break;
        if (response?.status === 409) tx = source.next();
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT_PER_NODE }, worker));
  return acknowledged;
}

/** Resolves once `url` has committed at least `logSize` leaves; with the time that took. */
async function committedAt(url: string, logSize: number, timeoutMs = 600_000): Promise<void> {
  await waitFor(
    `${url} to commit ${logSize} leaves`,
    async () => (await status(url)).logSize >= logSize,
    timeoutMs,
  );
}

/** Committed tx/s of `targets` under the same load: each gets its share of `count` registrations. */
async function throughput(
  targets: readonly Target[],
  count: number,
  nonceBase: number,
): Promise<number> {
  const base = (await status(targets[0]!.url)).logSize;
  const share = Math.floor(count / targets.length);
  const started = performance.now();
  const acknowledged = await Promise.all(
    targets.map((target) =>
      submitAll(target.url, new Registrations(target.dataDir, nonceBase), share),
    ),
  );
  const total = acknowledged.flat().length;
  await Promise.all(targets.map((target) => committedAt(target.url, base + total)));
  return total / ((performance.now() - started) / 1000);
}

async function solo(dir: string): Promise<number> {
  const dataDir = join(dir, 'solo');
  ChartChainNode.init(dataDir, {
    orgId: 'bench-solo',
    orgName: 'Benchmark Solo',
    network: 'bench-solo',
  });
  const port = await freePort('127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const pid = spawnDetached(
    process.execPath,
    [CLI, 'start', '--data', dataDir, '--host', '127.0.0.1', '--port', String(port), '--no-demo'],
    join(dir, 'solo.log'),
  );
  try {
    await waitFor('the solo node', async () => (await fetch(`${url}/ledger/status`)).ok, 60_000);
    await throughput([{ url, dataDir }], Math.min(2_000, TXS), 1e9);
    return await throughput([{ url, dataDir }], TXS, 2e9);
  } finally {
    await stopProcess(pid);
  }
}

/** Kills the proposer under load; returns the longest commit gap a survivor saw, and what was acknowledged. */
async function failover(
  targets: readonly (Target & { pid: number })[],
): Promise<{ gapMs: number; acknowledged: string[]; survivor: Target; killed: string }> {
  const heads = await Promise.all(targets.map((target) => status(target.url)));
  const victim =
    targets[heads.findIndex((head) => head.nodeKeyId === heads[0]!.proposer)] ?? targets[0]!;
  const survivors = targets.filter((target) => target !== victim);
  const survivor = survivors[0]!;
  let stopped = false;
  let killed = false;
  const load = Promise.all(
    targets.map((target) =>
      submitAll(
        target.url,
        new Registrations(target.dataDir, 3e9),
        Number.MAX_SAFE_INTEGER,
        () => stopped || (target === victim && killed),
      ),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  let last = { logSize: (await status(survivor.url)).logSize, at: performance.now() };
  let gapMs = 0;
  process.kill(victim.pid, 'SIGKILL');
  killed = true;
  const killedAt = performance.now();
  while (performance.now() - killedAt < 10_000) {
    const { logSize } = await status(survivor.url).catch(() => ({ logSize: last.logSize }));
    const now = performance.now();
    if (logSize > last.logSize) last = { logSize, at: now };
    gapMs = Math.max(gapMs, now - last.at);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  stopped = true;
  const acknowledged = (await load).flat();
  return { gapMs, acknowledged, survivor, killed: victim.dataDir };
}

/** Acknowledged txIds missing from the survivor's chain, and txIds its chain holds more than once. */
function audit(
  dataDir: string,
  acknowledged: readonly string[],
): { lost: number; duplicated: number } {
  const store = ChainStore.open(join(dataDir, 'chain.db'), standardExecutor().tables, {
    readonly: true,
  });
  try {
    const seen = new Set<string>();
    let duplicated = 0;
    for (let leafIndex = 0, tx = store.tx(0); tx !== undefined; tx = store.tx(++leafIndex)) {
      const txId = txIdOf(tx.bytes);
      if (seen.has(txId)) duplicated += 1;
      seen.add(txId);
    }
    return { lost: acknowledged.filter((txId) => !seen.has(txId)).length, duplicated };
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-network-'));
  console.log(`bench:network: ${TXS} transactions per phase, data in ${dir}`);
  try {
    const soloTxPerSec = await solo(dir);
    console.log(`solo: ${soloTxPerSec.toFixed(0)} tx/s`);
    const plan = await networkUp({
      dir: join(dir, 'network'),
      orgs: 3,
      network: 'bench',
      demo: false,
    });
    const targets = plan.nodes.map((node) => ({
      url: node.url,
      dataDir: node.dataDir,
      pid: plan.pids[node.orgId]!,
    }));
    await throughput(targets, Math.min(3_000, TXS), 1e9);
    const networkTxPerSec = await throughput(targets, TXS, 2e9);
    console.log(
      `network (3 organisations, 3 etcd members): ${networkTxPerSec.toFixed(0)} tx/s (${((100 * networkTxPerSec) / soloTxPerSec).toFixed(0)}% of solo)`,
    );
    const { gapMs, acknowledged, survivor } = await failover(targets);
    console.log(
      `proposer killed under load: longest commit gap ${gapMs.toFixed(0)} ms; ${acknowledged.length} acknowledged`,
    );
    const height = async () =>
      Math.max(
        ...(await Promise.all(
          targets
            .filter((target) => isAlive(target.pid))
            .map(async (target) => (await status(target.url)).logSize),
        )),
      );
    await committedAt(survivor.url, await height(), 60_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await networkDown(plan.dir);
    const { lost, duplicated } = audit(survivor.dataDir, acknowledged);
    console.log(`lost ${lost}, duplicated ${duplicated}`);
    console.log(
      JSON.stringify({
        networkTxPerSec: Math.round(networkTxPerSec),
        soloTxPerSec: Math.round(soloTxPerSec),
        failoverGapMs: Math.round(gapMs),
        lost,
        duplicated,
        acknowledged: acknowledged.length,
        orgs: 3,
      }),
    );
  } finally {
    await networkDown(join(dir, 'network')).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
