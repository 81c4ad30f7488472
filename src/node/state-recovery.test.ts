import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKey, toHex } from '../crypto/index.js';
import { PATIENT_TABLE, TX_TABLE } from '../contracts/index.js';
import { ChartChainNode } from './node.js';
import { verifyDataDir } from './verify-sources.js';

test('after a crash, blocks above the state savepoint are replayed into the same state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-recovery-'));
  const crashed = mkdtempSync(join(tmpdir(), 'chartchain-recovery-copy-'));
  t.after(() => [dir, crashed].forEach((path) => rmSync(path, { recursive: true, force: true })));
  ChartChainNode.init(dir, { orgId: 'practice-a', orgName: 'Practice A', network: 'test', orderer: { batchTimeoutMs: 2, blockTxCountMax: 4 } });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const txIds: string[] = [];
  for (let i = 0; i < 40; i++) {
    const body = { patientId: `patient-${String(i).padStart(4, '0')}`, signingKey: toHex(generateSigningKey().publicKey), encryptionKey: '22'.repeat(32), custody: 'self' };
    const result = await node.submit(node.signAsOrg('membership.register-patient', body));
    assert.ok(result.ok);
    txIds.push(result.txId);
  }
  for (const txId of txIds) await node.waitForTx(txId, 10_000);
  // A record version committed above the savepoint: which organisations may fetch its ciphertext is learnt again from the replay.
  const keys = node.records.enrol('practitioner', 'dr-a');
  assert.equal((await node.submitAndWait(node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-a', ...keys }))).status, 'ok');
  const write = await node.records.write({ practitionerId: 'dr-a', patientId: 'patient-0000', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
  assert.equal((await node.submitAndWait(write.tx)).status, 'ok');
  const ciphertextHash = node.records.version(write.recordId, 1)!.ciphertextHash!;
  const head = node.head();
  assert.ok(head.height > node.store.savedStateHeight, 'the test needs blocks above the savepoint');
  // A copy taken while the node runs, between commits, is what a kill -9 leaves on disk.
  cpSync(dir, crashed, { recursive: true });
  await node.close();

  const recovered = await ChartChainNode.open(crashed, { verifyPoolSize: 1 });
  try {
    assert.equal(recovered.head().appHash, head.appHash);
    assert.equal(recovered.store.appliedStateHeight, head.height);
    for (const txId of txIds) assert.equal(recovered.lookupTx(txId)?.status, 'ok');
    assert.ok(recovered.store.state.get(PATIENT_TABLE, 'patient-0039') !== undefined);
    assert.ok(recovered.store.state.get(TX_TABLE, txIds[0]!) !== undefined);
    assert.equal(recovered.peerBlobs.index.mayFetch('practice-a', ciphertextHash), true);
  } finally {
    await recovered.close();
  }
  assert.equal((await verifyDataDir(crashed, { poolSize: 1 })).blocks, head.height + 1);
});
