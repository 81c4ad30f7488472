import assert from 'node:assert/strict';
import { verifyDataDir } from '../verifier/index.js';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { create, extract, list } from 'tar';
import { ChartChainNode } from '../node/index.js';
import { backup, restore } from './backup-commands.js';

/** Org-signed patient registrations submitted as fast as they are acknowledged, until stopped. */
function writeLoad(node: ChartChainNode) {
  const acknowledged: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const body = {
        patientId: `patient-${i}`,
        signingKey: randomBytes(32).toString('hex'),
        encryptionKey: randomBytes(32).toString('hex'),
        custody: 'custodial',
      };
      const result = await node.submit(node.signAsOrg('membership.register-patient', body));
      assert.ok(result.ok, JSON.stringify(result));
      acknowledged.push(result.txId);
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

test('a backup taken under write load restores to a chain that verifies and holds everything acknowledged before it began', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  ChartChainNode.init(dataDir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dataDir, { verifyPoolSize: 1 });
  const practitioner = node.records.enrol('practitioner', 'dr-ada');
  await node.submitAndWait(
    node.signAsOrg('membership.register-practitioner', {
      practitionerId: 'dr-ada',
      ...practitioner,
    }),
  );
  const patient = node.records.enrol('patient', 'patient-0001');
  await node.submitAndWait(
    node.signAsOrg('membership.register-patient', {
      patientId: 'patient-0001',
      custody: 'custodial',
      ...patient,
    }),
  );
  const written = await node.records.write({
    practitionerId: 'dr-ada',
    patientId: 'patient-0001',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } },
  });
  assert.equal((await node.submitAndWait(written.tx)).status, 'ok');

  const load = writeLoad(node);
  while (load.acknowledged.length < 200) await new Promise((resolve) => setTimeout(resolve, 5));
  const beforeBackup = [...load.acknowledged];
  const file = join(dir, 'node.backup');
  await backup(dataDir, file);
  await load.stop();
  await node.close();
  assert.ok(load.acknowledged.length > beforeBackup.length, 'writes went on during the backup');

  assert.equal(statSync(file).mode & 0o777, 0o600);
  const entries: string[] = [];
  await list({ file, onReadEntry: (entry) => entries.push(entry.path) });
  assert.ok(
    entries.includes('chain.db') && entries.includes('keys/keystore.json'),
    entries.join(', '),
  );
  assert.ok(
    entries.some((path) => path.startsWith('blobs/')),
    'the ciphertext blobs are in it',
  );
  assert.equal(
    entries.some((path) => path.includes('node-secret') || path.startsWith('search')),
    false,
    'never the keystore secret, never the derived index',
  );

  const restored = join(dir, 'restored');
  await restore(file, restored);
  assert.equal(statSync(restored).mode & 0o777, 0o700);
  // The secret comes from where the operator kept it, apart from the backup.
  mkdirSync(join(restored, 'keys'), { recursive: true });
  copyFileSync(join(dataDir, 'keys', 'node-secret'), join(restored, 'keys', 'node-secret'));
  const reopened = await ChartChainNode.open(restored, { verifyPoolSize: 1 });
  try {
    for (const txId of beforeBackup)
      assert.equal((await reopened.waitForTx(txId, 20_000)).status, 'ok', txId);
    assert.deepEqual(
      reopened.records.read({ kind: 'organisation' }, written.recordId).resource['code'],
      { text: 'HbA1c' },
    );
  } finally {
    await reopened.close();
  }
  const verified = await verifyDataDir(restored, { poolSize: 1 });
  assert.ok(verified.blocks > 2, `verified ${verified.blocks} blocks`);
});

test('restore refuses a non-empty directory, and a backup whose bytes changed, leaving nothing behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  ChartChainNode.init(dataDir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test' });
  const file = join(dir, 'node.backup');
  await backup(dataDir, file);
  await assert.rejects(backup(dataDir, file), /exists; refusing to overwrite/);
  await assert.rejects(restore(file, dataDir), /not empty/);

  const unpacked = join(dir, 'unpacked');
  mkdirSync(unpacked);
  await extract({ file, cwd: unpacked });
  const keystore = join(unpacked, 'keys', 'keystore.json');
  writeFileSync(keystore, readFileSync(keystore, 'utf8').replace(/"/, ' "'));
  const tampered = join(dir, 'tampered.backup');
  await create({ gzip: true, file: tampered, cwd: unpacked }, readdirSync(unpacked));
  await assert.rejects(
    restore(tampered, join(dir, 'restored')),
    /keys\/keystore.json does not match its manifest hash/,
  );
  assert.equal(existsSync(join(dir, 'restored')), false);
});
