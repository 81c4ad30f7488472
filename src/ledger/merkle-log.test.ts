import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EMPTY_ROOT, hashHex, hashLeaf } from './merkle-hash.js';
import { MemoryNodeStore, MerkleLog, type MerkleNodeStore } from './merkle-log.js';

// RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 transcribed literally over an array of leaves,
// with its own hashing, so that nothing it computes leans on the code under test.
function referenceSha256(...parts: Uint8Array[]): Uint8Array {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return new Uint8Array(hasher.digest());
}

function referenceSplit(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return referenceSha256();
  if (leaves.length === 1) return referenceSha256(Uint8Array.of(0), leaves[0] as Uint8Array);
  const k = referenceSplit(leaves.length);
  return referenceSha256(
    Uint8Array.of(1),
    referenceRoot(leaves.slice(0, k)),
    referenceRoot(leaves.slice(k)),
  );
}

function referencePath(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  const k = referenceSplit(leaves.length);
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))];
}

function referenceSubproof(m: number, leaves: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === leaves.length) return b ? [] : [referenceRoot(leaves)];
  const k = referenceSplit(leaves.length);
  return m <= k
    ? [...referenceSubproof(m, leaves.slice(0, k), b), referenceRoot(leaves.slice(k))]
    : [...referenceSubproof(m - k, leaves.slice(k), false), referenceRoot(leaves.slice(0, k))];
}

function referenceProof(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  return referenceSubproof(m, leaves, true);
}

const hex = (hashes: readonly Uint8Array[]): string[] => hashes.map(hashHex);
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

function logOf(
  leaves: readonly Uint8Array[],
  store: MerkleNodeStore = new MemoryNodeStore(),
): MerkleLog {
  const log = new MerkleLog(store, 0);
  for (const leaf of leaves) log.append(leaf);
  return log;
}

// transparency-dev/merkle testonly/constants.go: the RFC 6962 test tree of 8 leaves.
const KAT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);
const KAT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const KAT_NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];
// transparency-dev/merkle proof/verify_test.go (its leaf numbers are 1-based; these are 0-based).
const KAT_INCLUSION = [
  { leafIndex: 0, treeSize: 1, proof: [] },
  { leafIndex: 0, treeSize: 8, proof: [KAT_NODES[0]![1]!, KAT_NODES[1]![1]!, KAT_NODES[2]![1]!] },
  { leafIndex: 5, treeSize: 8, proof: [KAT_NODES[0]![4]!, KAT_NODES[1]![3]!, KAT_NODES[2]![0]!] },
  { leafIndex: 2, treeSize: 3, proof: [KAT_NODES[1]![0]!] },
  { leafIndex: 1, treeSize: 5, proof: [KAT_NODES[0]![0]!, KAT_NODES[1]![1]!, KAT_NODES[0]![4]!] },
];
const KAT_CONSISTENCY = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: [KAT_NODES[0]![1]!, KAT_NODES[1]![1]!, KAT_NODES[2]![1]!] },
  { size1: 6, size2: 8, proof: [KAT_NODES[1]![2]!, KAT_NODES[1]![3]!, KAT_NODES[2]![0]!] },
  { size1: 2, size2: 5, proof: [KAT_NODES[1]![1]!, KAT_NODES[0]![4]!] },
  { size1: 6, size2: 7, proof: [KAT_NODES[1]![2]!, KAT_NODES[0]![6]!, KAT_NODES[2]![0]!] },
];

describe('MerkleLog known answers (RFC 6962 test tree)', () => {
  test('empty tree root is SHA-256("")', () => {
    assert.equal(
      hashHex(EMPTY_ROOT),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(hashHex(new MerkleLog(new MemoryNodeStore(), 0).root()), KAT_ROOTS[0]);
  });

  test('roots of sizes 0..8, both while growing and afterwards', () => {
    const log = new MerkleLog(new MemoryNodeStore(), 0);
    KAT_LEAVES.forEach((leaf, i) => {
      log.append(leaf);
      assert.equal(hashHex(log.root()), KAT_ROOTS[i + 1]);
    });
    KAT_ROOTS.forEach((root, size) => assert.equal(hashHex(log.root(size)), root));
    KAT_ROOTS.forEach((root, size) =>
      assert.equal(hashHex(referenceRoot(KAT_LEAVES.slice(0, size))), root),
    );
  });

  test('stored perfect-subtree nodes', () => {
    const store = new MemoryNodeStore();
    logOf(KAT_LEAVES, store);
    KAT_NODES.forEach((nodes, level) =>
      nodes.forEach((node, index) =>
        assert.equal(hashHex(store.getNode(level, index)!), node, `node (${level}, ${index})`),
      ),
    );
  });

  test('inclusion and consistency proofs', () => {
    const log = logOf(KAT_LEAVES);
    for (const { leafIndex, treeSize, proof } of KAT_INCLUSION) {
      assert.deepEqual(
        hex(log.inclusionProof(leafIndex, treeSize)),
        proof,
        `PATH(${leafIndex}, ${treeSize})`,
      );
    }
    for (const { size1, size2, proof } of KAT_CONSISTENCY) {
      assert.deepEqual(hex(log.consistencyProof(size1, size2)), proof, `PROOF(${size1}, ${size2})`);
    }
  });
});

describe('MerkleLog against the recursive reference', () => {
  // Leaves carry their index, so no two are equal and every proof pins one position.
  const leavesOf = (size: number, salt: number): Uint8Array[] =>
    Array.from({ length: size }, (_, i) => Uint8Array.of(i >> 8, i & 0xff, salt));

  test('every size, index and earlier size up to 33 leaves', () => {
    const leaves = leavesOf(33, 1);
    const log = logOf(leaves);
    for (let size = 0; size <= leaves.length; size++) {
      const prefix = leaves.slice(0, size);
      assert.deepEqual(hex([log.root(size)]), hex([referenceRoot(prefix)]), `root(${size})`);
      for (let i = 0; i < size; i++)
        assert.deepEqual(hex(log.inclusionProof(i, size)), hex(referencePath(i, prefix)));
      for (let m = 1; m <= size; m++)
        assert.deepEqual(hex(log.consistencyProof(m, size)), hex(referenceProof(m, prefix)));
      assert.deepEqual(log.consistencyProof(0, size), []);
    }
  });

  test('random sizes 1..300: root, inclusion and consistency proofs match', () => {
    const sample = fc.integer({ min: 1, max: 300 }).chain((size) =>
      fc.record({
        size: fc.constant(size),
        salt: fc.nat(255),
        leafIndex: fc.nat(size - 1),
        size1: fc.integer({ min: 1, max: size }),
      }),
    );
    fc.assert(
      fc.property(sample, ({ size, salt, leafIndex, size1 }) => {
        const leaves = leavesOf(size, salt);
        const log = logOf(leaves);
        const earlier = leaves.slice(0, size1);
        assert.equal(hashHex(log.root()), hashHex(referenceRoot(leaves)));
        assert.equal(hashHex(log.root(size1)), hashHex(referenceRoot(earlier)));
        assert.equal(hashHex(log.leafHash(leafIndex)), hashHex(hashLeaf(leaves[leafIndex]!)));
        assert.deepEqual(
          hex(log.inclusionProof(leafIndex, size)),
          hex(referencePath(leafIndex, leaves)),
        );
        assert.deepEqual(
          hex(log.inclusionProof(leafIndex % size1, size1)),
          hex(referencePath(leafIndex % size1, earlier)),
        );
        assert.deepEqual(
          hex(log.consistencyProof(size1, size)),
          hex(referenceProof(size1, leaves)),
        );
      }),
      { numRuns: 150 },
    );
  });

  test('reopening a store at its size continues the same tree', () => {
    const leaves = leavesOf(77, 9);
    const store = new MemoryNodeStore();
    logOf(leaves.slice(0, 45), store);
    const reopened = new MerkleLog(store, 45);
    for (const leaf of leaves.slice(45)) reopened.append(leaf);
    assert.equal(hashHex(reopened.root()), hashHex(referenceRoot(leaves)));
  });
});

describe('MerkleLog store access is O(log n)', () => {
  class CountingStore implements MerkleNodeStore {
    reads = 0;
    writes = 0;
    private readonly inner = new MemoryNodeStore();
    getNode(level: number, index: number): Uint8Array | undefined {
      this.reads++;
      return this.inner.getNode(level, index);
    }
    putNode(level: number, index: number, hash: Uint8Array): void {
      this.writes++;
      this.inner.putNode(level, index, hash);
    }
  }
  const size = 2 ** 16 + 3;
  const store = new CountingStore();
  const log = new MerkleLog(store, 0);
  const leafHash = new Uint8Array(32);
  for (let i = 0; i < size; i++) log.appendLeafHash(leafHash);
  const bound = 4 * Math.log2(size);

  const readsOf = (run: () => unknown): number => {
    store.reads = 0;
    run();
    return store.reads;
  };

  test('appends write about two nodes each', () => {
    assert.ok(store.writes < 2 * size, `${store.writes} writes for ${size} leaves`);
  });

  test('root, inclusionProof and consistencyProof read fewer than 4·log2(n) nodes', () => {
    for (const treeSize of [size, size - 1, size - 2, 2 ** 16, 2 ** 16 - 1, 40_000]) {
      assert.ok(readsOf(() => log.root(treeSize)) < bound, `root(${treeSize})`);
      for (const leafIndex of [0, 1, treeSize >> 1, treeSize - 2, treeSize - 1]) {
        const reads = readsOf(() => log.inclusionProof(leafIndex, treeSize));
        assert.ok(reads < bound, `inclusionProof(${leafIndex}, ${treeSize}) read ${reads} nodes`);
      }
      for (const size1 of [1, 3, 2 ** 15, treeSize - 1]) {
        const reads = readsOf(() => log.consistencyProof(size1, treeSize));
        assert.ok(reads < bound, `consistencyProof(${size1}, ${treeSize}) read ${reads} nodes`);
      }
    }
  });
});

describe('MerkleLog bad arguments and corrupt storage', () => {
  const log = logOf(KAT_LEAVES.slice(0, 5));

  test('arguments out of range throw RangeError naming the argument', () => {
    const cases: [string, () => unknown, RegExp][] = [
      [
        'leafIndex == treeSize',
        () => log.inclusionProof(5, 5),
        /^leafIndex 5 must be < treeSize 5$/,
      ],
      [
        'treeSize beyond log',
        () => log.inclusionProof(0, 6),
        /^treeSize 6 must be <= log treeSize 5$/,
      ],
      ['treeSize 0', () => log.inclusionProof(0, 0), /leafIndex 0 must be < treeSize 0/],
      [
        'negative leafIndex',
        () => log.inclusionProof(-1, 3),
        /leafIndex must be a non-negative safe integer/,
      ],
      ['fractional treeSize', () => log.root(2.5), /treeSize must be a non-negative safe integer/],
      ['root beyond log', () => log.root(6), /treeSize 6 must be <= log treeSize 5/],
      ['size1 > size2', () => log.consistencyProof(4, 3), /size1 4 must be <= size2 3/],
      ['size2 beyond log', () => log.consistencyProof(1, 6), /size2 6 must be <= log treeSize 5/],
      ['leafHash beyond log', () => log.leafHash(5), /leafIndex 5 must be < treeSize 5/],
      [
        'short leaf hash',
        () => log.appendLeafHash(new Uint8Array(31)),
        /leafHash must be 32 bytes, got 31/,
      ],
      ['bad constructor size', () => new MerkleLog(new MemoryNodeStore(), -1), /treeSize must be/],
    ];
    for (const [name, run, message] of cases)
      assert.throws(run, (e: unknown) => e instanceof RangeError && message.test(e.message), name);
  });

  test('a missing node is reported as corrupt storage, naming the node', () => {
    const empty = new MerkleLog(new MemoryNodeStore(), 5);
    assert.throws(
      () => empty.root(),
      /storage corrupt: Merkle node \(level 2, index 0\) is missing/,
    );
    assert.throws(
      () => empty.leafHash(3),
      /storage corrupt: Merkle node \(level 0, index 3\) is missing/,
    );
  });

  test('returned hashes are copies, so callers cannot corrupt the store', () => {
    const before = hashHex(log.root());
    log.inclusionProof(0, 5).forEach((hash) => hash.fill(0));
    log.consistencyProof(3, 5).forEach((hash) => hash.fill(0));
    log.root(4).fill(0);
    log.leafHash(0).fill(0);
    const leafHash = new Uint8Array(32);
    const grown = logOf([]);
    grown.appendLeafHash(leafHash);
    leafHash.fill(7);
    assert.equal(hashHex(grown.leafHash(0)), hashHex(new Uint8Array(32)));
    assert.equal(hashHex(log.root()), before);
    assert.equal(hashHex(log.root(0)), KAT_ROOTS[0]);
  });
});
