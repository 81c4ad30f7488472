/**
 * npm run bench:scale [-- --versions N] [--data DIR] [--json]
 *
 * Fills one embedded node (solo orderer, SQLite, blob segments), opened the way `chartchain
 * start` opens it, with N record versions (default 10^6) through the record write path: 2 KB
 * Observations, sealed, wrapped to three recipients, signed, ordered, executed and committed.
 * At 10^4 versions and again at N it measures:
 *   createsPerSec   over PROBE_WRITES writes with 256 in flight, until all are committed
 *   readP99Ms       over PROBE_READS reads of records picked at random among all written
 * then, with N versions on disk:
 *   startMs         closing the node and opening it again, in a fresh process, as `chartchain
 *                   start` does (chain, keystore, orphan-blob collection, validator, auth, HTTP)
 *   rssMiB          that process's resident set once started; peakRssMiB of the filling one
 *   bytesPerVersion the data directory's size on disk divided by N
 * and after a crash (a process that opened the node killed with SIGKILL):
 *   crashStartMs    how long the next start took until it served
 *   relearnMs       from then until /readyz answered 200: the FHIR ids and the search index
 *                   relearnt from the chain (searches answer 503 until then)
 *   relearnPeakRssMiB that process's peak resident set meanwhile
 * The fill writes outside FHIR, so that first relearning decrypts every record (the worst case:
 * no FHIR id pairs and an empty search index). Then the node is crashed and started again:
 *   secondCrashStartMs, secondCrashRelearnMs  the same two figures, now that every record has
 *                   its pair and index entry, as a node fed through FHIR would have
 * With --data, the filled node is kept in DIR (which must not exist yet) instead of removed.
 * The last line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, generateX25519 } from '../src/crypto/index.js';
import { openServer, type StartedNode, type StartFlags } from '../src/cli/node-commands.js';
import type { ChartChainNode } from '../src/node/index.js';
import { percentile } from './bench-util.js';
import {
  MEMBERSHIP_REGISTER_PATIENT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
} from '../src/contracts/index.js';

const versions =
  Number(process.argv[process.argv.indexOf('--versions') + 1] || 1_000_000) || 1_000_000;
const keptData = process.argv.includes('--data')
  ? process.argv[process.argv.indexOf('--data') + 1]
  : undefined;
const FIRST_PROBE_AT = 10_000;
const PROBE_WRITES = 3_000;
const PROBE_READS = 3_000;
const IN_FLIGHT = 256;
/** Each writer waits for its latest write to commit after this many: at most 8,192 queued. */
const COMMIT_EVERY_WRITES = 32;
const PATIENTS = 100;
/** Record ids kept to read back: a uniform sample of everything written. */
const SAMPLE_SIZE = 20_000;

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

class Filler {
  written = 0;
  readonly sample: string[] = [];
  readonly #grantee = toHex(generateX25519().publicKey);

  constructor(readonly node: ChartChainNode) {}

  /**
   * Writes until `total` versions exist; resolves when every write has committed. The solo
   * orderer commits in submission order, so each writer waits for its last transaction only.
   */
  async fillTo(total: number): Promise<void> {
    const writer = async (): Promise<void> => {
      let last: string | undefined;
      let sent = 0;
      while (this.written < total) {
        const i = this.written++;
        const write = await this.node.records.write({
          practitionerId: 'dr-scale',
          patientId: patientId(i % PATIENTS),
          resource: resource(i),
          extraRecipients: [this.#grantee],
        });
        const result = await this.node.submit(write.tx);
        if (!result.ok) throw new Error(result.reason);
        last = result.txId;
        this.#keep(write.recordId, i);
        // A client waits for its writes to commit now and then, so the queue stays bounded:
        // admission outpaces commits, and the node refuses a full queue (503).
        if ((sent += 1) % COMMIT_EVERY_WRITES === 0) await this.#committed(last);
      }
      if (last !== undefined) await this.#committed(last);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  }

  async #committed(txId: string): Promise<void> {
    if ((await this.node.waitForTx(txId, 60_000)).status !== 'ok')
      throw new Error(`write ${txId} failed`);
  }

  /** Reservoir sampling (Algorithm R): every record written is equally likely to be kept. */
  #keep(recordId: string, i: number): void {
    if (this.sample.length < SAMPLE_SIZE) this.sample.push(recordId);
    else {
      const slot = Math.floor(Math.random() * (i + 1));
      if (slot < SAMPLE_SIZE) this.sample[slot] = recordId;
    }
  }
}

function patientId(i: number): string {
  return `patient-${String(i).padStart(4, '0')}`;
}

async function committed(
  node: ChartChainNode,
  tx: Parameters<ChartChainNode['submit']>[0],
): Promise<void> {
  const result = await node.submit(tx);
  if (!result.ok) throw new Error(result.reason);
  if ((await node.waitForTx(result.txId)).status !== 'ok')
    throw new Error('setup transaction refused');
}

async function enrol(node: ChartChainNode): Promise<void> {
  await committed(
    node,
    node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, {
      practitionerId: 'dr-scale',
      ...node.records.enrol('practitioner', 'dr-scale'),
    }),
  );
  for (let i = 0; i < PATIENTS; i++) {
    await committed(
      node,
      node.signAsOrg(MEMBERSHIP_REGISTER_PATIENT, {
        patientId: patientId(i),
        custody: 'custodial',
        ...node.records.enrol('patient', patientId(i)),
      }),
    );
  }
}

/** Creates per second over PROBE_WRITES more writes, and the p99 of PROBE_READS reads of sampled records. */
async function probe(
  filler: Filler,
): Promise<{ versions: number; createsPerSec: number; readP99Ms: number }> {
  const at = filler.written;
  const started = performance.now();
  await filler.fillTo(at + PROBE_WRITES);
  const createsPerSec = Math.round(PROBE_WRITES / ((performance.now() - started) / 1000));
  const times: number[] = [];
  for (let i = 0; i < PROBE_READS; i++) {
    const recordId = filler.sample[Math.floor(Math.random() * filler.sample.length)]!;
    const readStarted = performance.now();
    filler.node.records.read({ kind: 'organisation' }, recordId);
    times.push(performance.now() - readStarted);
  }
  const readP99Ms = Number(
    percentile(
      times.sort((a, b) => a - b),
      99,
    ).toFixed(2),
  );
  console.log(`at ${at} versions: ${createsPerSec} creates/s, read p99 ${readP99Ms} ms`);
  return { versions: at, createsPerSec, readP99Ms };
}

function bytesUnder(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((sum, path) => {
    const stat = statSync(join(dir, path), { throwIfNoEntry: false });
    return sum + (stat?.isFile() === true ? stat.blocks * 512 : 0);
  }, 0);
}

const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);

interface FreshStart {
  startMs: number;
  rssMiB: number;
  readyMs: number;
  peakRssMiB: number;
}

/** Runs this script with `mode` on the node in `data`, in a new process. */
function inFreshProcess(data: string, mode: '--start-only' | '--crash-only') {
  return spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), mode, data],
    {
      encoding: 'utf8',
      timeout: 3_600_000,
    },
  );
}

/**
 * Opens the node in `data` in a new process, as `chartchain start` would, and reports how long
 * that took, its RSS, and how long until /readyz answered 200.
 */
function startInFreshProcess(data: string): FreshStart {
  const child = inFreshProcess(data, '--start-only');
  const last = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !last.startsWith('{'))
    throw new Error(`the start in a fresh process failed: ${child.stderr.slice(-2000)}`);
  return JSON.parse(last) as FreshStart;
}

/** Opens the node in `data` in a new process, which is killed with SIGKILL once it is open. */
function crashInFreshProcess(data: string): void {
  const child = inFreshProcess(data, '--crash-only');
  if (child.signal !== 'SIGKILL')
    throw new Error(`the crash did not come: ${child.stderr.slice(-2000)}`);
}

/**
 * `--start-only DIR`: open the node in DIR, print how long that took, the RSS, how long until
 * /readyz answered 200 and the peak RSS until then, close it. `--crash-only DIR`: open it and die.
 */
async function startOnly(data: string, crash: boolean): Promise<void> {
  const began = performance.now();
  const started = await openServer({
    data,
    demo: false,
    host: '127.0.0.1',
    port: '0',
    orgId: 'scale-practice',
    orgName: 'Scale Practice',
    network: 'bench',
  });
  if (crash) process.kill(process.pid, 'SIGKILL');
  const startMs = Math.round(performance.now() - began);
  const rssMiB = mib(process.memoryUsage().rss);
  let peakRss = process.memoryUsage().rss;
  const serving = performance.now();
  while ((await started.app.inject({ method: 'GET', url: '/readyz' })).statusCode !== 200) {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const readyMs = Math.round(performance.now() - serving);
  await started.close();
  console.log(JSON.stringify({ startMs, rssMiB, readyMs, peakRssMiB: mib(peakRss) }));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-scale-'));
  const flags: StartFlags = {
    data: keptData ?? join(dir, 'data'),
    demo: false,
    host: '127.0.0.1',
    port: '0',
    orgId: 'scale-practice',
    orgName: 'Scale Practice',
    network: 'bench',
  };
  let started: StartedNode | undefined;
  let peakRss = 0;
  const rssWatch = setInterval(
    () => (peakRss = Math.max(peakRss, process.memoryUsage().rss)),
    1000,
  );
  try {
    started = await openServer(flags);
    await enrol(started.node);
    console.log(
      `bench:scale: ${versions} versions of ~2 KB, 3 recipients each, data in ${flags.data}`,
    );
    const filler = new Filler(started.node);
    const fillStarted = performance.now();
    const progress = setInterval(
      () =>
        console.log(
          `  ${filler.written} versions, ${Math.round(filler.written / ((performance.now() - fillStarted) / 1000))}/s overall`,
        ),
      30_000,
    );
    await filler.fillTo(Math.min(FIRST_PROBE_AT, versions - 2 * PROBE_WRITES));
    const small = await probe(filler);
    await filler.fillTo(versions - PROBE_WRITES);
    const large = await probe(filler);
    clearInterval(progress);
    await started.close();
    started = undefined;

    const { startMs, rssMiB } = startInFreshProcess(flags.data);
    crashInFreshProcess(flags.data);
    const crashed = startInFreshProcess(flags.data);
    crashInFreshProcess(flags.data);
    const crashedAgain = startInFreshProcess(flags.data);
    const bytesPerVersion = Math.round(bytesUnder(flags.data) / filler.written);
    const result = {
      versions: filler.written,
      createsPerSecSmall: small.createsPerSec,
      readP99MsSmall: small.readP99Ms,
      smallAt: small.versions,
      createsPerSecLarge: large.createsPerSec,
      readP99MsLarge: large.readP99Ms,
      largeAt: large.versions,
      startMs,
      rssMiB,
      peakRssMiB: mib(Math.max(peakRss, process.memoryUsage().rss)),
      bytesPerVersion,
      crashStartMs: crashed.startMs,
      relearnMs: crashed.readyMs,
      relearnPeakRssMiB: crashed.peakRssMiB,
      secondCrashStartMs: crashedAgain.startMs,
      secondCrashRelearnMs: crashedAgain.readyMs,
    };
    console.log(
      `start of a fresh process with ${filler.written} versions: ${startMs} ms; RSS ${rssMiB} MiB (peak ${result.peakRssMiB} MiB); ${bytesPerVersion} bytes on disk per version`,
    );
    console.log(
      `start after a crash: ${crashed.startMs} ms, then ${crashed.readyMs} ms relearning from the chain (peak RSS ${crashed.peakRssMiB} MiB)`,
    );
    console.log(
      `start after a second crash: ${crashedAgain.startMs} ms, then ${crashedAgain.readyMs} ms catching up with the chain`,
    );
    console.log(JSON.stringify(result));
  } finally {
    clearInterval(rssWatch);
    await started?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const startOnlyAt = Math.max(
  process.argv.indexOf('--start-only'),
  process.argv.indexOf('--crash-only'),
);
await (startOnlyAt > 0
  ? startOnly(process.argv[startOnlyAt + 1]!, process.argv[startOnlyAt] === '--crash-only')
  : main());
