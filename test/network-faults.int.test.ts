/**
 * A three-organisation network on loopback (three etcd members, three node processes, each
 * holding only its own keys) under continuous FHIR and ledger load, through the faults a real
 * network meets: the proposer node killed, an etcd member and then the etcd leader killed,
 * everything restarted, a node cut off from the cluster and healed, and a byte flipped in one
 * node's chain database. At the end nothing acknowledged is lost or committed twice, every live
 * node holds the same chain, and the tampered node has stopped with an alarm naming what it found.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isEtcdLeader } from '../src/cli/network/etcd-members.js';
import {
  networkDown,
  networkUp,
  NodesStoppedError,
  restartEtcdMember,
  restartNode,
} from '../src/cli/network/local-network-commands.js';
import { readPlan, type NetworkPlan } from '../src/cli/network/network-plan.js';
import { isAlive, waitFor } from '../src/cli/network/processes.js';
import { standardExecutor, VERSION_TABLE, versionKey } from '../src/contracts/index.js';
import { txIdOf } from '../src/ledger/index.js';
import { Pseudonyms } from '../src/node/index.js';
import { ChainStore } from '../src/storage/index.js';
import { NetworkLoad } from './network-load.js';

interface Status {
  readonly height: number;
  readonly blockHash: string;
  readonly appHash: string;
  readonly proposer: string;
  readonly nodeKeyId: string;
  readonly halted: string | null;
  readonly alarms: { kind: string; reason: string }[];
}

async function statusOf(url: string): Promise<Status> {
  const response = await fetch(`${url}/ledger/status`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as Status;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once the nodes at `indexes`, asked together, answer with one height, block hash and
 * app hash: under load they move on, so a moment where they stand level is what is looked for.
 */
async function converged(
  plan: NetworkPlan,
  indexes: readonly number[],
  timeoutMs = 90_000,
): Promise<Status> {
  let agreed: Status | undefined;
  await waitFor(
    'the nodes to agree',
    async () => {
      const heads = await Promise.all(indexes.map((i) => statusOf(plan.nodes[i]!.url)));
      const same = heads.every(
        (head) =>
          head.height === heads[0]!.height &&
          head.blockHash === heads[0]!.blockHash &&
          head.appHash === heads[0]!.appHash,
      );
      if (same) agreed = heads[0];
      return same;
    },
    timeoutMs,
  );
  return agreed!;
}

/** Resolves once the node at `index` has committed past `height`. */
async function committedPast(
  plan: NetworkPlan,
  index: number,
  height: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `${plan.nodes[index]!.orgId} to commit past ${height}`,
    async () => (await statusOf(plan.nodes[index]!.url)).height > height,
    timeoutMs,
  );
}

function kill(plan: NetworkPlan, name: string): void {
  process.kill(plan.pids[name]!, 'SIGKILL');
}

async function untilDead(plan: NetworkPlan, name: string): Promise<void> {
  await waitFor(`${name} to exit`, async () => !isAlive(plan.pids[name]!), 10_000);
}

async function nodeUp(plan: NetworkPlan, index: number): Promise<void> {
  await waitFor(
    `${plan.nodes[index]!.orgId} to answer`,
    async () => (await fetch(`${plan.nodes[index]!.url}/ledger/status`)).ok,
    60_000,
  );
}

/** The ledger ids of FHIR Observations `ids`, from every node's pseudonym map (each knows the records it wrote or can read). */
async function ledgerIdsOf(
  plan: NetworkPlan,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const node of plan.nodes) {
    const pseudonyms = new Pseudonyms(join(node.dataDir, 'pseudonyms.db'));
    for (const id of ids) {
      const recordId = pseudonyms.recordIdOf('Observation', id);
      if (recordId !== undefined) found.set(id, recordId);
    }
    await pseudonyms.close();
  }
  return found;
}

/** The transactions of a node's chain, by txId, with how often each occurs; and which FHIR records (by ledger id) it does not anchor. */
function chainOf(
  dataDir: string,
  recordIds: ReadonlyMap<string, string>,
): { txIds: Map<string, number>; missingRecords: string[] } {
  const store = ChainStore.open(join(dataDir, 'chain.db'), standardExecutor().tables, {
    readonly: true,
  });
  try {
    const txIds = new Map<string, number>();
    for (let leafIndex = 0, tx = store.tx(0); tx !== undefined; tx = store.tx(++leafIndex)) {
      const txId = txIdOf(tx.bytes);
      txIds.set(txId, (txIds.get(txId) ?? 0) + 1);
    }
    const missingRecords = [...recordIds]
      .filter(
        ([, recordId]) => store.state.get(VERSION_TABLE, versionKey(recordId, 1)) === undefined,
      )
      .map(([id]) => id);
    return { txIds, missingRecords };
  } finally {
    store.close();
  }
}

test(
  'a three-organisation network keeps every acknowledged write, once, through node, etcd, restart, partition and tamper faults',
  { timeout: 600_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chartchain-network-faults-'));
    const loads: NetworkLoad[] = [];
    t.after(async () => {
      // A failed step leaves its load running; stopped here, the process can end.
      await Promise.all(loads.map((running) => running.stop()));
      await networkDown(dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });
    let plan = await networkUp({ dir, orgs: 3, network: 'faults', demo: true });
    // The demo is seeded once every node serves: wait for the practice's patient.
    await waitFor(
      'the demo practice to seed',
      async () =>
        (
          await fetch(`${plan.nodes[0]!.url}/ledger/status`).then(
            (r) => r.json() as Promise<Status>,
          )
        ).height >= 8,
      60_000,
    );
    let load = await NetworkLoad.start(plan);
    loads.push(load);
    const tallies = [];
    const all = [0, 1, 2];

    await t.test(
      'the proposer node is killed with SIGKILL; another proposes and it catches up on restart',
      async () => {
        await pause(2_000);
        const heads = await Promise.all(plan.nodes.map((node) => statusOf(node.url)));
        const victim = heads.findIndex((head) => head.nodeKeyId === heads[0]!.proposer);
        assert.ok(victim >= 0, 'the newest block names a member as its proposer');
        const others = all.filter((i) => i !== victim);
        const before = heads[others[0]!]!.height;
        load.paused.add(victim);
        kill(plan, plan.nodes[victim]!.orgId);
        await untilDead(plan, plan.nodes[victim]!.orgId);
        await committedPast(plan, others[0]!, before + 2);
        restartNode(plan, victim);
        await nodeUp(plan, victim);
        load.paused.delete(victim);
        await converged(plan, all);
      },
    );

    await t.test(
      'one etcd member, then the etcd leader, are killed and restarted; the nodes go on',
      async () => {
        const follower = (
          await Promise.all(plan.etcd.map((member) => isEtcdLeader(member.clientUrl)))
        ).findIndex((leader) => !leader);
        kill(plan, plan.etcd[follower]!.name);
        load.paused.add(follower);
        await pause(2_000);
        const leader = (
          await Promise.all(
            plan.etcd.map((member, i) =>
              i === follower ? false : isEtcdLeader(member.clientUrl).catch(() => false),
            ),
          )
        ).findIndex(Boolean);
        assert.ok(leader >= 0, 'the two remaining members have a leader');
        restartEtcdMember(plan, follower);
        await pause(2_000);
        load.paused.delete(follower);
        const before = (await statusOf(plan.nodes[follower]!.url)).height;
        kill(plan, plan.etcd[leader]!.name);
        load.paused.add(leader);
        await committedPast(plan, follower, before + 2);
        restartEtcdMember(plan, leader);
        load.paused.delete(leader);
        await converged(plan, all);
      },
    );

    await t.test('everything is stopped and started again', async () => {
      tallies.push(await load.stop());
      await networkDown(dir);
      plan = await networkUp({ dir, orgs: 3, network: 'faults', demo: false });
      load = await NetworkLoad.start(plan);
      loads.push(load);
      await pause(3_000);
      await converged(plan, all);
    });

    await t.test(
      'a node cut off from the cluster serves what it has, and catches up once healed',
      async () => {
        const cut = 2;
        const before = (await statusOf(plan.nodes[cut]!.url)).height;
        kill(plan, plan.etcd[cut]!.name);
        await pause(3_000);
        const isolated = await statusOf(plan.nodes[cut]!.url);
        assert.ok(isolated.height >= before, 'the cut-off node still answers');
        await committedPast(plan, 0, isolated.height + 2);
        restartEtcdMember(plan, cut);
        await converged(plan, all);
      },
    );

    tallies.push(await load.stop());
    const created = tallies.flatMap((tally) => tally.created);
    const acknowledged = tallies.flatMap((tally) => tally.acknowledged);
    t.diagnostic(
      `load: ${created.length} FHIR creates, ${acknowledged.length} ledger transactions acknowledged; answers ${JSON.stringify(tallies.map((tally) => tally.statuses))}; 5xx said ${JSON.stringify(tallies.flatMap((tally) => tally.serverErrors))}`,
    );
    assert.ok(created.length > 10 && acknowledged.length > 100, 'the load ran');
    const head = await converged(plan, all);

    await t.test(
      "a byte flipped in one node's chain database stops that node with an alarm; the others go on",
      async () => {
        const tampered = 1;
        await networkDown(dir);
        // One byte of the newest block's stored header (a hex digit of its appHash), changed where
        // SQLite keeps it live: a flip in a free page would change nothing the node reads.
        const db = new Database(join(plan.nodes[tampered]!.dataDir, 'chain.db'));
        const row = db
          .prepare('SELECT height, header FROM block ORDER BY height DESC LIMIT 1')
          .get() as { height: number; header: string };
        const at = row.header.indexOf('"appHash":"') + '"appHash":"'.length;
        assert.ok(row.header.includes('"appHash":"'), 'the newest header holds its appHash');
        db.prepare('UPDATE block SET header = ? WHERE height = ?').run(
          row.header.slice(0, at) + (row.header[at] === '0' ? '1' : '0') + row.header.slice(at + 1),
          row.height,
        );
        db.close();
        // The tampered node refuses to open; network up names it and leaves the others running.
        await assert.rejects(
          networkUp({ dir, orgs: 3, network: 'faults', demo: false }),
          (error: unknown) =>
            error instanceof NodesStoppedError &&
            error.nodes.map((node) => node.orgId).join() === plan.nodes[tampered]!.orgId,
        );
        plan = readPlan(dir)!;
        const healthy = await NetworkLoad.start(plan);
        loads.push(healthy);
        const log = readFileSync(plan.nodes[tampered]!.logFile, 'utf8');
        assert.match(
          log,
          /block \d+ \(the newest\) header does not match its stored hash/,
          'the log names what it found',
        );
        await committedPast(plan, 0, head.height + 1);
        await healthy.stop();
        // Every node that goes on holds what the first committed before the network stops:
        // a node a block behind at shutdown is not a lost write.
        const final = (await statusOf(plan.nodes[0]!.url)).height;
        for (const index of plan.nodes.keys())
          if (index !== tampered) await committedPast(plan, index, final - 1);
      },
    );

    await networkDown(dir);
    const ledgerIds = await ledgerIdsOf(plan, created);
    assert.deepEqual(
      created.filter((id) => !ledgerIds.has(id)),
      [],
      'every created record is known by its ledger id to the node that wrote it',
    );
    for (const [index, node] of plan.nodes.entries()) {
      const chain = chainOf(node.dataDir, ledgerIds);
      const doubled = [...chain.txIds].filter(([, count]) => count > 1).map(([txId]) => txId);
      assert.deepEqual(doubled, [], `${node.orgId}: no transaction twice`);
      if (index === 1) continue;
      assert.deepEqual(
        acknowledged.filter((txId) => !chain.txIds.has(txId)),
        [],
        `${node.orgId}: every acknowledged transaction committed`,
      );
      assert.deepEqual(chain.missingRecords, [], `${node.orgId}: every created record anchored`);
    }
  },
);
