/**
 * npm run bench:fhir [-- --seconds N]
 *
 * Over HTTP with autocannon against the embedded node on a free loopback port, with a SMART
 * token for the demo practitioner:
 *   createPerSec            POST /fhir/Observation: validate, encrypt, anchor, commit
 *   createLedgerOffPerSec   the same with the ledger off (seal-only-ledger.ts: sealed, stored
 *                           and indexed, never signed into a block), so off ÷ on is the
 *                           ledger's overhead
 *   readP50Ms / readP99Ms   GET /fhir/Observation/[id]: consent check, durable access log, decrypt
 *                           (2,000 one at a time, timed to 0.01 ms by a client in this process)
 *   searchPerSec            GET /fhir/Observation?code=…&_count=10: index query, then ten
 *                           consent-checked, logged reads
 *   syntheaImportResourcesPerSec  every Synthea fixture (reference data, modern, legacy) posted
 *                           as Bundles through `chartchain import`'s code path, into a fresh node
 *   bulkExportResourcesPerSec  GET /fhir/Patient/$export of that import as the practice's
 *                           system client: kick-off, polling, every NDJSON file downloaded
 *   v2MessagesPerSec        ORU^R01 results of ten OBX each over MLLP (8 connections), each
 *                           acknowledged once its Bundle committed
 *   eventLoopDelayP99Ms     the server's event-loop delay during the creates with the ledger
 *                           (the load generator runs on a worker thread)
 *   eventLoopDelayLedgerOffP99Ms  the same during the creates with the ledger off
 *   eventLoopUtilization / eventLoopUtilizationLedgerOff  the share of those creates' time the
 *                           server's main thread was busy (1 = never idle)
 *   ledgerTurns / ledgerTurnsOver1msShare / ledgerTurnP99AtMostMs  turns of ledger work on the
 *                           event loop during the creates with the ledger (from /metrics): how
 *                           many, the share that held it over 1 ms, and the histogram bucket
 *                           holding the p99 (its upper bound)
 * The last line is JSON.
 */
import { performance } from 'node:perf_hooks';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { AuthServer, buildServer, createDemoUsers } from '../src/api/index.js';
import { parseScopes } from '../src/api/auth/index.js';
import { publicClients } from '../src/cli/demo-clients.js';
import { freePort } from '../src/cli/free-port.js';
import { bundleFiles, importBundles } from '../src/cli/import.js';
import { seedDemo } from '../src/cli/demo-seed.js';
import { loadValidator, type RecordLedger } from '../src/fhir/index.js';
import { ChartChainNode } from '../src/node/index.js';
import { mllpExchange } from '../src/api/testonly/mllp-client.js';
import {
  percentile,
  watchEventLoopDelay,
  watchLedgerTurns,
  type LedgerTurns,
} from './bench-util.js';
import { sealOnlyLedger } from './seal-only-ledger.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 15) || 15;
// Enough in flight to fill blocks: each create waits for its block (the orderer cuts every 50 ms).
const CONNECTIONS = 128;

const OBSERVATION = JSON.stringify({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/observation-category',
          code: 'vital-signs',
        },
      ],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/patient-0001' },
  effectiveDateTime: '2026-11-01T09:30:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

interface Served {
  readonly url: string;
  readonly token: string;
  readonly systemToken: string;
  readonly mllpPort: number;
  close(): Promise<void>;
}

async function serve(ledger?: RecordLedger): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-fhir-'));
  ChartChainNode.init(dir, {
    orgId: 'bench-practice',
    orgName: 'Benchmark Practice',
    network: 'bench',
  });
  const node = await ChartChainNode.open(dir);
  await seedDemo(node);
  const port = await freePort('127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const auth = await AuthServer.create({
    issuer: url,
    fhirBaseUrl: `${url}/fhir`,
    users: await createDemoUsers('bench-practice', node.homePatients),
    clients: publicClients(url),
    tokenLifetimeSeconds: 3600,
  });
  // One token drives the whole load here: the benchmark measures the node, not the per-user budget.
  let mllpPort = 0;
  const app = buildServer(node, {
    auth,
    ...(ledger === undefined ? {} : { ledger }),
    fhirRateLimit: { capacity: 1e9, perSecond: 1e9 },
    mllp: {
      host: '127.0.0.1',
      port: 0,
      practitionerId: 'v2-interface',
      onListening: (bound) => (mllpPort = bound),
    },
  });
  await app.listen({ host: '127.0.0.1', port });
  const token = await auth.tokens.issue({
    principal: { kind: 'practitioner', id: 'dr-ada', org: 'bench-practice' },
    scopes: parseScopes('user/*.cruds'),
    fhirUser: 'Practitioner/dr-ada',
  });
  const systemToken = await auth.tokens.issue({
    principal: { kind: 'system', id: 'bench-practice', org: 'bench-practice' },
    scopes: parseScopes('system/*.rs'),
  });
  return {
    url,
    token,
    systemToken,
    mllpPort,
    close: async () => {
      await app.close();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates/s, and the p99 of the server's event-loop delay meanwhile (the load runs on a worker thread). */
async function creates(served: Served): Promise<{
  perSec: number;
  eventLoopDelayP99Ms: number;
  eventLoopUtilization: number;
  ledgerTurns: LedgerTurns;
}> {
  const turns = await watchLedgerTurns(served.url);
  const loop = watchEventLoopDelay();
  const busySince = performance.eventLoopUtilization();
  const result = await autocannon({
    url: `${served.url}/fhir/Observation`,
    method: 'POST',
    connections: CONNECTIONS,
    workers: 1,
    duration: seconds,
    headers: {
      'content-type': 'application/fhir+json',
      authorization: `Bearer ${served.token}`,
      prefer: 'return=minimal',
    },
    body: OBSERVATION,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors during creates`);
  return {
    perSec: Math.round(result.requests.average),
    eventLoopDelayP99Ms: loop.stop(),
    eventLoopUtilization: Number(
      performance.eventLoopUtilization(busySince).utilization.toFixed(3),
    ),
    ledgerTurns: await turns.stop(),
  };
}

async function readLatency(served: Served): Promise<{ p50: number; p99: number }> {
  const created = await fetch(`${served.url}/fhir/Observation`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${served.token}` },
    body: OBSERVATION,
  });
  const id = ((await created.json()) as { id: string }).id;
  // Timed here rather than by the load generator, whose latencies are whole milliseconds.
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const started = performance.now();
    const read = await fetch(`${served.url}/fhir/Observation/${id}`, {
      headers: { authorization: `Bearer ${served.token}` },
    });
    await read.arrayBuffer();
    times.push(performance.now() - started);
    if (read.status !== 200) throw new Error(`a read answered ${read.status}`);
  }
  times.sort((a, b) => a - b);
  const ms = (p: number): number => Number(percentile(times, p).toFixed(2));
  return { p50: ms(50), p99: ms(99) };
}

async function searchesPerSecond(served: Served): Promise<number> {
  const result = await autocannon({
    url: `${served.url}/fhir/Observation?code=${encodeURIComponent('http://loinc.org|8867-4')}&_count=10`,
    connections: 8,
    duration: Math.max(3, Math.round(seconds / 3)),
    headers: { authorization: `Bearer ${served.token}` },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors during searches`);
  return Math.round(result.requests.average);
}

const SYNTHEA =
  process.env['CHARTCHAIN_FIXTURES'] === undefined
    ? fileURLToPath(new URL('../test/fixtures/synthea', import.meta.url))
    : join(process.env['CHARTCHAIN_FIXTURES'], 'synthea');

async function syntheaImport(
  served: Served,
): Promise<{ resourcesPerSec: number; resources: number }> {
  const all = bundleFiles([SYNTHEA]);
  const files = [
    ...bundleFiles([join(SYNTHEA, 'reference-data')]),
    ...all.filter((file) => file.includes('modern2021-')),
    ...all.filter((file) => file.includes('legacy2019-')),
  ];
  const journal = join(mkdtempSync(join(tmpdir(), 'chartchain-bench-import-')), 'journal');
  const summary = await importBundles(`${served.url}/fhir`, served.token, files, journal);
  if (summary.failures.length > 0)
    throw new Error(`import failures: ${JSON.stringify(summary.failures.slice(0, 3))}`);
  return {
    resourcesPerSec: Math.round(summary.resources / summary.seconds),
    resources: summary.resources,
  };
}

const ORU = readFileSync(new URL('../test/fixtures/hl7v2/oru-r01.hl7', import.meta.url), 'utf8');
const V2_CONNECTIONS = 8;
const V2_MESSAGES = 400;

/**
 * ORU^R01 results with ten OBX each, over MLLP on eight connections, one patient per connection
 * (a feed's messages about one patient are taken one after another); each a new control id.
 */
async function v2Messages(served: Served): Promise<number> {
  const started = performance.now();
  const acks = await Promise.all(
    Array.from({ length: V2_CONNECTIONS }, (_, connection) =>
      mllpExchange(
        served.mllpPort,
        Array.from({ length: V2_MESSAGES / V2_CONNECTIONS }, (_, i) =>
          ORU.replace('|LAB-0001|', `|LAB-${connection}-${i}|`).replace(
            /MRN-77001/g,
            `MRN-B${connection}`,
          ),
        ),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const refused = acks.flat().filter((ack) => !ack.includes('MSA|AA|'));
  if (refused.length > 0) throw new Error(`${refused.length} v2 messages not accepted`);
  return Math.round(V2_MESSAGES / seconds);
}

/** A patient-level $export of everything the import wrote: kick-off, polling, every file downloaded. */
async function bulkExport(served: Served): Promise<{ resourcesPerSec: number; resources: number }> {
  const started = performance.now();
  const headers = { authorization: `Bearer ${served.systemToken}` };
  const kickOff = await fetch(`${served.url}/fhir/Patient/$export`, {
    headers: { ...headers, prefer: 'respond-async', accept: 'application/fhir+json' },
  });
  if (kickOff.status !== 202) throw new Error(`export kick-off answered ${kickOff.status}`);
  const statusUrl = kickOff.headers.get('content-location')!;
  let manifest: { output: { url: string }[] } | undefined;
  while (manifest === undefined) {
    const status = await fetch(statusUrl, { headers });
    if (status.status === 200) manifest = (await status.json()) as { output: { url: string }[] };
    else if (status.status === 202) await new Promise((resolve) => setTimeout(resolve, 50));
    else throw new Error(`export status answered ${status.status}`);
  }
  let resources = 0;
  for (const { url } of manifest.output) {
    const text = await (await fetch(url, { headers })).text();
    resources += text.split('\n').filter((line) => line !== '').length;
  }
  const seconds = (performance.now() - started) / 1000;
  return { resources, resourcesPerSec: Math.round(resources / seconds) };
}

async function main(): Promise<void> {
  loadValidator();
  console.log(
    `bench:fhir: ${seconds} s of creates with ${CONNECTIONS} connections, ledger on and off; then 2,000 reads one at a time`,
  );
  const on = await serve();
  const {
    perSec: createPerSec,
    eventLoopDelayP99Ms,
    eventLoopUtilization,
    ledgerTurns,
  } = await creates(on);
  const read = await readLatency(on);
  const searchPerSec = await searchesPerSecond(on);
  await on.close();
  const fresh = await serve();
  const imported = await syntheaImport(fresh);
  const exported = await bulkExport(fresh);
  const v2MessagesPerSec = await v2Messages(fresh);
  await fresh.close();
  const off = await serve(sealOnlyLedger);
  const {
    perSec: createLedgerOffPerSec,
    eventLoopDelayP99Ms: eventLoopDelayLedgerOffP99Ms,
    eventLoopUtilization: eventLoopUtilizationLedgerOff,
  } = await creates(off);
  await off.close();
  console.log(
    `creates: ${createPerSec}/s with the ledger, ${createLedgerOffPerSec}/s without; reads p50 ${read.p50} ms, p99 ${read.p99} ms; searches ${searchPerSec}/s; Synthea import ${imported.resources} resources at ${imported.resourcesPerSec}/s; bulk export ${exported.resources} resources at ${exported.resourcesPerSec}/s; ${v2MessagesPerSec} ORU^R01/s over MLLP`,
  );
  console.log(
    `ledger turns during the creates: ${ledgerTurns.turns}, ${(100 * ledgerTurns.over1msShare).toFixed(1)}% over 1 ms, p99 ${ledgerTurns.p99AtMostMs === null ? 'past the last bucket' : `at most ${ledgerTurns.p99AtMostMs} ms`}; by work ${JSON.stringify(ledgerTurns.byWork)}`,
  );
  const ledgerOverhead = Number((createLedgerOffPerSec / createPerSec).toFixed(2));
  console.log(
    JSON.stringify({
      createPerSec,
      createLedgerOffPerSec,
      ledgerOverhead,
      readP50Ms: read.p50,
      readP99Ms: read.p99,
      searchPerSec,
      syntheaImportResourcesPerSec: imported.resourcesPerSec,
      bulkExportResourcesPerSec: exported.resourcesPerSec,
      v2MessagesPerSec,
      eventLoopDelayP99Ms,
      eventLoopDelayLedgerOffP99Ms,
      eventLoopUtilization,
      eventLoopUtilizationLedgerOff,
      ledgerTurns: ledgerTurns.turns,
      ledgerTurnsOver1msShare: ledgerTurns.over1msShare,
      ledgerTurnP99AtMostMs: ledgerTurns.p99AtMostMs,
    }),
  );
}

await main();
