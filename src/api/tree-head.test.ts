import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { NETWORK_GENESIS_PUBLIC_KEY, type BlockHeader } from '../ledger/index.js';
import { serveNode } from './testonly/served-node-fixture.js';

interface TreeHeadAnswer {
  readonly treeSize: number;
  readonly treeHead: BlockHeader;
  readonly proposerKey: string;
}

/**
 * What a browser does with the answer alone: the key's id is SHA-256 of the raw key, and the
 * signature covers "chartchain/block/v1\n" and the header without `sig` as canonical JSON (RFC
 * 8785: for these integers and strings, keys sorted and no spaces).
 */
function verifiesAlone({ treeHead, proposerKey }: TreeHeadAnswer): boolean {
  const raw = Buffer.from(proposerKey, 'hex');
  assert.equal(raw.length, 32);
  assert.equal(
    createHash('sha256').update(raw).digest('hex'),
    treeHead.proposer,
    'the key is the one the header names',
  );
  const { sig, ...unsigned } = treeHead;
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(unsigned).sort(([a], [b]) => (a < b ? -1 : 1))),
  );
  const message = Buffer.concat([
    Buffer.from('chartchain/block/v1\n', 'utf8'),
    Buffer.from(canonical, 'utf8'),
  ]);
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  return verify(null, message, key, Buffer.from(sig, 'hex'));
}

test("GET /ledger/tree-head names its proposer's raw public key, and the signature verifies from that answer alone", async (t) => {
  const { node, app } = await serveNode(t); // the fixture committed a block after genesis
  const newest = (await app.inject('/ledger/tree-head')).json() as TreeHeadAnswer;
  assert.ok(newest.treeHead.height > 0);
  assert.equal(newest.treeSize, node.head().logSize);
  assert.equal(
    newest.proposerKey,
    Buffer.from(node.keys.signing.publicKey).toString('hex'),
    "the organisation's signing key",
  );
  assert.match(newest.proposerKey, /^[0-9a-f]{64}$/);
  assert.ok(verifiesAlone(newest));

  const genesis = (await app.inject('/ledger/tree-head?treeSize=1')).json() as TreeHeadAnswer;
  assert.equal(genesis.treeHead.height, 0);
  assert.equal(
    genesis.proposerKey,
    NETWORK_GENESIS_PUBLIC_KEY,
    'height 0 is signed by the published genesis key',
  );
  assert.ok(verifiesAlone(genesis));

  // The check can fail: another header's fields, or another key, do not verify.
  assert.ok(
    !verifiesAlone({ ...newest, treeHead: { ...newest.treeHead, time: newest.treeHead.time + 1 } }),
  );
  assert.throws(
    () => verifiesAlone({ ...newest, proposerKey: genesis.proposerKey }),
    /the key is the one the header names/,
  );
  assert.equal((await app.inject('/ledger/tree-head?treeSize=999')).statusCode, 404);
});
