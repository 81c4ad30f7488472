/**
 * The web app's own proof checks (web/src/merkle.ts, tree-head.ts, record-proof.ts) against the
 * node's: they must accept every proof the node's RFC 9162 log makes, and nothing altered.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { canonicalize, generateSigningKey, sha256, toHex } from '../src/crypto/index.js';
import {
  headerSigningMessage,
  MemoryNodeStore,
  MerkleLog,
  signHeader,
} from '../src/ledger/index.js';
import { verifyConsistency, verifyInclusion } from '../web/src/merkle.js';
import { canonicalJson } from '../web/src/canonical-json.js';
import { checkGrowth, checkSignature, signedMessage, type TreeHead } from '../web/src/tree-head.js';

const SIZE_MAX = 40;
const log = new MerkleLog(new MemoryNodeStore(), 0);
for (let i = 0; i < SIZE_MAX; i++) log.append(new TextEncoder().encode(`leaf ${i}`));
const hex = (hashes: readonly Uint8Array[]) => hashes.map(toHex);
const leafHash = (i: number) =>
  toHex(sha256(new Uint8Array([0, ...new TextEncoder().encode(`leaf ${i}`)])));
const flip = (text: string) => (text[0] === '0' ? '1' : '0') + text.slice(1);

describe('RFC 9162 proofs checked as the browser checks them', () => {
  test('every inclusion proof of every tree up to 40 leaves verifies; a flipped leaf, path hash or index does not', async () => {
    for (let size = 1; size <= SIZE_MAX; size++) {
      const root = toHex(log.root(size));
      for (let index = 0; index < size; index++) {
        const path = hex(log.inclusionProof(index, size));
        assert.ok(
          await verifyInclusion(index, size, leafHash(index), path, root),
          `leaf ${index} of ${size}`,
        );
        assert.equal(await verifyInclusion(index, size, flip(leafHash(index)), path, root), false);
        if (path.length > 0)
          assert.equal(
            await verifyInclusion(
              index,
              size,
              leafHash(index),
              [flip(path[0]!), ...path.slice(1)],
              root,
            ),
            false,
          );
        if (size > 1)
          assert.equal(
            await verifyInclusion((index + 1) % size, size, leafHash(index), path, root),
            false,
          );
      }
    }
  });

  test('every consistency proof between trees up to 40 leaves verifies; a changed old root does not', async () => {
    for (let second = 1; second <= SIZE_MAX; second++) {
      for (let first = 1; first <= second; first++) {
        const proof = hex(log.consistencyProof(first, second));
        const [firstRoot, secondRoot] = [toHex(log.root(first)), toHex(log.root(second))];
        assert.ok(
          await verifyConsistency(first, second, firstRoot, secondRoot, proof),
          `${first} → ${second}`,
        );
        assert.equal(
          await verifyConsistency(first, second, flip(firstRoot), secondRoot, proof),
          false,
          `${first} → ${second} with another old root`,
        );
      }
    }
  });
});

describe('signed tree heads', () => {
  const key = generateSigningKey();
  const head = signHeader(
    {
      height: 7,
      prevHash: 'ab'.repeat(32),
      time: 1_796_000_000_000,
      txRoot: 'cd'.repeat(32),
      logSize: 12,
      logRoot: 'ef'.repeat(32),
      appHash: '01'.repeat(32),
      proposer: key.keyId,
    },
    key,
  ) as TreeHead;

  test('the browser signs over exactly the bytes the node signs', () => {
    assert.deepEqual(signedMessage(head), headerSigningMessage(head));
  });

  test('a second, different header for a log size this browser saw is a fork, even with the same root', async () => {
    const seen = {
      treeSize: head.logSize,
      logRoot: head.logRoot,
      proposerKey: toHex(key.publicKey),
      height: head.height,
      appHash: head.appHash,
      proposer: head.proposer,
    };
    await checkGrowth(seen, head, undefined);
    await assert.rejects(
      checkGrowth(seen, { ...head, height: head.height + 1000 }, undefined),
      /two different block headers/,
    );
    await assert.rejects(
      checkGrowth(seen, { ...head, appHash: '02'.repeat(32) }, undefined),
      /two different block headers/,
    );
    await assert.rejects(
      checkGrowth(seen, { ...head, logRoot: '03'.repeat(32) }, undefined),
      /different root/,
    );
    await assert.rejects(
      checkGrowth(seen, { ...head, logSize: head.logSize - 1 }, undefined),
      /shrank/,
    );
  });

  test('a header the node signed verifies; one with another root, or under another key, is refused naming why', async () => {
    await checkSignature(head, toHex(key.publicKey));
    await assert.rejects(
      checkSignature({ ...head, logRoot: '00'.repeat(32) }, toHex(key.publicKey)),
      /does not verify/,
    );
    await assert.rejects(
      checkSignature(head, toHex(generateSigningKey().publicKey)),
      /different key/,
    );
  });
});

test('the browser canonicalises FHIR resources as the node does (RFC 8785)', () => {
  const dir = join(import.meta.dirname, 'fixtures', 'hl7-examples');
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .slice(0, 40)) {
    const resource = JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
    assert.equal(canonicalJson(resource), canonicalize(resource), name);
  }
});
