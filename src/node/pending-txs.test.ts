import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSigningKey } from '../crypto/index.js';
import { decodeTransaction, signTransaction, type DecodedTransaction } from '../ledger/index.js';
import { PendingTxs } from './pending-txs.js';

const key = generateSigningKey();
const other = generateSigningKey();

function decoded(nonce: number, signer = key): DecodedTransaction {
  const result = decodeTransaction(
    signTransaction({ type: 'membership.register-patient', nonce, body: { n: nonce } }, signer),
  );
  assert.ok(result.ok);
  return result;
}

test('the highest pending nonce is kept per signer and falls back as transactions leave', () => {
  const pending = new PendingTxs();
  const [two, three, five] = [decoded(2), decoded(3), decoded(5)];
  for (const tx of [two, three, five, decoded(9, other)]) pending.add(tx);
  pending.add(five);
  assert.equal(pending.highestNonce(key.keyId), 5);
  assert.equal(pending.highestNonce(other.keyId), 9);
  // The highest left without committing (its enqueue failed): the next highest holds.
  pending.delete(five.txId);
  assert.equal(pending.highestNonce(key.keyId), 3);
  pending.delete(two.txId);
  assert.equal(pending.highestNonce(key.keyId), 3);
  pending.delete(three.txId);
  pending.delete(three.txId);
  assert.equal(
    pending.highestNonce(key.keyId),
    undefined,
    'nothing pending: committed state alone decides',
  );
  assert.equal(pending.has(three.txId), false);
  assert.equal(pending.get(decoded(9, other).txId)?.tx.nonce, 9);
});
