/**
 * npm run bench:access [-- --reads N]
 *
 * On the embedded node (solo orderer, SQLite, blobs on disk), for 2 KB Observations readable
 * under an active consent grant:
 *   plain read        decrypt + verify, no consent check and no access log (the floor)
 *   full path         decide from contract state + durable access transaction + decrypt + verify,
 *                     one read at a time, so its latency compares with the plain read's
 *   accessTxPerSec    full-path reads with 64 in flight, counted until every access
 *                     transaction is committed (the log is batched into blocks)
 *   eventLoopDelayP99Ms  the event loop's delay while those reads run (block commits block it)
 *   fsyncP99Ms        p99 of a plain fsync of a small file in the data directory, this run
 * The last line is JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes } from '../src/crypto/index.js';
import {
  MEMBERSHIP_REGISTER_PATIENT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
  type Principal,
} from '../src/contracts/index.js';
import { ChartChainNode } from '../src/node/index.js';
import { fsyncP99Ms, percentile, watchEventLoopDelay } from './bench-util.js';

const reads = Number(process.argv[process.argv.indexOf('--reads') + 1] || 3000) || 3000;
const RECORDS = 200;
const IN_FLIGHT = 64;

function summary(latenciesMs: number[]): { p50: number; p99: number } {
  const sorted = [...latenciesMs].sort((x, y) => x - y);
  return {
    p50: Number(percentile(sorted, 50).toFixed(3)),
    p99: Number(percentile(sorted, 99).toFixed(3)),
  };
}

function resource(i: number) {
  const note = 'Patient reports intermittent chest tightness on exertion, relieved by rest. '
    .repeat(24)
    .slice(0, 1900);
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { text: `note ${i}` },
    valueString: note,
  };
}

async function committed(
  node: ChartChainNode,
  tx: Parameters<ChartChainNode['submit']>[0],
): Promise<void> {
  const result = await node.submit(tx);
  if (!result.ok) throw new Error(result.reason);
  const status = (await node.waitForTx(result.txId)).status;
  if (status !== 'ok') throw new Error(status);
}

async function setUp(node: ChartChainNode): Promise<string[]> {
  const practitioner = node.records.enrol('practitioner', 'dr-bench');
  const patient = node.records.enrol('patient', 'patient-0001');
  await committed(
    node,
    node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, {
      practitionerId: 'dr-bench',
      ...practitioner,
    }),
  );
  await committed(
    node,
    node.signAsOrg(MEMBERSHIP_REGISTER_PATIENT, {
      patientId: 'patient-0001',
      custody: 'custodial',
      ...patient,
    }),
  );
  const recordIds: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const write = await node.records.write({
      practitionerId: 'dr-bench',
      patientId: 'patient-0001',
      resource: resource(i),
    });
    const result = await node.submit(write.tx);
    if (!result.ok) throw new Error(result.reason);
    recordIds.push(write.recordId);
  }
  const terms = {
    grantee: { kind: 'practitioner' as const, id: 'dr-bench' },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  const status = await node.consent.grant('patient-0001', 'grant-bench', terms);
  if (status !== 'ok') throw new Error(status);
  await node.consent.settled();
  return recordIds;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-access-'));
  try {
    // Opt-in, so every read is decided under the grant, as the published figures were.
    ChartChainNode.init(dir, {
      orgId: 'bench-practice',
      orgName: 'Benchmark Practice',
      network: 'bench',
      consentModel: 'opt-in',
    });
    const node = await ChartChainNode.open(dir);
    const recordIds = await setUp(node);
    const principal: Principal = { kind: 'practitioner', id: 'dr-bench', org: 'bench-practice' };
    console.log(
      `bench:access: ${reads} reads of ~2 KB Observations, ${RECORDS} records, data in ${dir}`,
    );

    const plain: number[] = [];
    for (let i = 0; i < reads; i++) {
      const started = performance.now();
      node.records.read(
        { kind: 'practitioner', practitionerId: 'dr-bench' },
        recordIds[i % RECORDS]!,
      );
      plain.push(performance.now() - started);
    }
    const full: number[] = [];
    for (let i = 0; i < reads; i++) {
      const started = performance.now();
      const result = await node.access.read(principal, recordIds[i % RECORDS]!, {
        purpose: 'TREAT',
      });
      full.push(performance.now() - started);
      if (result.outcome !== 'permit') throw new Error(`read ${i} denied: ${result.reason}`);
    }
    console.log(
      `plain read ${JSON.stringify(summary(plain))} ms, full path ${JSON.stringify(summary(full))} ms`,
    );

    const txIds: string[] = [];
    let next = 0;
    const loop = watchEventLoopDelay();
    const started = performance.now();
    const reader = async (): Promise<void> => {
      while (next < reads) {
        const result = await node.access.read(principal, recordIds[next++ % RECORDS]!, {
          purpose: 'TREAT',
        });
        txIds.push(result.txId);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, reader));
    for (const txId of txIds)
      if ((await node.waitForTx(txId, 60_000)).status !== 'ok')
        throw new Error(`access ${txId} failed`);
    const accessTxPerSec = Math.round(reads / ((performance.now() - started) / 1000));
    const eventLoopDelayP99Ms = loop.stop();
    console.log(
      `access transactions: ${accessTxPerSec}/s committed with ${IN_FLIGHT} reads in flight`,
    );
    await node.close();
    const fsyncMs = fsyncP99Ms(dir);

    const plainMs = summary(plain);
    const fullMs = summary(full);
    console.log(
      JSON.stringify({
        fullPathP50Ms: fullMs.p50,
        fullPathP99Ms: fullMs.p99,
        plainReadP50Ms: plainMs.p50,
        plainReadP99Ms: plainMs.p99,
        p99Ratio: Number((fullMs.p99 / plainMs.p99).toFixed(2)),
        accessTxPerSec,
        eventLoopDelayP99Ms,
        fsyncP99Ms: fsyncMs,
        reads,
        resourceBytes: canonicalBytes(resource(0)).byteLength,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
