/**
 * kill -9 durability of a real `chartchain start` process. Several lanes submit transactions
 * over HTTP concurrently; the node is SIGKILLed at a random moment while they are in flight,
 * three times, and restarted on the same data directory. Every transaction that got a 202 must
 * end up committed with status ok, exactly once; the chain must stay whole and contiguous, and
 * `chartchain verify` must accept the data directory, both right after each kill and at the end.
 *
 * Each lane signs with its own organisation key and waits for each answer before sending the
 * next transaction: nonces must reach the orderer in order, which concurrent requests from one
 * signer cannot promise. The extra organisations are admitted by vote during setup; the
 * founding organisation is the node's own and runs no lane, since the node signs with its key.
 *
 * Reads go through FHIR all along: a reader logs in once (the session must outlive every
 * restart) and reads a record and searches while the lanes run, so acknowledged access logs
 * signed by the node are queued at each kill; and right after each restart, before anything has
 * drained, it reads and searches again. No read may answer 5xx, from the first request on.
 */
import { verifyDataDir } from '../src/verifier/index.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { freePort } from '../src/cli/free-port.js';
import { login } from '../src/cli/login.js';
import { generateSigningKey, toHex, type SigningKey } from '../src/crypto/index.js';
import {
  encodeTransaction,
  signTransaction,
  txIdOf,
  type Block,
  type JsonObject,
  type Transaction,
} from '../src/ledger/index.js';
import {
  NONCE_TABLE,
  standardExecutor,
  type GrantTerms,
  type Principal,
} from '../src/contracts/index.js';
import { FhirService } from '../src/fhir/index.js';
import { ChartChainNode } from '../src/node/index.js';
import { ChainStore } from '../src/storage/index.js';
import { orgToken } from '../src/cli/org-client.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');
/** Organisations: the founder (this node) and one per concurrent submitter. */
const LANE_COUNT = 12;
/** Reads and searches sent at once right after each restart. */
const RESTART_READ_COUNT = 24;
/** The demo practitioner who reads, with the demo password (see src/api/auth/demo-users.ts). */
const READER = { user: 'dr-ada', password: 'chartchain-demo', scope: 'user/*.cruds' } as const;
const PATIENT_ID = 'patient-0001';
/** Submissions per round, all lanes together: the round is killed well before reaching it. */
const ROUND_TX_COUNT_MAX = 6000;
/**
 * Per round: the kill comes once `ackedBeforeKill` submissions are acknowledged, plus a random
 * delay; with `onAck` it then waits for the next 202 and kills at once, so that at least that
 * transaction is durable in the queue but not yet in a block.
 */
const ROUNDS = [
  { ackedBeforeKill: 20, delayMsMax: 150, onAck: false },
  { ackedBeforeKill: 300, delayMsMax: 800, onAck: false },
  { ackedBeforeKill: 900, delayMsMax: 1200, onAck: true },
] as const;
const STARTUP_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 30_000;

interface Lane {
  readonly name: string;
  readonly key: SigningKey;
  nonce: number;
}

interface RunningNode {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
  readonly output: () => string;
}

function sign(lane: Lane, type: string, body: JsonObject): Transaction {
  lane.nonce += 1;
  return signTransaction({ type, nonce: lane.nonce, body }, lane.key);
}

function patientBody(patientId: string): JsonObject {
  return {
    patientId,
    signingKey: toHex(generateSigningKey().publicKey),
    encryptionKey: '11'.repeat(32),
    custody: 'self',
  };
}

// ---------------------------------------------------------------------------------------------
// Setup: a founding organisation and LANE_COUNT − 1 more, admitted by majority vote.

async function commitInProcess(
  node: ChartChainNode,
  txs: readonly Transaction[],
): Promise<string[]> {
  const results = await Promise.all(txs.map((tx) => node.submit(tx)));
  const txIds = results.map((result) => {
    assert.ok(result.ok, JSON.stringify(result));
    return result.txId;
  });
  for (const record of await Promise.all(txIds.map((txId) => node.waitForTx(txId, 10_000))))
    assert.equal(record.status, 'ok');
  return txIds;
}

/**
 * Enrols the demo practitioner (so `chartchain start` lets the demo users log in) and writes a
 * patient who consents to the practice, with one Observation; resolves with its id.
 */
async function seedRecord(node: ChartChainNode): Promise<string> {
  const keys = node.records.enrol('practitioner', READER.user);
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-practitioner', {
          practitionerId: READER.user,
          ...keys,
        }),
      )
    ).status,
    'ok',
  );
  const service = new FhirService(node);
  try {
    const doctor: Principal = { kind: 'practitioner', id: READER.user, org: node.config.orgId };
    await service.records.update(doctor, 'Patient', PATIENT_ID, {
      resourceType: 'Patient',
      id: PATIENT_ID,
      gender: 'female',
      birthDate: '1961-04-12',
    });
    const terms: GrantTerms = {
      grantee: { kind: 'organisation', id: node.config.orgId },
      actions: ['read', 'write'],
      resourceTypes: [],
      recordIds: [],
      excludeLabels: [],
      purposes: ['TREAT'],
      period: { start: 0, end: null },
    };
    assert.equal(
      await node.consent.grant(node.pseudonyms.patientIdOf(PATIENT_ID)!, 'crash-consent', terms),
      'ok',
    );
    const observation = await service.records.create(doctor, {
      resourceType: 'Observation',
      status: 'final',
      code: {
        coding: [
          { system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' },
        ],
      },
      subject: { reference: `Patient/${PATIENT_ID}` },
      effectiveDateTime: '2026-11-01T09:30:00Z',
      valueQuantity: {
        value: 128,
        unit: 'mm[Hg]',
        system: 'http://unitsofmeasure.org',
        code: 'mm[Hg]',
      },
    });
    return String(observation.resource['id']);
  } finally {
    await service.close();
  }
}

/** Creates the network: the founder with a record to read, and LANE_COUNT − 1 organisations that submit. */
async function initWithLanes(dir: string): Promise<{ lanes: Lane[]; observationId: string }> {
  ChartChainNode.init(dir, { orgId: 'practice-0', orgName: 'Practice 0', network: 'crash-test' });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    const observationId = await seedRecord(node);
    // The founder votes here with the nonces after those the node signed while seeding, all committed.
    const lanes: Lane[] = [
      {
        name: 'practice-0',
        key: node.keys.signing,
        nonce: node.store.state.get(NONCE_TABLE, node.keys.signing.keyId) as number,
      },
    ];
    for (let i = 1; i < LANE_COUNT; i++) {
      const candidate: Lane = { name: `practice-${i}`, key: generateSigningKey(), nonce: 0 };
      const admit = {
        action: 'admit',
        orgId: candidate.name,
        name: `Practice ${i}`,
        signingKey: toHex(candidate.key.publicKey),
        encryptionKey: '22'.repeat(32),
      };
      const [proposalId] = await commitInProcess(node, [
        sign(lanes[0]!, 'membership.propose', admit),
      ]);
      // The proposer approves by proposing; a majority of the current members must approve.
      const votersNeeded = Math.floor(lanes.length / 2);
      await commitInProcess(
        node,
        lanes
          .slice(1, 1 + votersNeeded)
          .map((voter) =>
            sign(voter, 'membership.vote', { proposalId: proposalId!, approve: true }),
          ),
      );
      lanes.push(candidate);
    }
    return { lanes: lanes.slice(1), observationId };
  } finally {
    await node.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The node as a child process.

/** Starts `chartchain start` on `port`: the same at every restart, since tokens name the node's URL. */
function startNode(
  t: TestContext,
  dir: string,
  port: number,
  children: Set<ChildProcess>,
): Promise<RunningNode> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'start', '--data', dir, '--host', '127.0.0.1', '--port', String(port)],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exited.then(() => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onData = (): void => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      t.diagnostic(output.trim());
      resolve({ child, url: match[1]!, exited, output: () => output });
    };
    child.stdout!.on('data', onData);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

/** The organisation client's token, per node origin: the ledger's blocks and transactions are for auditors and the organisation. */
const tokens = new Map<string, Promise<string>>();

async function getJson(
  url: string,
  dir: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const origin = new URL(url).origin;
  if (!tokens.has(origin)) tokens.set(origin, orgToken(origin, dir));
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${await tokens.get(origin)!}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * POSTs `body` over a keep-alive connection (node:http carries about twice what fetch does here).
 * Calls `onStatus` as soon as the status line arrives, then resolves with the status and body.
 */
function post(
  agent: Agent,
  url: string,
  body: string,
  onStatus: (status: number) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers,
      },
      (response) => {
        onStatus(response.statusCode!);
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text }));
        response.on('error', () => resolve({ status: response.statusCode!, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Reads through FHIR.

interface Reader {
  /** A SMART access token of the demo practitioner, from a login before the first kill. */
  readonly token: string;
  readonly observationId: string;
}

/** A read of the Observation (even `i`) or a search for it (odd `i`); resolves with the status, body consumed. */
async function fhirRead(url: string, reader: Reader, i: number): Promise<number> {
  const path =
    i % 2 === 0
      ? `/fhir/Observation/${reader.observationId}`
      : `/fhir/Observation?patient=Patient/${PATIENT_ID}&_count=10`;
  const response = await fetch(url + path, {
    headers: { authorization: `Bearer ${reader.token}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * Right after a restart, before the queue has drained: RESTART_READ_COUNT reads and searches
 * at once, with the session from before the kill. Every one is served.
 */
async function readAfterRestart(t: TestContext, url: string, reader: Reader): Promise<void> {
  const started = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: RESTART_READ_COUNT }, (_, i) => fhirRead(url, reader, i)),
  );
  assert.deepEqual(
    statuses.filter((status) => status !== 200),
    [],
    'every read and search right after a restart is served, with the session from before it',
  );
  t.diagnostic(
    `${RESTART_READ_COUNT} FHIR reads and searches right after the start served in ${Date.now() - started} ms`,
  );
}

// ---------------------------------------------------------------------------------------------
// Load, and the kill.

interface RoundResult {
  readonly acked: string[];
  /** FHIR reads and searches answered while the lanes ran. */
  readonly reads: number;
  readonly submitted: number;
  readonly inFlightAtKill: number;
  readonly killedAtAcked: number;
  readonly ms: number;
}

/**
 * Runs every lane against `node` until it is killed: once `ackedBeforeKill` submissions are
 * acknowledged, waits a random delay below `delayMsMax` (then, with `onAck`, for the next 202)
 * and SIGKILLs it mid-stream.
 */
async function loadAndKill(
  node: RunningNode,
  lanes: readonly Lane[],
  reader: Reader,
  round: (typeof ROUNDS)[number],
  roundIndex: number,
): Promise<RoundResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: lanes.length });
  const started = Date.now();
  const acked: string[] = [];
  const refused: string[] = [];
  let submitted = 0;
  let inFlight = 0;
  let armed = false;
  let moment: { inFlightAtKill: number; killedAtAcked: number } | undefined;
  const kill = (): void => {
    if (moment !== undefined) return;
    moment = { inFlightAtKill: inFlight, killedAtAcked: acked.length };
    node.child.kill('SIGKILL');
  };
  const runLane = async (lane: Lane): Promise<void> => {
    while (moment === undefined && submitted < ROUND_TX_COUNT_MAX) {
      const tx = sign(
        lane,
        'membership.register-patient',
        patientBody(`r${roundIndex}-${lane.name}-${lane.nonce + 1}`),
      );
      const txId = txIdOf(encodeTransaction(tx));
      submitted += 1;
      inFlight += 1;
      // A 202 is the acknowledgement: the transaction is durable from here on, body read or not.
      const onStatus = (status: number): void => {
        inFlight -= 1;
        if (status !== 202) {
          refused.push(`${status}`);
          return;
        }
        acked.push(txId);
        if (armed) kill();
      };
      let response: { status: number; body: string };
      try {
        response = await post(agent, `${node.url}/ledger/tx`, JSON.stringify(tx), onStatus);
      } catch {
        return; // The node is gone; this submission may or may not have been queued.
      }
      if (response.status === 202 && moment === undefined)
        assert.equal(
          (JSON.parse(response.body) as { txId: string }).txId,
          txId,
          'the node names the txId the client computed',
        );
    }
  };
  // One reader alongside the lanes: each read queues an access log the node signs, so the kill
  // leaves some acknowledged and uncommitted, with nonces the restarted node must sign above.
  const readStatuses: number[] = [];
  const runReader = async (): Promise<void> => {
    for (let i = 0; moment === undefined; i++) {
      try {
        readStatuses.push(await fhirRead(node.url, reader, i));
      } catch {
        return; // The node is gone.
      }
    }
  };
  const readerDone = runReader();
  const lanesDone = Promise.all(lanes.map(runLane));
  // Should the lanes ever stop first, kill anyway, so the in-flight assertion fails rather than the test hanging.
  void lanesDone.then(kill, kill);
  let exited = false;
  void node.exited.then(() => (exited = true));
  const killer = (async (): Promise<void> => {
    while (acked.length < round.ackedBeforeKill) {
      assert.ok(!exited, `the node runs until it is killed:\n${node.output()}`);
      assert.ok(
        submitted < ROUND_TX_COUNT_MAX,
        'the kill comes before the round runs out of submissions',
      );
      await sleep(2);
    }
    await sleep(Math.floor(Math.random() * round.delayMsMax));
    if (round.onAck) armed = true;
    else kill();
  })();
  const [, [, signal]] = await Promise.all([killer, node.exited, lanesDone, readerDone]);
  agent.destroy();
  assert.equal(signal, 'SIGKILL', `the node died of the kill, not on its own:\n${node.output()}`);
  assert.deepEqual(refused, [], 'no submission is refused while the node runs');
  assert.deepEqual(
    readStatuses.filter((status) => status !== 200),
    [],
    'every read and search is served while the node runs',
  );
  return { acked, reads: readStatuses.length, submitted, ...moment!, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Checks after a restart.

/** Waits until the node's queue is empty and every id in `txIds` is committed; returns their records. */
async function drain(
  url: string,
  dir: string,
  txIds: readonly string[],
): Promise<Map<string, { status: string; height: number; leafIndex: number }>> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const { body } = await getJson(`${url}/ledger/status`, dir);
    if (body['pending'] === 0) break;
    assert.ok(
      Date.now() < deadline,
      `pending drains within ${DRAIN_TIMEOUT_MS} ms (still ${String(body['pending'])})`,
    );
    await sleep(50);
  }
  const records = new Map<string, { status: string; height: number; leafIndex: number }>();
  const missing: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < txIds.length) {
      const txId = txIds[next++]!;
      const { status, body } = await getJson(`${url}/ledger/tx/${txId}`, dir);
      if (status !== 200 || body['status'] === 'pending')
        missing.push(`${txId}: ${status} ${JSON.stringify(body)}`);
      else records.set(txId, body as { status: string; height: number; leafIndex: number });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.deepEqual(
    missing.slice(0, 5),
    [],
    `${missing.length} acknowledged transactions are not committed after a restart`,
  );
  return records;
}

/**
 * Fetches every block over HTTP and checks the chain is contiguous and each block whole: its
 * height, its link to the previous hash, and as many transactions as its logSize grew by.
 * Returns each transaction's place, by txId.
 */
async function checkBlocks(
  url: string,
  dir: string,
): Promise<Map<string, { height: number; leafIndex: number; status: string }>> {
  const { body: status } = await getJson(`${url}/ledger/status`, dir);
  const headHeight = status['height'] as number;
  const placed = new Map<string, { height: number; leafIndex: number; status: string }>();
  let previous: { hash: string; logSize: number } | undefined;
  for (let height = 0; height <= headHeight; height++) {
    const { status: code, body } = await getJson(`${url}/ledger/blocks/${height}`, dir);
    assert.equal(code, 200, `block ${height} is served: ${JSON.stringify(body)}`);
    const block = body as unknown as Block & { hash: string };
    assert.equal(block.header.height, height);
    assert.equal(
      block.header.prevHash,
      previous?.hash ?? '0'.repeat(64),
      `block ${height} links to block ${height - 1}`,
    );
    const logSizeBefore = previous?.logSize ?? 0;
    assert.equal(
      block.txs.length,
      block.header.logSize - logSizeBefore,
      `block ${height} holds every transaction its logSize counts`,
    );
    assert.ok(block.txs.length > 0, `block ${height} is not empty`);
    block.txs.forEach((entry, i) => {
      const txId = txIdOf(encodeTransaction(entry.tx));
      assert.ok(
        !placed.has(txId),
        `transaction ${txId} is committed once, not again at height ${height}`,
      );
      placed.set(txId, { height, leafIndex: logSizeBefore + i, status: entry.status });
    });
    previous = { hash: block.hash, logSize: block.header.logSize };
  }
  assert.equal(
    previous?.hash,
    status['blockHash'],
    'the last block is the head the status reports',
  );
  return placed;
}

/** How many of `txIds` are in no block stored in `dir`. Reads the blocks, not state, which may lag them. */
function uncommitted(dir: string, txIds: readonly string[]): number {
  const store = ChainStore.open(join(dir, 'chain.db'), standardExecutor().tables, {
    readonly: true,
  });
  try {
    const inBlocks = new Set<string>();
    for (let leafIndex = 0; leafIndex < (store.head()?.logSize ?? 0); leafIndex++)
      inBlocks.add(txIdOf(store.tx(leafIndex)!.bytes));
    return txIds.filter((txId) => !inBlocks.has(txId)).length;
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------

// Four starts of a child process, each compiling the CLI, dominate: about a minute on a quiet
// two-core machine, twice that on a busy one.
test(
  'every acknowledged transaction survives kill -9, three times over',
  { timeout: 240_000 },
  async (t) => {
    const began = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'chartchain-crash-'));
    const children = new Set<ChildProcess>();
    t.after(async () => {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(
        [...children].map((child) =>
          child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined,
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    });

    const { lanes, observationId } = await initWithLanes(dir);
    t.diagnostic(`setup: ${lanes.length} lanes and a record to read in ${Date.now() - began} ms`);
    const port = await freePort('127.0.0.1');
    const acked: string[] = [];
    let queuedAtKills = 0;
    let reader: Reader | undefined;
    for (const [index, round] of ROUNDS.entries()) {
      const node = await startNode(t, dir, port, children);
      t.diagnostic(`start ${index} listening at ${Date.now() - began} ms`);
      // One login, before the first kill: the session must survive every restart.
      reader ??= {
        token: (await login(node.url, READER.user, READER.password, READER.scope)).access_token,
        observationId,
      };
      await readAfterRestart(t, node.url, reader);
      // What earlier rounds acknowledged is committed once the node has caught up after the kill.
      await drain(node.url, dir, acked);
      const result = await loadAndKill(node, lanes, reader, round, index);
      t.diagnostic(
        `round ${index}: ${result.submitted} submitted, ${result.acked.length} acknowledged and ${result.reads} FHIR reads served in ${result.ms} ms; killed at ${result.killedAtAcked} acknowledged with ${result.inFlightAtKill} in flight`,
      );
      assert.ok(result.inFlightAtKill > 0, 'the kill came while submissions were in flight');
      assert.ok(result.acked.length >= round.ackedBeforeKill);
      acked.push(...result.acked);
      // The directory a kill -9 leaves behind is a valid chain, before any recovery runs.
      const summary = await verifyDataDir(dir, { poolSize: 1 });
      const queued = uncommitted(dir, result.acked);
      queuedAtKills += queued;
      t.diagnostic(
        `after kill ${index}: ${summary.blocks} blocks, ${summary.txs} transactions verify; ${queued} acknowledged transactions were queued, not yet committed`,
      );
    }

    // Most kills catch some; the one on an acknowledgement all but surely does.
    assert.ok(
      queuedAtKills > 0,
      'some kill caught acknowledged transactions still queued, so recovery replayed the queue',
    );

    const node = await startNode(t, dir, port, children);
    await readAfterRestart(t, node.url, reader!);
    const records = await drain(node.url, dir, acked);
    const placed = await checkBlocks(node.url, dir);
    for (const txId of acked) {
      const record = records.get(txId)!;
      assert.equal(record.status, 'ok', `acknowledged ${txId} committed with status ok`);
      assert.deepEqual(
        placed.get(txId),
        { height: record.height, leafIndex: record.leafIndex, status: 'ok' },
        `${txId} sits in its block where the lookup says`,
      );
    }
    const notOk = [...placed].filter(([, place]) => place.status !== 'ok');
    assert.deepEqual(notOk, [], 'nonces stayed in order across every crash: no transaction failed');
    t.diagnostic(
      `${acked.length} acknowledged of ${placed.size} committed transactions in ${placed.size === 0 ? 0 : [...placed.values()].at(-1)!.height + 1} blocks`,
    );

    node.child.kill('SIGTERM');
    const [code] = await node.exited;
    assert.equal(code, 0, `node stops cleanly on SIGTERM:\n${node.output()}`);
    const verified = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'verify', '--data', dir, '--no-progress'],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`^ok: \\d+ blocks, ${placed.size} transactions`));
  },
);

test('a transaction still queued at a restart is reported pending, and its resubmission refused as a duplicate', async (t) => {
  // A restart after a clean close leaves the queue on disk exactly as kill -9 does; a long
  // batch timeout keeps the transaction queued while the restarted node is asked about it.
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-requeue-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-0',
    orgName: 'Practice 0',
    network: 'crash-test',
    orderer: { batchTimeoutMs: 60_000 },
  });
  const first = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const tx = first.signAsOrg('membership.register-patient', patientBody('patient-queued'));
  const submitted = await first.submit(tx);
  assert.ok(submitted.ok, JSON.stringify(submitted));
  await first.close();

  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    assert.equal(node.pendingCount, 1, 'the queue survived the restart');
    assert.deepEqual(node.lookupTx(submitted.txId), { txId: submitted.txId, status: 'pending' });
    const again = await node.submit(tx);
    assert.equal(again.ok ? 'accepted' : again.status, 'invalid:duplicate-txid');
  } finally {
    await node.close();
  }
});
