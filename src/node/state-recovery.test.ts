import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKey, toHex } from '../crypto/index.js';
import { PATIENT_TABLE, TX_TABLE } from '../contracts/index.js';
import { ChartChainNode } from './node.js';
import { verifyDataDir } from '../verifier/index.js';

function patientBody(patientId: string) {
  return {
    patientId,
    signingKey: toHex(generateSigningKey().publicKey),
    encryptionKey: '22'.repeat(32),
    custody: 'self',
  };
}

test('after a crash, blocks above the state savepoint are replayed into the same state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-recovery-'));
  const crashed = mkdtempSync(join(tmpdir(), 'chartchain-recovery-copy-'));
  t.after(() => [dir, crashed].forEach((path) => rmSync(path, { recursive: true, force: true })));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 2, blockTxCountMax: 4 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const txIds: string[] = [];
  for (let i = 0; i < 40; i++) {
    const result = await node.submit(
      node.signAsOrg(
        'membership.register-patient',
        patientBody(`patient-${String(i).padStart(4, '0')}`),
      ),
    );
    assert.ok(result.ok);
    txIds.push(result.txId);
  }
  for (const txId of txIds) await node.waitForTx(txId, 10_000);
  // A record version committed above the savepoint: which organisations may fetch its ciphertext is learnt again from the replay.
  const keys = node.records.enrol('practitioner', 'dr-a');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-practitioner', { practitionerId: 'dr-a', ...keys }),
      )
    ).status,
    'ok',
  );
  const write = await node.records.write({
    practitionerId: 'dr-a',
    patientId: 'patient-0000',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
  });
  assert.equal((await node.submitAndWait(write.tx)).status, 'ok');
  const ciphertextHash = node.records.version(write.recordId, 1)!.ciphertextHash!;
  const head = node.head();
  assert.ok(head.height > node.store.savedStateHeight, 'the test needs blocks above the savepoint');
  // A copy taken while the node runs, between commits, is what a kill -9 leaves on disk.
  cpSync(dir, crashed, { recursive: true });
  await node.close();

  const recovered = await ChartChainNode.open(crashed, { verifyPoolSize: 1 });
  let finalHeight: number;
  try {
    assert.equal(recovered.head().appHash, head.appHash);
    assert.equal(recovered.store.appliedStateHeight, head.height);
    for (const txId of txIds) assert.equal(recovered.lookupTx(txId)?.status, 'ok');
    assert.ok(recovered.store.state.get(PATIENT_TABLE, 'patient-0039') !== undefined);
    assert.ok(recovered.store.state.get(TX_TABLE, txIds[0]!) !== undefined);
    assert.equal(recovered.peerBlobs.index.mayFetch('practice-a', ciphertextHash), true);
    // The organisation's signer starts above the nonces the replayed blocks spent, not at the
    // savepoint's: its first transaction and the access log of a read are admitted and commit.
    const next = await recovered.submitAndWait(
      recovered.signAsOrg('membership.register-patient', patientBody('patient-0040')),
    );
    assert.equal(next.status, 'ok');
    const read = await recovered.access.read(
      { kind: 'practitioner', id: 'dr-nobody', org: 'practice-a' },
      'no-such-record',
      { purpose: 'TREAT' },
    );
    assert.equal(read.outcome, 'deny');
    // The log landed with its nonce; the contract records the read of nothing as denied.
    assert.equal((await recovered.waitForTx(read.txId, 10_000)).status, 'denied:no-such-record');
    finalHeight = recovered.head().height;
  } finally {
    await recovered.close();
  }
  assert.equal((await verifyDataDir(crashed, { poolSize: 1 })).blocks, finalHeight + 1);
});

test('after a restart, the organisation signs above the nonces of its transactions still queued, so both commit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-recovery-queued-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Two transactions cut a block; one alone waits for a timeout no test reaches.
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 600_000, blockTxCountMax: 2 },
  });
  const first = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const queued = await first.submit(
    first.signAsOrg('membership.register-patient', patientBody('patient-0001')),
  );
  assert.ok(queued.ok, JSON.stringify(queued));
  await first.close();

  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    assert.equal(node.pendingCount, 1);
    const next = await node.submit(
      node.signAsOrg('membership.register-patient', patientBody('patient-0002')),
    );
    assert.ok(next.ok, JSON.stringify(next));
    assert.equal((await node.waitForTx(queued.txId, 10_000)).status, 'ok');
    assert.equal(
      (await node.waitForTx(next.txId, 10_000)).status,
      'ok',
      "the new transaction did not reuse the queued one's nonce",
    );
  } finally {
    await node.close();
  }
});
