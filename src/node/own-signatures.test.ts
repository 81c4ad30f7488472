import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSigningKey, toHex, VerifyPool } from '../crypto/index.js';
import {
  decodeTransaction,
  OWN_SIGNATURE_COUNT_MAX,
  type DecodedTransaction,
} from '../ledger/index.js';
import { LocalSigner } from './local-signer.js';
import { OwnSignatures } from './own-signatures.js';
import { openTempNode } from './testonly/temp-node.js';

function decoded(input: unknown): DecodedTransaction {
  const result = decodeTransaction(input);
  assert.ok(result.ok, JSON.stringify(result));
  return result;
}

test('a signature made here is vouched for once, under its own key and over its own message only', () => {
  const own = new OwnSignatures();
  const key = generateSigningKey();
  const publicKey = toHex(key.publicKey);
  const signer = new LocalSigner(key, 0, own);
  const tx = signer.sign('test.note', { text: 'a' });
  assert.equal(own.take(decoded(tx), toHex(generateSigningKey().publicKey)), false, 'another key');
  const second = signer.sign('test.note', { text: 'b' });
  assert.equal(own.take(decoded({ ...second, body: { text: 'c' } }), publicKey), false, 'altered');
  assert.equal(own.take(decoded(second), publicKey), false, 'a failed vouch is not kept');
  const third = signer.sign('test.note', { text: 'd' });
  assert.equal(own.take(decoded(third), publicKey), true);
  assert.equal(own.take(decoded(third), publicKey), false, 'once');
  const elsewhere = new LocalSigner(key, 100).sign('test.note', { text: 'e' });
  assert.equal(own.take(decoded(elsewhere), publicKey), false, 'signed without recording it');
});

test('only the newest signatures are kept', () => {
  const own = new OwnSignatures();
  const key = generateSigningKey();
  const signer = new LocalSigner(key, 0, own);
  const first = signer.sign('test.note', { text: 'first' });
  for (let i = 0; i < OWN_SIGNATURE_COUNT_MAX; i++) signer.sign('test.note', { i });
  const last = signer.sign('test.note', { text: 'last' });
  assert.equal(own.take(decoded(first), toHex(key.publicKey)), false);
  assert.equal(own.take(decoded(last), toHex(key.publicKey)), true);
});

test("the node's own transactions skip the worker pool at admission; one altered after signing is refused", async (t) => {
  const { node } = await openTempNode(t, 'own');
  t.after(() => node.close());
  const verified = t.mock.method(VerifyPool.prototype, 'verifyBatch');
  const register = (patientId: string) =>
    node.signAsOrg('membership.register-patient', {
      patientId,
      custody: 'custodial',
      ...node.records.enrol('patient', patientId),
    });
  const tx = register('patient-0001');
  const altered = await node.submit({ ...tx, body: { ...tx.body, patientId: 'patient-0002' } });
  assert.deepEqual(altered.ok ? 'admitted' : altered.status, 'invalid:bad-signature');
  assert.equal(verified.mock.callCount(), 1, 'the altered copy was checked on the pool');
  const own = register('patient-0003');
  const result = await node.submit(own);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal((await node.waitForTx(result.txId, 20_000)).status, 'ok');
  assert.equal(verified.mock.callCount(), 1, 'neither admission nor execution checked it again');
});
