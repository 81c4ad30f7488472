/**
 * A data directory holds plaintext health data (the search index) and keys: after a start, a
 * write and a search, every file in it must be owner-only (0600) and every directory 0700, and
 * a directory an older version left world-readable is corrected when the node opens it.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { AuthServer } from '../src/api/index.js';
import type { GrantTerms, Principal } from '../src/contracts/index.js';
import { FhirService } from '../src/fhir/index.js';
import { ChartChainNode } from '../src/node/index.js';

/** Every file and directory under `dir` (itself included) with its permission bits. */
function modes(dir: string): Map<string, number> {
  const found = new Map<string, number>([['.', lstatSync(dir).mode & 0o777]]);
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      found.set(relative(dir, path), lstatSync(path).mode & 0o777);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return found;
}

function assertOwnerOnly(dir: string, when: string): Map<string, number> {
  const found = modes(dir);
  const open = [...found].filter(
    ([path, mode]) => mode !== (lstatSync(join(dir, path)).isDirectory() ? 0o700 : 0o600),
  );
  assert.deepEqual(
    open.map(([path, mode]) => `${path} ${mode.toString(8)}`),
    [],
    `${when}: every file is 0600 and every directory 0700`,
  );
  return found;
}

/** Starts the node with its FHIR service and authorization server, as `chartchain start` does. */
async function start(dir: string): Promise<{
  node: ChartChainNode;
  service: FhirService;
  auth: AuthServer;
  stop: () => Promise<void>;
}> {
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const service = new FhirService(node);
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1:1',
    fhirBaseUrl: 'http://127.0.0.1:1/fhir',
    keystore: node.keys.keystore,
    replayCachePath: join(dir, 'auth.db'),
  });
  const stop = async (): Promise<void> => {
    auth.close();
    await service.close();
    await node.close();
  };
  return { node, service, auth, stop };
}

test('every file a node writes is owner-only, in owner-only directories, and an older world-readable directory is corrected at open', async (t) => {
  const umask = process.umask(0o022);
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-modes-'));
  t.after(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });
  chmodSync(dir, 0o755);
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });

  const running = await start(dir);
  const doctor: Principal = { kind: 'practitioner', id: 'dr-a', org: 'practice-a' };
  const keys = running.node.records.enrol('practitioner', 'dr-a');
  assert.equal(
    (
      await running.node.submitAndWait(
        running.node.signAsOrg('membership.register-practitioner', {
          practitionerId: 'dr-a',
          ...keys,
        }),
      )
    ).status,
    'ok',
  );
  await running.service.records.update(doctor, 'Patient', 'patient-0001', {
    resourceType: 'Patient',
    id: 'patient-0001',
    gender: 'female',
  });
  const terms: GrantTerms = {
    grantee: { kind: 'organisation', id: 'practice-a' },
    actions: ['read', 'write'],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(
    await running.node.consent.grant(
      running.node.pseudonyms.patientIdOf('patient-0001')!,
      'consent-1',
      terms,
    ),
    'ok',
  );
  await running.service.records.create(doctor, {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
    subject: { reference: 'Patient/patient-0001' },
    valueQuantity: {
      value: 120,
      unit: 'mm[Hg]',
      system: 'http://unitsofmeasure.org',
      code: 'mm[Hg]',
    },
  });
  const page = await running.service.search.search(
    { principal: doctor, purpose: 'TREAT', mayRead: () => true },
    'Observation',
    new URLSearchParams({ patient: 'Patient/patient-0001' }),
  );
  assert.equal(page.matches.length, 1, 'the search found and released the Observation');
  assert.equal(running.auth.replay.remember('client jti', Date.now() + 60_000), 'fresh');

  // While running: the SQLite WAL and shared-memory files exist only now.
  const whileRunning = assertOwnerOnly(dir, 'while running');
  for (const path of [
    'chain.db-wal',
    'orderer.db-wal',
    'search.db',
    'search.db-wal',
    'auth.db',
    'node.json',
    'keys/keystore.json',
    'keys/node-secret',
    'blobs',
  ]) {
    assert.ok(whileRunning.has(path), `${path} was written and checked`);
  }
  await running.stop();
  assertOwnerOnly(dir, 'after a clean stop');

  // An older version's directory: everything world-readable. Opening it corrects every mode.
  for (const [path] of modes(dir))
    chmodSync(join(dir, path), lstatSync(join(dir, path)).isDirectory() ? 0o755 : 0o644);
  process.umask(0o022);
  const reopened = await start(dir);
  await reopened.stop();
  assertOwnerOnly(dir, "after opening an older version's directory");
});
