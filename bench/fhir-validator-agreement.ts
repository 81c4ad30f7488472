/**
 * npx tsx bench/fhir-validator-agreement.ts
 *
 * How often validateResource (src/fhir/validation) agrees with the HL7 reference validator on
 * valid versus invalid, over the R4 cases in test/fixtures/fhir-test-cases/validator-r4,
 * with a line per case and the skipped cases; then what validation costs per resource, for an
 * HL7 example Observation and a Synthea Patient and Observation. The last line is JSON:
 * { cases, agree, agreementRate, skipped }.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measureAgreement } from '../src/fhir/validation/agreement.js';
import { loadValidator, validateResource } from '../src/fhir/validation/validate.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const WARMUP_RUNS = 500;
const TIMED_RUNS = 3000;

function cell(text: string | null, width: number): string {
  const flat = (text ?? '-').replace(/\s+/g, ' ');
  return (flat.length > width ? `${flat.slice(0, width - 1)}…` : flat).padEnd(width);
}

/** Mean microseconds per validateResource call on `resource`. */
function costMicroseconds(resource: unknown): number {
  for (let run = 0; run < WARMUP_RUNS; run++) validateResource(resource);
  const start = process.hrtime.bigint();
  for (let run = 0; run < TIMED_RUNS; run++) validateResource(resource);
  return Number(process.hrtime.bigint() - start) / 1000 / TIMED_RUNS;
}

function readJson(path: string): { [key: string]: unknown } {
  return JSON.parse(readFileSync(path, 'utf8')) as { [key: string]: unknown };
}

const loadStart = process.hrtime.bigint();
loadValidator();
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

const report = measureAgreement(`${fixtures}fhir-test-cases/validator-r4`);
console.log(
  `${'case'.padEnd(48)} ${'module'.padEnd(10)} ref  ours  ${'verdict'.padEnd(8)} ${'reference first error'.padEnd(60)} our first error`,
);
for (const result of report.results) {
  const verdict = result.agree ? 'agree' : 'DISAGREE';
  console.log(
    `${cell(result.case, 48)} ${cell(result.module, 10)} ${String(result.expectedErrors).padStart(3)}  ${String(result.errors).padStart(4)}  ${verdict.padEnd(8)} ${cell(result.firstExpectedError, 60)} ${cell(result.firstError, 80).trimEnd()}`,
  );
}
for (const skipped of report.skipped) console.log(`skipped ${skipped.case}: ${skipped.reason}`);
console.log(
  `agreement ${report.agree}/${report.cases} = ${(100 * report.agreementRate).toFixed(1)}% (${report.skipped.length} skipped)`,
);

const bundle = readJson(
  `${fixtures}synthea/legacy2019-Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json`,
);
const resources = (bundle.entry as { resource: { resourceType: string } }[]).map(
  (entry) => entry.resource,
);
const costs = {
  'HL7 Observation-example': costMicroseconds(
    readJson(`${fixtures}hl7-examples/Observation-example.json`),
  ),
  'Synthea Observation': costMicroseconds(
    resources.find((resource) => resource.resourceType === 'Observation'),
  ),
  'Synthea Patient': costMicroseconds(
    resources.find((resource) => resource.resourceType === 'Patient'),
  ),
};
console.log(`loading the R4 definitions: ${loadMs.toFixed(0)} ms (once per process)`);
for (const [name, micros] of Object.entries(costs))
  console.log(`validateResource, ${name}: ${micros.toFixed(0)} µs`);
console.log(
  JSON.stringify({
    cases: report.cases,
    agree: report.agree,
    agreementRate: Number(report.agreementRate.toFixed(4)),
    skipped: report.skipped.length,
  }),
);
