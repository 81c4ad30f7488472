import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, generateSigningKey, toHex } from '../crypto/index.js';
import { signTransaction, verifyConsistency, verifyInclusion } from '../ledger/index.js';
import { ChartChainNode } from './node.js';
import { tempNodeDir } from './testonly/temp-node.js';
import { consistencyProof, inclusionProof } from './proofs.js';

const committedNonce = (node: ChartChainNode): number =>
  node.lastUsedNonce(node.keys.signing.keyId);

const patientBody = (id: string) => ({
  patientId: id,
  signingKey: toHex(generateSigningKey().publicKey),
  encryptionKey: '11'.repeat(32),
  custody: 'self',
});

test('a registered patient commits, with its status, leaf index and proofs', async (t) => {
  const dir = tempNodeDir(t, 'node');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    const first = node.head();
    const result = await node.submit(
      node.signAsOrg('membership.register-patient', patientBody('patient-0001')),
    );
    assert.ok(result.ok, JSON.stringify(result));
    const record = await node.waitForTx(result.txId, 5000);
    assert.equal(record.status, 'ok');
    assert.equal(record.leafIndex, 1);
    const proof = inclusionProof(node.store, result.txId);
    verifyInclusion(
      proof.leafIndex,
      proof.treeSize,
      fromHex(proof.leafHash),
      proof.inclusionProof.map((h) => fromHex(h)),
      fromHex(proof.treeHead.logRoot),
    );
    const consistency = consistencyProof(node.store, first.logSize, node.head().logSize);
    verifyConsistency(
      first.logSize,
      node.head().logSize,
      fromHex(first.logRoot),
      fromHex(node.head().logRoot),
      consistency.consistencyProof.map((h) => fromHex(h)),
    );
    const again = await node.submit(
      node.signAsOrg('membership.register-patient', patientBody('patient-0001')),
    );
    assert.ok(again.ok);
    assert.equal((await node.waitForTx(again.txId, 5000)).status, 'denied:patient-exists');
  } finally {
    await node.close();
  }
});

test('admission refuses replays, stale nonces, unknown signers and bad signatures, each with its reason', async (t) => {
  const dir = tempNodeDir(t, 'node');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    const tx = node.signAsOrg('membership.register-patient', patientBody('patient-0002'));
    const accepted = await node.submit(tx);
    assert.ok(accepted.ok);
    const replay = await node.submit(tx);
    assert.deepEqual(replay.ok ? 'accepted' : replay.status, 'invalid:duplicate-txid');
    await node.waitForTx(accepted.txId, 5000);
    const stale = await node.submit(
      signTransaction(
        { type: 'membership.register-patient', nonce: 1, body: patientBody('patient-0003') },
        node.keys.signing,
      ),
    );
    assert.equal(stale.ok ? 'accepted' : stale.status, 'invalid:stale-nonce');
    const stranger = await node.submit(
      signTransaction(
        { type: 'membership.register-patient', nonce: 1, body: patientBody('patient-0004') },
        generateSigningKey(),
      ),
    );
    assert.equal(stranger.ok ? 'accepted' : stranger.status, 'invalid:unknown-signer');
    const forged = {
      ...node.signAsOrg('membership.register-patient', patientBody('patient-0005')),
      body: patientBody('patient-0006'),
    };
    const forgedResult = await node.submit(forged);
    assert.equal(forgedResult.ok ? 'accepted' : forgedResult.status, 'invalid:bad-signature');
    const unknown = await node.submit(node.signAsOrg('records.teleport', {}));
    assert.equal(unknown.ok ? 'accepted' : unknown.status, 'invalid:unknown-type');
    assert.equal((await node.submit('{"type":')).ok, false);
  } finally {
    await node.close();
  }
});

test('a second pending transaction with a nonce its signer already holds is refused at admission and never reaches a block', async (t) => {
  const dir = tempNodeDir(t, 'node');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    const nonce = committedNonce(node) + 1;
    const sign = (n: number, patientId: string) =>
      signTransaction(
        { type: 'membership.register-patient', nonce: n, body: patientBody(patientId) },
        node.keys.signing,
      );
    // Submitted in one turn, so both are admitted before either is in a block.
    const [first, twin, lower, higher] = await Promise.all([
      node.submit(sign(nonce + 1, 'patient-0011')),
      node.submit(sign(nonce + 1, 'patient-0012')),
      node.submit(sign(nonce, 'patient-0013')),
      node.submit(sign(nonce + 2, 'patient-0014')),
    ]);
    assert.ok(first.ok && higher.ok, JSON.stringify([first, higher]));
    assert.deepEqual(twin, {
      ok: false,
      status: 'invalid:stale-nonce',
      reason: `nonce must be greater than ${nonce + 1}, held by a pending transaction of this signer`,
    });
    assert.equal(
      lower.ok ? 'accepted' : lower.status,
      'invalid:stale-nonce',
      'a nonce below a pending one could only fail in its block',
    );
    assert.equal((await node.waitForTx(first.txId, 5000)).status, 'ok');
    assert.equal((await node.waitForTx(higher.txId, 5000)).status, 'ok');
    assert.equal(node.head().logSize, 3, 'genesis and the two admitted transactions, nothing else');
  } finally {
    await node.close();
  }
});

test('a read whose access log meets a nonce spent elsewhere by the organisation key resynchronises the signer and is served', async (t) => {
  const dir = tempNodeDir(t, 'node');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    // The organisation key signs outside the node's signer (another tool holding the keystore),
    // spending the nonce the signer would use next.
    const outside = await node.submitAndWait(
      signTransaction(
        {
          type: 'membership.register-patient',
          nonce: committedNonce(node) + 1,
          body: patientBody('patient-0021'),
        },
        node.keys.signing,
      ),
    );
    assert.equal(outside.status, 'ok');
    const read = await node.access.read(
      { kind: 'practitioner', id: 'dr-nobody', org: 'practice-a' },
      'no-such-record',
      { purpose: 'TREAT' },
    );
    assert.equal(read.outcome, 'deny');
    assert.equal((await node.waitForTx(read.txId, 5000)).status, 'denied:no-such-record');
  } finally {
    await node.close();
  }
});
