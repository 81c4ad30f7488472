/**
 * Forgetting: remove() and removePatient() leave no rows behind, and, in a file, no bytes of
 * the erased values in the database or its WAL.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SearchIndex } from './search-index.js';
import { loadSynthea, syntheaFiles } from '../testonly/synthea-fixture.js';

const [koeppFile, hartmannFile] = syntheaFiles('legacy2019-A').filter((file) =>
  /Koepp|Hartmann/.test(file),
);
const koepp = loadSynthea([koeppFile!]);
const hartmann = loadSynthea([hartmannFile!]);
const koeppId = String(koepp[0]!.resource['id']);
const hartmannId = String(hartmann[0]!.resource['id']);
const directory = mkdtempSync(join(tmpdir(), 'chartchain-search-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function bytesOf(path: string): Buffer {
  return Buffer.concat(
    [path, `${path}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file)),
  );
}

test('removePatient forgets exactly that patient’s resources; remove forgets one', () => {
  const index = new SearchIndex(':memory:');
  index.putAll([...koepp, ...hartmann]);
  const own = koepp.filter((fixture) => fixture.meta.patientId === koeppId).length;
  const unowned = [...koepp, ...hartmann].filter(
    (fixture) => fixture.meta.patientId === null,
  ).length;
  assert.ok(own > 100 && unowned > 0);
  const before = index.counts();
  assert.equal(index.removePatient(koeppId), own);
  assert.equal(index.counts().resources, before.resources - own);
  assert.equal(index.search('Observation', new URLSearchParams(`patient=${koeppId}`)).total, 0);
  assert.equal(index.search('Patient', new URLSearchParams(`_id=${koeppId}`)).total, 0);
  assert.ok(
    index.search('Observation', new URLSearchParams(`patient=${hartmannId}`)).total > 0,
    'the other patient stays',
  );
  assert.equal(index.removePatient(koeppId), 0);

  assert.equal(index.remove('Patient', hartmannId), true);
  assert.equal(index.remove('Patient', hartmannId), false);
  assert.equal(index.search('Patient', new URLSearchParams('')).total, 0);
  index.removePatient(hartmannId);
  for (const fixture of [...koepp, ...hartmann])
    index.remove(String(fixture.resource['resourceType']), String(fixture.resource['id']));
  assert.deepEqual(index.counts(), { resources: 0, values: 0 });
  index.close();
});

test('erased values leave no bytes in the database file or its WAL', () => {
  const path = join(directory, 'search.db');
  const index = new SearchIndex(path);
  index.putAll([...koepp, ...hartmann]);
  const traces = ['Koepp', 'koepp', '999-22-1962', koeppId].map((text) =>
    Buffer.from(text, 'utf8'),
  );
  assert.ok(
    traces.every((trace) => bytesOf(path).includes(trace)),
    'the values are there before removal',
  );
  index.removePatient(koeppId);
  const after = bytesOf(path);
  for (const trace of traces) assert.ok(!after.includes(trace), `'${trace.toString()}' is gone`);
  assert.ok(after.includes(Buffer.from('Hartmann', 'utf8')), 'the other patient is still there');
  index.close();
  const reopened = new SearchIndex(path);
  assert.equal(reopened.search('Patient', new URLSearchParams('family=hartmann')).total, 1);
  reopened.close();
});
