import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { PSEUDONYM_UNWRITTEN_COUNT_MAX } from '../ledger/index.js';
import { Pseudonyms } from './pseudonyms.js';
import { openTempNode } from './testonly/temp-node.js';
import { filesHolding } from '../storage/testonly/files.js';

test('unknown: of sorted record ids, exactly those with no learnt FHIR id, whatever the mix', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }),
        { maxLength: 60 },
      ),
      fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      async (ids, learnt) => {
        const pseudonyms = new Pseudonyms(':memory:');
        try {
          ids.forEach((recordId, i) => {
            if (learnt[i]) pseudonyms.learn('Observation', `obs-${i}`, recordId);
          });
          const sorted = [...ids].sort();
          assert.deepEqual(
            pseudonyms.unknown(sorted),
            sorted.filter((recordId) => pseudonyms.fhirIdOf(recordId) === undefined),
          );
        } finally {
          await pseudonyms.close();
        }
      },
    ),
    { numRuns: 200 },
  );
});

/** The ledger id `path` holds for Patient `id`, once another connection sees it (within seconds). */
async function writtenPair(
  path: string,
  id: string,
  type = 'Patient',
): Promise<string | undefined> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const db = new Database(path, { readonly: true });
    const found = db
      .prepare('SELECT record_id FROM fhir_id WHERE type = ? AND id = ?')
      .pluck()
      .get(type, id) as string | undefined;
    db.close();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

test('a pair is served at once and written with the others of its turn; only a clean close leaves the map complete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-pseudonyms-'));
  const path = join(dir, 'pseudonyms.db');
  try {
    const first = new Pseudonyms(path);
    assert.equal(first.incomplete, true, 'a new map has learnt nothing yet');
    const recordId = first.assign('Patient', 'jane');
    assert.equal(first.recordIdOf('Patient', 'jane'), recordId, 'served before it is written');
    assert.deepEqual(first.fhirIdOf(recordId), { type: 'Patient', id: 'jane' });
    assert.equal(first.assign('Patient', 'jane'), recordId);
    assert.equal(await writtenPair(path, 'jane'), recordId, 'written soon, off the main thread');
    const running = new Pseudonyms(path);
    assert.equal(running.recordIdOf('Patient', 'jane'), recordId);
    assert.equal(
      running.incomplete,
      true,
      'a map open elsewhere (or left by a crash) may lack pairs',
    );
    await running.close();
    first.learn('Observation', 'o-1', 'r-unwritten');
    await first.close();
    const unlearnt = new Pseudonyms(path);
    assert.equal(unlearnt.incomplete, true, 'closed cleanly, but what it lacked never learnt');
    unlearnt.learnt();
    await unlearnt.close();
    const reopened = new Pseudonyms(path);
    assert.equal(reopened.incomplete, false, 'learnt, then closed cleanly');
    assert.deepEqual(reopened.fhirIdOf('r-unwritten'), { type: 'Observation', id: 'o-1' });
    await reopened.close();
    await reopened.close(); // A node closed twice closes its map once.
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the first pairing of either side stands, written or not yet', async () => {
  const pseudonyms = new Pseudonyms(':memory:');
  try {
    pseudonyms.learn('Observation', 'a', 'r-1');
    pseudonyms.learn('Observation', 'a', 'r-2');
    pseudonyms.learn('Observation', 'b', 'r-1');
    await new Promise((resolve) => setImmediate(resolve));
    pseudonyms.learn('Observation', 'a', 'r-3');
    pseudonyms.learn('Observation', 'c', 'r-1');
    assert.equal(pseudonyms.recordIdOf('Observation', 'a'), 'r-1');
    for (const [type, id] of [
      ['Observation', 'b'],
      ['Observation', 'c'],
    ] as const)
      assert.equal(pseudonyms.recordIdOf(type, id), undefined, `${type}/${id} took no ledger id`);
    for (const recordId of ['r-2', 'r-3'])
      assert.equal(pseudonyms.fhirIdOf(recordId), undefined, `${recordId} took no FHIR id`);
    assert.deepEqual(pseudonyms.unknown(['r-1', 'r-2', 'r-3']), ['r-2', 'r-3']);
  } finally {
    await pseudonyms.close();
  }
});

test('pairs that cannot be written are reported, served from memory up to a cap, retried, and the report withdrawn once written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-pseudonyms-'));
  const path = join(dir, 'pseudonyms.db');
  const reports: (string | undefined)[] = [];
  const pseudonyms = new Pseudonyms(path, (failure) => reports.push(failure?.message));
  const other = new Database(path);
  try {
    other.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON fhir_id BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    const recordId = pseudonyms.assign('Patient', 'jane');
    for (let wait = 0; wait < 500 && reports.length === 0; wait++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(reports, ['refused']);
    assert.equal(pseudonyms.recordIdOf('Patient', 'jane'), recordId, 'still served');
    for (let i = 1; i < PSEUDONYM_UNWRITTEN_COUNT_MAX; i++)
      pseudonyms.assign('Observation', `o-${i}`);
    assert.throws(
      () => pseudonyms.assign('Observation', 'one-too-many'),
      (error: Error) =>
        /cannot be recorded: refused/.test(error.message) && error.cause !== undefined,
      'past the cap a new id is refused, naming why',
    );
    assert.equal(pseudonyms.assign('Patient', 'jane'), recordId, 'a known id is still served');
    other.exec('DROP TRIGGER refuse');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.deepEqual(reports, ['refused', undefined], 'written on the retry');
    assert.equal(
      other.prepare("SELECT record_id FROM fhir_id WHERE id = 'jane'").pluck().get(),
      recordId,
    );
    assert.ok(pseudonyms.assign('Observation', 'one-too-many'), 'accepted once written');
  } finally {
    other.close();
    await pseudonyms.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a new node's map is complete from its first start: there is nothing it could have lost", async (t) => {
  const { node } = await openTempNode(t, 'new-map');
  t.after(() => node.close());
  assert.equal(node.pseudonyms.incomplete, false);
});

test("an erased record's FHIR id leaves every file of the map, and still finds the record", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-pseudonyms-'));
  const path = join(dir, 'pseudonyms.db');
  try {
    const map = new Pseudonyms(path);
    t.after(() => map.close()); // also when an assertion fails: its writer thread would hold the process
    const kept = map.assign('Condition', 'kept-jones-1958-dx');
    const written = map.assign('Condition', 'jane-smith-1961-hiv');
    assert.equal(await writtenPair(path, 'jane-smith-1961-hiv', 'Condition'), written);
    const patient = map.assign('Patient', 'jane-smith-1961');
    // Erased in the turn it is paired: the file never holds it.
    const unsent = map.assign('Observation', 'never-written-a1c');
    map.erase(unsent);
    map.erase(written);
    map.erase(written); // again, as each erasure receipt's block names it
    map.erase(patient);
    map.erase('r-unknown-here');
    for (const [type, id, recordId] of [
      ['Condition', 'jane-smith-1961-hiv', written],
      ['Observation', 'never-written-a1c', unsent],
    ] as const) {
      assert.equal(map.recordIdOf(type, id), recordId, `${id}: found by the id its patient knows`);
      assert.match(map.fhirIdOf(recordId)!.id, /^~[\w-]{43}$/, `${id}: named by its digest`);
      assert.equal(map.recordIdOf(type, map.fhirIdOf(recordId)!.id), recordId, 'and found by it');
    }
    assert.deepEqual(map.fhirIdOf(patient), { type: 'Patient', id: 'jane-smith-1961' });
    for (
      const deadline = Date.now() + 10_000;
      filesHolding(dir, 'jane-smith-1961-hiv').length > 0 ||
      filesHolding(dir, 'never-written-a1c').length > 0;
      await new Promise((resolve) => setTimeout(resolve, 10))
    )
      assert.ok(Date.now() < deadline, 'the erased ids leave the files');
    assert.equal(
      filesHolding(dir, 'kept-jones-1958-dx').length > 0,
      true,
      'the search finds ids that are kept',
    );
    await map.close();

    const reopened = new Pseudonyms(path);
    t.after(() => reopened.close());
    assert.equal(
      reopened.recordIdOf('Condition', 'jane-smith-1961-hiv'),
      written,
      'after a restart',
    );
    assert.equal(reopened.recordIdOf('Observation', 'never-written-a1c'), unsent);
    assert.equal(reopened.recordIdOf('Condition', 'kept-jones-1958-dx'), kept);
    assert.equal(
      reopened.recordIdOf('Patient', 'jane-smith-1961'),
      patient,
      'a patient keeps their id',
    );
    assert.equal(reopened.recordIdOf('Condition', 'jane-smith-1961-hiw'), undefined);
    assert.notEqual(reopened.assign('Condition', 'jane-smith-1961-hiw'), written);
    await reopened.close();
    assert.equal(filesHolding(dir, 'jane-smith-1961-hiv').length > 0, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an erasure sent while a batch of many parts still carries the plaintext pair wins, whichever lands first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-pseudonyms-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'pseudonyms.db');
  const map = new Pseudonyms(path);
  t.after(() => map.close());
  // As a start learns a chain's pairs: one batch of several parts, sent a part per turn.
  for (let i = 0; i < 10_000; i++) map.learn('Observation', `obs-${i}`, `r-${i}`);
  map.learn('Observation', 'jane-smith-1961-a1c', 'r-erased');
  await new Promise((resolve) => setImmediate(resolve)); // the batch's first part is sent
  map.erase('r-erased');
  assert.equal(map.recordIdOf('Observation', 'jane-smith-1961-a1c'), 'r-erased');
  for (
    const deadline = Date.now() + 10_000;
    (await writtenPair(path, 'obs-9999', 'Observation')) === undefined ||
    filesHolding(dir, 'jane-smith-1961-a1c').length > 0 ||
    filesHolding(dir, 'obs-9999').length === 0;
    await new Promise((resolve) => setTimeout(resolve, 10))
  )
    assert.ok(Date.now() < deadline, 'both batches land, and the erased id is not in the files');
  await map.close();
  const reopened = new Pseudonyms(path);
  t.after(() => reopened.close());
  assert.equal(reopened.recordIdOf('Observation', 'jane-smith-1961-a1c'), 'r-erased');
  assert.match(reopened.fhirIdOf('r-erased')!.id, /^~/);
  assert.deepEqual(reopened.fhirIdOf('r-70'), { type: 'Observation', id: 'obs-70' });
});
