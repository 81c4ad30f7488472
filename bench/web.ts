/**
 * npm run bench:web
 *
 * The web app's two targets, measured in Debian's Chromium against the embedded node:
 *   firstLoadJsGzipBytes  the JavaScript the first page load fetches, gzip-compressed
 *                         (target: under 300 KB)
 *   chartRenderMsMax      the slowest trend plot of a patient with 5 years of weekly labs
 *                         (4 measurements, 1,044 observations): uPlot's render, timed in the page
 *                         (target: under 1 s)
 *   recordsViewMs         from opening "My records" to every trend drawn: the searches (each
 *                         consent-checked and logged), decryption and rendering
 * The last line is JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { login } from '../src/cli/login.js';
import { openServer } from '../src/cli/node-commands.js';
import { WEB_APP_DIR } from '../src/api/web-app.js';
import { launchChromium, signIn } from '../test/web-browser.js';

const YEARS = 5;
const MEASUREMENTS = [
  ['4548-4', 'Hemoglobin A1c', '%', 6.5],
  ['2339-0', 'Glucose', 'mg/dL', 110],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 130],
  ['29463-7', 'Body weight', 'kg', 82],
] as const;

/** Gzip size of every script index.html loads. */
function firstLoadJsGzipBytes(): number {
  const html = readFileSync(join(WEB_APP_DIR, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map(
    (match) => match[1]!,
  );
  return scripts.reduce(
    (total, path) => total + gzipSync(readFileSync(join(WEB_APP_DIR, path)), { level: 9 }).length,
    0,
  );
}

function observationsOf(patientId: string): object[] {
  const weeks = YEARS * 52 + 1;
  const start = Date.now() - weeks * 7 * 86_400_000;
  return MEASUREMENTS.flatMap(([code, name, unit, base]) =>
    Array.from({ length: weeks }, (_, week) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code, display: name }], text: name },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: new Date(start + week * 7 * 86_400_000).toISOString(),
      valueQuantity: {
        value: Math.round(base * (1 + 0.1 * Math.sin(week / 8)) * 10) / 10,
        unit,
        system: 'http://unitsofmeasure.org',
        code: unit,
      },
    })),
  );
}

async function load(origin: string, token: string, resources: object[]): Promise<void> {
  for (let at = 0; at < resources.length; at += 200) {
    const entry = resources
      .slice(at, at + 200)
      .map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } }));
    const response = await fetch(`${origin}/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    if (!response.ok) throw new Error(`loading labs: ${response.status} ${await response.text()}`);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-web-'));
const started = await openServer({
  data: dir,
  demo: true,
  host: '127.0.0.1',
  port: '0',
  orgId: 'demo-practice',
  orgName: 'Demo Practice',
  network: 'bench',
});
const browser = await launchChromium();
try {
  const token = (await login(started.origin, 'dr-ada', 'chartchain-demo', 'user/*.cruds'))
    .access_token;
  const observations = observationsOf('patient-0001');
  await load(started.origin, token, observations);
  const page = await browser.newPage();
  await signIn(page, started.origin, 'patient', 'patient-0001', '#/access');
  const opened = Date.now();
  await page.goto(`${started.origin}/#/records`);
  const plots = page.locator('.trend-plot[data-rendered]');
  await page.waitForFunction(
    (count) => document.querySelectorAll('.trend-plot[data-rendered]').length >= count,
    MEASUREMENTS.length,
    { timeout: 120_000 },
  );
  const recordsViewMs = Date.now() - opened;
  const renderMs = (await plots.evaluateAll((elements) =>
    elements.map((element) => Number((element as HTMLElement).dataset['renderMs'])),
  )) as number[];
  const result = {
    firstLoadJsGzipBytes: firstLoadJsGzipBytes(),
    observations: observations.length,
    chartRenderMsMax: Math.max(...renderMs),
    recordsViewMs,
  };
  process.stdout.write(
    `first load: ${result.firstLoadJsGzipBytes} bytes of gzipped JavaScript (target < 300 KB)\n`,
  );
  process.stdout.write(
    `${result.observations} observations over ${YEARS} years: slowest trend plot ${result.chartRenderMsMax} ms (target < 1 s); records view ready in ${recordsViewMs} ms\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  await started.close();
  rmSync(dir, { recursive: true, force: true });
}
