import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Principal } from '../contracts/index.js';
import { FhirService, nodeLedger, recordOf, type RecordLedger } from '../fhir/index.js';
import { custodialHere } from './custodial-patient.js';
import { nodeWithDoctor } from './testonly/fhir-test-fixture.js';

const DR: Principal = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' };
const FAMILY = 'Vrabelq';

test('an update answered only after the patient erased the record leaves none of its values in the search index', async (t) => {
  const service: { fhir?: FhirService; closed?: boolean } = {};
  const close = async () => {
    if (service.closed !== true) await service.fhir?.close();
    service.closed = true;
  };
  const node = await nodeWithDoctor(t, close);
  // The update's block commits, then its answer is held back until the erasure has committed:
  // the order a busy node can produce when the two race.
  let hold: { committed: () => void; release: Promise<void> } | undefined;
  const own = nodeLedger(node);
  const ledger: RecordLedger = {
    ...own,
    submitAndWait: async (tx) => {
      const result = await own.submitAndWait(tx);
      const held = hold;
      hold = undefined;
      if (held !== undefined) {
        held.committed();
        await held.release;
      }
      return result;
    },
  };
  const { records, search } = (service.fhir = new FhirService(node, { ledger }));
  const patient = { resourceType: 'Patient', id: 'p-race', name: [{ family: FAMILY }] };
  await records.update(DR, 'Patient', 'p-race', patient);

  let release = () => {};
  const updateCommitted = new Promise<void>((committed) => {
    hold = { committed, release: new Promise<void>((resolve) => (release = resolve)) };
  });
  const updating = records.update(DR, 'Patient', 'p-race', { ...patient, gender: 'other' });
  await updateCommitted;
  const record = recordOf(node, 'Patient', 'p-race')!;
  const patientId = custodialHere(node, record.patientId!, 'records.erase');
  const erasure = node.records.erase(record.recordId, { patientId }, (type, body) =>
    node.signAsOrg(type, body),
  );
  assert.equal((await node.submitAndWait(erasure)).status, 'ok');
  release();
  await updating;

  assert.equal(search.indexHolds('Patient', `family=${FAMILY}`), false, 'the index holds no row');
  await close();
  for (const [file, bytes] of filesOf(node.dataDir, 'search.db'))
    assert.equal(
      bytes.toLowerCase().includes(FAMILY.toLowerCase()),
      false,
      `${file} holds the erased name`,
    );
});

/** The files of `dir` whose names start with `prefix`, as text; one that vanishes meanwhile (SQLite's -shm at a close) is left out. */
function filesOf(dir: string, prefix: string): [string, string][] {
  return readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .flatMap((name): [string, string][] => {
      try {
        return [[name, readFileSync(join(dir, name)).toString('latin1')]];
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    });
}
