/**
 * Puts on the writer thread of a file-backed index: visible to the next read, replacing what was
 * there, durable across a reopen, erasable without a trace, and failing into a rebuild.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { SearchIndex, type SearchIndexFault } from './search-index.js';

const directory = mkdtempSync(join(tmpdir(), 'chartchain-index-writer-'));
after(() => rmSync(directory, { recursive: true, force: true }));

const patient = (id: string, family: string): JsonObject => ({
  resourceType: 'Patient',
  id,
  name: [{ family }],
});
const meta = (patientId: string, lastUpdated: number) => ({ patientId, lastUpdated });
const families = (index: SearchIndex, query: string): string[] =>
  index.search('Patient', new URLSearchParams(`${query}&_sort=_id`)).ids;

test('puts on the writer thread: the next search sees them, a replacement keeps only its new values, a reopen keeps them', () => {
  const path = join(directory, 'visible.db');
  const index = new SearchIndex(path);
  for (let i = 0; i < 200; i++) index.putSoon(patient(`p${i}`, `Okafor${i}`), meta(`p${i}`, i));
  const single = index.counts();
  assert.equal(single.resources, 200, 'a read in the same turn waits for the writer');
  index.putSoon(patient('p7', 'Adeyemi'), meta('p7', 1_000));
  assert.deepEqual(families(index, 'family=adeyemi'), ['p7']);
  assert.deepEqual(families(index, 'family:exact=Okafor7'), [], 'the replaced values are gone');
  assert.deepEqual(index.counts(), single, 'one resource, one set of values');
  index.putSoon(patient('p8', 'Nwosu'), meta('p8', 1_001));
  index.close();
  const reopened = new SearchIndex(path);
  try {
    assert.deepEqual(families(reopened, 'family=nwosu'), ['p8'], 'close waited for the writer');
    assert.equal(reopened.counts().resources, 200);
  } finally {
    reopened.close();
  }
});

function bytesOf(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file)),
  );
}

test('erasure after puts on the writer thread leaves no bytes of the patient, nor of a version they replaced', () => {
  const path = join(directory, 'erased.db');
  const index = new SearchIndex(path);
  try {
    index.putSoon(patient('erased', 'Quillfeather'), meta('erased', 1));
    index.putSoon(patient('kept', 'Hartmann'), meta('kept', 1));
    index.counts();
    // A version without a name: no new string value lands where the old ones were freed.
    index.putSoon({ resourceType: 'Patient', id: 'erased', gender: 'other' }, meta('erased', 2));
    index.counts();
    assert.equal(index.removePatient('erased'), 1);
    const left = bytesOf(path);
    for (const trace of ['quillfeather', 'Quillfeather'])
      assert.ok(!left.includes(Buffer.from(trace)), `'${trace}' is gone`);
    assert.ok(left.includes(Buffer.from('hartmann')), 'the other patient is still there');
  } finally {
    index.close();
  }
});

test('a batch the writer thread cannot write takes the index out of service, told to onFault', async () => {
  const path = join(directory, 'failing.db');
  const faults: SearchIndexFault[] = [];
  const index = new SearchIndex(path, { onFault: (fault) => faults.push(fault) });
  try {
    index.putSoon(patient('p1', 'Okafor'), meta('p1', 1));
    // A quantity of NaN binds as NULL, which the value table refuses (NOT NULL).
    const observation = {
      resourceType: 'Observation',
      id: 'o1',
      valueQuantity: { value: Number.NaN, unit: 'mmol/L' },
    };
    index.putSoon(observation, meta('p1', 2));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(faults.length, 1, 'reported without a read waiting for it');
    assert.equal(faults[0]!.kind, 'damaged');
    assert.equal(index.available, false);
    assert.equal(index.removeRecord('r-1'), false, 'dropped, never thrown, while out of service');
    assert.throws(
      () => index.search('Patient', new URLSearchParams('')),
      (error: unknown) => error instanceof FhirError && error.status === 503,
    );
    assert.equal(index.reopen(), true);
    assert.equal(index.available, false, 'being filled');
    index.putAll([{ resource: patient('p1', 'Okafor'), meta: meta('p1', 1) }]);
    index.endFill();
    assert.deepEqual(families(index, 'family=okafor'), ['p1'], 'back in service after a rebuild');
  } finally {
    index.close();
  }
});

test('an entry names the chain record and version it was read from: found by it, replaced by a newer one, forgotten by it', () => {
  const path = join(directory, 'by-record.db');
  const index = new SearchIndex(path);
  try {
    index.putSoon(patient('p1', 'Okafor'), { ...meta('p1', 1), recordId: 'r-1', version: 1 });
    index.counts(); // waits for the writer thread
    assert.deepEqual(index.entryOf('r-1'), { type: 'Patient', id: 'p1', version: 1 });
    index.putSoon(patient('p1', 'Okafor-Ade'), { ...meta('p1', 2), recordId: 'r-1', version: 2 });
    index.counts();
    assert.equal(index.entryOf('r-1')?.version, 2);
    assert.equal(index.removeRecord('r-2'), false, 'no entry of another record');
    assert.equal(index.removeRecord('r-1'), true);
    assert.equal(index.entryOf('r-1'), undefined);
    assert.deepEqual(families(index, 'family=okafor'), []);
  } finally {
    index.close();
  }
});
