/**
 * npx tsx bench/search-index.ts
 *
 * The node-local FHIR search index over every Synthea fixture: index time per resource (bulk and
 * one at a time) and the median latency of representative queries.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SearchIndex } from '../src/fhir/search/search-index.js';
import { loadSynthea, syntheaFiles } from '../src/fhir/testonly/synthea-fixture.js';

const files = syntheaFiles('', true);
const t = performance.now();
const fixtures = loadSynthea(files);
console.log(
  `${files.length} bundles, ${fixtures.length} resources, parse+rewrite ${(performance.now() - t).toFixed(0)} ms`,
);
const dir = mkdtempSync(join(tmpdir(), 'search-bench-'));

function time(
  label: string,
  make: () => SearchIndex,
  fill: (index: SearchIndex) => void,
): SearchIndex {
  const index = make();
  const start = performance.now();
  fill(index);
  const ms = performance.now() - start;
  console.log(
    `${label}: ${ms.toFixed(0)} ms, ${((ms * 1000) / fixtures.length).toFixed(1)} µs/resource, ${index.counts().values} value rows`,
  );
  return index;
}
time(
  ':memory:, putAll (one transaction)',
  () => new SearchIndex(':memory:'),
  (i) => i.putAll(fixtures),
).close();
const bulk = time(
  'file, putAll (one transaction)',
  () => new SearchIndex(join(dir, 'bulk.db')),
  (i) => i.putAll(fixtures),
);
time(
  'file, put() each (one fsync each, synchronous=FULL)',
  () => new SearchIndex(join(dir, 'each.db')),
  (i) => {
    for (const f of fixtures) i.put(f.resource, f.meta);
  },
).close();
console.log(
  `file size ${(statSync(join(dir, 'bulk.db')).size / 1024 / 1024).toFixed(1)} MiB (+wal ${(statSync(join(dir, 'bulk.db-wal')).size / 1024 / 1024).toFixed(1)} MiB)`,
);

const patient = String(
  fixtures.find((f) => f.resource['resourceType'] === 'Patient')!.resource['id'],
);
const queries: [string, string][] = [
  ['Observation', 'code=http://loinc.org|8302-2'],
  ['Observation', `patient=${patient}&_sort=-date`],
  ['Observation', 'code=8302-2,29463-7&date=ge2015-01-01&value-quantity=gt50'],
  ['Observation', 'category=vital-signs&_sort=date&_count=50&_offset=500'],
  ['Observation', '_sort=-date'],
  ['Observation', 'code:text=body'],
  ['Observation', 'value-quantity:missing=true'],
  ['Patient', 'name=an'],
  ['Patient', 'family:contains=son&_sort=family'],
  ['Patient', 'birthdate=ge1950&birthdate=lt1980&gender=female'],
  ['Encounter', 'date=2015&class=AMB'],
  ['Condition', 'clinical-status:not=active'],
  ['Immunization', 'date=ap2015-06&_sort=date'],
  ['Claim', '_lastUpdated=ge2024-01-01T00:30:00Z'],
];
for (const [type, query] of queries) {
  const params = new URLSearchParams(query);
  const runs: number[] = [];
  let result = bulk.search(type, params);
  for (let i = 0; i < 50; i++) {
    const start = performance.now();
    result = bulk.search(type, params);
    runs.push(performance.now() - start);
  }
  runs.sort((a, b) => a - b);
  console.log(
    `${type}?${query}: total ${result.total}, median ${runs[25]!.toFixed(2)} ms, p90 ${runs[45]!.toFixed(2)} ms`,
  );
}
const start = performance.now();
const removed = bulk.removePatient(patient);
console.log(
  `removePatient: ${removed} resources in ${(performance.now() - start).toFixed(1)} ms (with WAL checkpoint)`,
);
bulk.close();
rmSync(dir, { recursive: true, force: true });
