import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import {
  FhirError,
  FhirService,
  recordOf,
  relearnFromChain,
  SEARCH_INDEX_FILE,
  SearchIndex,
} from '../fhir/index.js';
import type { Principal } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { ChartChainNode } from '../node/index.js';
import { call, FIXTURE_ORG, serveFhir } from './testonly/fhir-fixture.js';

// Removed once every test has closed what it opened (a test's own cleanup runs first to last).
const crashedNodes = mkdtempSync(join(tmpdir(), 'chartchain-relearn-'));
after(() => rmSync(crashedNodes, { recursive: true, force: true }));

const PATIENT_ID = 'pat-relearn';
const OBSERVATION_IDS = ['obs-relearn-1', 'obs-relearn-2', 'obs-relearn-3'];
const DELETED_ID = 'obs-relearn-deleted';

/**
 * A node with a Patient and three Observations (and one deleted), stopped as a crash stops it: the search index
 * and the pseudonym map still marked in use, and with map 'lost', the map gone. Returns its data
 * directory.
 */
async function crashedNode(t: TestContext, map: 'lost' | 'unclosed'): Promise<string> {
  const dataDir = mkdtempSync(join(crashedNodes, 'node-'));
  const first = await serveFhir(t);
  const put = async (type: string, id: string, body: JsonObject) =>
    assert.equal((await call(first.app, 'PUT', `/fhir/${type}/${id}`, { body })).status, 201);
  await put('Patient', PATIENT_ID, { resourceType: 'Patient', id: PATIENT_ID });
  for (const id of [...OBSERVATION_IDS, DELETED_ID]) await put('Observation', id, observation(id));
  const deleted = await call(first.app, 'DELETE', `/fhir/Observation/${DELETED_ID}`);
  assert.equal(deleted.status, 204);
  const from = first.node.dataDir;
  await first.app.close();
  await first.node.close();
  // A copy of its files: the fixture removes its own directory when the test ends.
  cpSync(from, dataDir, { recursive: true });
  writeFileSync(join(dataDir, `${SEARCH_INDEX_FILE}.in-use`), '1\n');
  const mapPath = join(dataDir, 'pseudonyms.db');
  if (map === 'lost')
    for (const suffix of ['', '-wal', '-shm']) rmSync(mapPath + suffix, { force: true });
  else {
    const db = new Database(mapPath);
    db.prepare("INSERT OR REPLACE INTO map_meta (key, value) VALUES ('open', '1')").run();
    db.close();
  }
  return dataDir;
}

function observation(id?: string): JsonObject {
  return {
    resourceType: 'Observation',
    ...(id === undefined ? {} : { id }),
    status: 'final',
    code: { text: 'HbA1c' },
    subject: { reference: `Patient/${PATIENT_ID}` },
  };
}

function refusedWith503(run: () => unknown, what: string): void {
  assert.throws(
    run,
    (error: unknown) => error instanceof FhirError && error.status === 503,
    `${what} answers 503 while the node relearns`,
  );
}

test('relearning runs after the start, a slice at a time: until it ends, searches and FHIR ids the map lacks answer 503, not an empty page or a 404', async (t) => {
  const dataDir = await crashedNode(t, 'lost');
  const node = await ChartChainNode.open(dataDir, { verifyPoolSize: 1 });
  t.after(() => node.close());
  assert.equal(node.pseudonyms.complete, false, 'the map was lost');
  const index = new SearchIndex(join(dataDir, 'relearn-test.db'));
  t.after(() => index.close());

  const relearning = relearnFromChain(node, { index, firstSliceMs: 0 });
  // The caller (a node's start) goes on at once: nothing is learnt or indexed yet.
  assert.equal(index.available, false);
  refusedWith503(() => index.search('Observation', new URLSearchParams()), 'a search');
  refusedWith503(() => recordOf(node, 'Observation', OBSERVATION_IDS[0]!), 'an unknown id');

  await relearning.done;
  assert.equal(node.pseudonyms.complete, true);
  assert.equal(index.available, true);
  assert.deepEqual(
    index.search('Observation', new URLSearchParams()).ids.sort(),
    [...OBSERVATION_IDS].sort(),
  );
  assert.equal(recordOf(node, 'Observation', OBSERVATION_IDS[1]!)?.resourceType, 'Observation');
  assert.equal(recordOf(node, 'Observation', 'never-written'), undefined, 'then a 404 is a 404');
});

test('a relearning stopped before its end (the node closing) marks nothing learnt or indexed, so the next start walks again', async (t) => {
  const dataDir = await crashedNode(t, 'lost');
  const node = await ChartChainNode.open(dataDir, { verifyPoolSize: 1 });
  t.after(() => node.close());
  const service = new FhirService(node, { relearnAtStartMs: 0 });
  assert.match(service.notReady ?? '', /relearning/, '/readyz says why the node is not ready');
  await service.close();
  await service.relearnt;
  assert.equal(node.pseudonyms.complete, false);
  assert.ok(existsSync(join(dataDir, `${SEARCH_INDEX_FILE}.in-use`)), 'the index is not trusted');
});

test('a node started after a crash serves FHIR once relearnt in the background: reads by id and searches find every record', async (t) => {
  const dataDir = await crashedNode(t, 'lost');
  let service: FhirService | undefined;
  const { app } = await serveFhir(t, {
    dataDir,
    service: (node) => (service = new FhirService(node, { relearnAtStartMs: 0 })),
  });
  await service!.relearnt;
  assert.equal(service!.notReady, undefined);
  const found = await call(app, 'GET', `/fhir/Observation?subject=Patient/${PATIENT_ID}`);
  assert.equal(found.status, 200);
  assert.equal((found.body['entry'] as JsonObject[] | undefined)?.length, OBSERVATION_IDS.length);
  const read = await call(app, 'GET', `/fhir/Observation/${OBSERVATION_IDS[2]}`);
  assert.equal(read.status, 200);
});

test('while FHIR ids are relearnt a create under an id the node draws goes on, and one under an id it may not know yet waits (503)', async (t) => {
  const dataDir = await crashedNode(t, 'unclosed');
  const node = await ChartChainNode.open(dataDir, { verifyPoolSize: 1 });
  t.after(() => node.close());
  const service = new FhirService(node, { relearnAtStartMs: 0 });
  t.after(() => service.close());
  const doctor: Principal = { kind: 'practitioner', id: 'dr-ada', org: FIXTURE_ORG };
  // All asked before the walk's next slice, while the map may still lack pairs.
  assert.equal(node.pseudonyms.complete, false);
  const unknown = service.records.update(doctor, 'Observation', 'obs-new', observation('obs-new'));
  const known = service.records.update(
    doctor,
    'Observation',
    OBSERVATION_IDS[0]!,
    observation(OBSERVATION_IDS[0]),
  );
  const drawn = service.records.create(doctor, observation());
  await assert.rejects(
    unknown,
    (error: unknown) => error instanceof FhirError && error.status === 503,
  );
  assert.equal((await known).created, false, 'an update of the record the map knows');
  assert.match((await drawn).resource['id'] as string, /^[0-9a-f-]{36}$/);
});

test('after a crash the index is caught up, not rebuilt: only entries the crash lost are read again, and a removal it lost is made', async (t) => {
  const dataDir = await crashedNode(t, 'unclosed');
  const recordIdOf = (id: string): string => {
    const map = new Database(join(dataDir, 'pseudonyms.db'), { readonly: true });
    try {
      return map.prepare('SELECT record_id FROM fhir_id WHERE id = ?').pluck().get(id) as string;
    } finally {
      map.close();
    }
  };
  const deletedRecordId = recordIdOf(DELETED_ID);
  const db = new Database(join(dataDir, SEARCH_INDEX_FILE));
  db.pragma('foreign_keys = ON');
  // A put the crash lost, a put it lost after an older one of the same record, and a removal it lost.
  db.prepare('DELETE FROM resource WHERE id = ?').run(OBSERVATION_IDS[0]);
  db.prepare('UPDATE resource SET version = version - 1 WHERE id = ?').run(OBSERVATION_IDS[1]);
  db.prepare(
    `INSERT INTO resource (type, id, patient_id, last_updated, record_id, version)
     SELECT type, ?, patient_id, last_updated, ?, 1 FROM resource WHERE id = ?`,
  ).run(DELETED_ID, deletedRecordId, OBSERVATION_IDS[2]);
  db.close();

  let reads: { mock: { callCount(): number } } | undefined;
  let service: FhirService | undefined;
  const { app } = await serveFhir(t, {
    dataDir,
    service: (node) => {
      reads = t.mock.method(node.records, 'read');
      return (service = new FhirService(node, { relearnAtStartMs: 0 }));
    },
  });
  await service!.relearnt;
  assert.equal(service!.notReady, undefined);
  assert.equal(
    reads!.mock.callCount(),
    2,
    'only the two records whose entries were lost or stale are decrypted',
  );
  const found = await call(app, 'GET', `/fhir/Observation?subject=Patient/${PATIENT_ID}&_count=10`);
  const ids = ((found.body['entry'] as JsonObject[] | undefined) ?? []).map(
    (entry) => (entry['resource'] as JsonObject)['id'],
  );
  assert.deepEqual(ids.sort(), [...OBSERVATION_IDS].sort());
  const index = new Database(join(dataDir, SEARCH_INDEX_FILE), { readonly: true });
  t.after(() => index.close());
  assert.equal(
    index.prepare('SELECT COUNT(*) FROM resource WHERE record_id = ?').pluck().get(deletedRecordId),
    0,
    'the deleted record is gone from the index file, not only filtered from results',
  );
});
