/**
 * Child process for the index crash test: opens the node in argv[2] with its FHIR service and
 * writes Observations of argv[3] (a FHIR Patient id) as practitioner dr-ada, eight at a time,
 * until killed. Every create acknowledged is printed as `created <id>`; every fourth one is then
 * deleted: `deleting <id>` before, `deleted <id>` once acknowledged.
 */
import type { Principal } from '../src/contracts/index.js';
import { FhirService } from '../src/fhir/index.js';
import { ChartChainNode } from '../src/node/index.js';

const [dataDir, patientId] = process.argv.slice(2);
const node = await ChartChainNode.open(dataDir!, { verifyPoolSize: 1 });
const service = new FhirService(node);
const doctor: Principal = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' };
let written = 0;

async function lane(): Promise<void> {
  for (;;) {
    const n = written++;
    const { resource } = await service.records.create(doctor, {
      resourceType: 'Observation',
      status: 'final',
      code: { text: `weight ${n}` },
      subject: { reference: `Patient/${patientId}` },
    });
    const id = resource['id'] as string;
    process.stdout.write(`created ${id}\n`);
    if (n % 4 !== 0) continue;
    process.stdout.write(`deleting ${id}\n`);
    await service.records.delete(doctor, 'Observation', id);
    process.stdout.write(`deleted ${id}\n`);
  }
}

await Promise.all(Array.from({ length: 8 }, lane));
