/**
 * The search index after SIGKILL: a node writing and deleting Observations through FHIR, eight
 * at a time, is killed, and started again. Its index puts are not fsynced and its removals
 * follow their commits, so the kill may take the newest of either; the start must catch the
 * index up from the chain. Every create acknowledged before the kill is found by search, and no
 * delete acknowledged before it is, in three rounds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { call, serveFhir } from '../src/api/testonly/fhir-fixture.js';
import Database from 'better-sqlite3';
import { FhirService, SEARCH_INDEX_FILE } from '../src/fhir/index.js';
import type { JsonObject } from '../src/ledger/index.js';

const CHILD = fileURLToPath(new URL('./fhir-writes-child.ts', import.meta.url));
const PATIENT_ID = 'pat-index-crash';
const ROUNDS = 3;
/** Creates acknowledged before each kill: the kill comes at a random moment past this. */
const CREATES_BEFORE_KILL = 60;

const dirs = mkdtempSync(join(tmpdir(), 'chartchain-index-crash-'));
after(() => rmSync(dirs, { recursive: true, force: true }));

/** What the writing child has said, over every round: acknowledged creates, deletes begun, deletes acknowledged. */
interface Written {
  readonly created: Set<string>;
  readonly deleting: Set<string>;
  readonly deleted: Set<string>;
}

/** Runs the writing child on `dataDir` until it has acknowledged enough creates, then kills it. */
async function writeUntilKilled(dataDir: string, seen: Written): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, CHILD, dataDir, PATIENT_ID], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killAt =
    seen.created.size + CREATES_BEFORE_KILL + Math.floor(Math.random() * CREATES_BEFORE_KILL);
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [what, id] = line.split(' ');
      seen[what as keyof Written]?.add(id!);
      if (what === 'created' && seen.created.size === killAt) child.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `the child ended on its own (${code}): ${stderr.slice(-2000)}`);
  assert.ok(seen.created.size >= killAt, `killed before ${killAt} creates: ${stderr.slice(-2000)}`);
}

test('after SIGKILL the index is caught up: every acknowledged create is found, no acknowledged delete is', async (t) => {
  const first = await serveFhir(t);
  const put = await call(first.app, 'PUT', `/fhir/Patient/${PATIENT_ID}`, {
    body: { resourceType: 'Patient', id: PATIENT_ID },
  });
  assert.equal(put.status, 201);
  const dataDir = mkdtempSync(join(dirs, 'node-'));
  const from = first.node.dataDir;
  await first.app.close();
  await first.node.close();
  cpSync(from, dataDir, { recursive: true });

  const seen: Written = { created: new Set(), deleting: new Set(), deleted: new Set() };
  for (let round = 1; round <= ROUNDS; round++) {
    await writeUntilKilled(dataDir, seen);
    let service: FhirService | undefined;
    await t.test(`round ${round}`, async (r) => {
      const { app } = await serveFhir(r, {
        dataDir,
        service: (node) => (service = new FhirService(node, { relearnAtStartMs: 0 })),
      });
      await service!.relearnt;
      const found = await call(
        app,
        'GET',
        `/fhir/Observation?patient=Patient/${PATIENT_ID}&_count=1000`,
      );
      assert.equal(found.status, 200, JSON.stringify(found.body));
      const ids = new Set(
        ((found.body['entry'] as JsonObject[] | undefined) ?? []).map(
          (entry) => (entry['resource'] as JsonObject)['id'] as string,
        ),
      );
      // A delete begun but not acknowledged may or may not have committed: either answer holds.
      const lost = [...seen.created].filter((id) => !seen.deleting.has(id) && !ids.has(id));
      const kept = [...seen.deleted].filter((id) => ids.has(id));
      assert.deepEqual(lost, [], 'every acknowledged create is found');
      assert.deepEqual(kept, [], 'no acknowledged delete is found');
      const index = new Database(join(dataDir, SEARCH_INDEX_FILE), { readonly: true });
      const indexed = index.prepare('SELECT id FROM resource WHERE type = ?').pluck();
      const left = (indexed.all('Observation') as string[]).filter((id) => seen.deleted.has(id));
      index.close();
      assert.deepEqual(left, [], 'nor is it in the index file, where a search would not show it');
      r.diagnostic(`${seen.created.size} created, ${seen.deleted.size} deleted, ${ids.size} found`);
    });
  }
});
