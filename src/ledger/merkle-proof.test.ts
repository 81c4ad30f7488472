import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EMPTY_ROOT, hashChildren, hashLeaf } from './merkle-hash.js';
import { MemoryNodeStore, MerkleLog } from './merkle-log.js';
import {
  HashLengthError,
  IndexOutOfRangeError,
  ProofError,
  ProofLengthError,
  RootMismatchError,
  TreeSizeOrderError,
  consistencyProofLength,
  inclusionProofLength,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle-proof.js';

const h = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const flipped = (proof: readonly Uint8Array[], i: number, byte = 0): Uint8Array[] =>
  proof.map((hash, j) => (j === i ? hash.map((b, k) => (k === byte ? b ^ 0x08 : b)) : hash));
const replaced = (proof: readonly Uint8Array[], i: number, hash: Uint8Array): Uint8Array[] =>
  proof.map((old, j) => (j === i ? hash : old));
const SOME_HASH = h('abacaba000000000000000000000000000000000000000000060061e00123456');
type ErrorClass = new (...args: never[]) => Error;

// transparency-dev/merkle testonly/constants.go and proof/verify_test.go: the RFC 6962
// test tree of 8 leaves. Its leaf numbers are 1-based; the indexes here are 0-based.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(h);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(h);
const root = (size: number): Uint8Array => ROOTS[size]!;
const [L1, L4, L6] = [
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
].map(h) as [Uint8Array, Uint8Array, Uint8Array];
const [N1_0, N1_1, N1_2, N1_3] = [
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
].map(h) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
const [N2_0, N2_1] = [
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
].map(h) as [Uint8Array, Uint8Array];
const L0 = root(1);
const INCLUSION = [
  { leafIndex: 0, treeSize: 1, proof: [] },
  { leafIndex: 0, treeSize: 8, proof: [L1, N1_1, N2_1] },
  { leafIndex: 5, treeSize: 8, proof: [L4, N1_3, N2_0] },
  { leafIndex: 2, treeSize: 3, proof: [N1_0] },
  { leafIndex: 1, treeSize: 5, proof: [L0, N1_1, L4] },
];
const CONSISTENCY = [
  { size1: 1, size2: 8, proof: [L1, N1_1, N2_1] },
  { size1: 6, size2: 8, proof: [N1_2, N1_3, N2_0] },
  { size1: 2, size2: 5, proof: [N1_1, L4] },
  { size1: 6, size2: 7, proof: [N1_2, L6, N2_0] },
];

// The wantErr probes of transparency-dev/merkle's corruptInclusionProof / corruptConsistencyProof.
function inclusionProbes(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
) {
  const probes: [string, () => void][] = [
    ['leafIndex - 1', () => verifyInclusion(leafIndex - 1, treeSize, leafHash, proof, root)],
    ['leafIndex + 1', () => verifyInclusion(leafIndex + 1, treeSize, leafHash, proof, root)],
    ['leafIndex ^ 2', () => verifyInclusion(leafIndex ^ 2, treeSize, leafHash, proof, root)],
    ['treeSize * 2', () => verifyInclusion(leafIndex, treeSize * 2, leafHash, proof, root)],
    [
      'treeSize / 2',
      () => verifyInclusion(leafIndex, Math.floor(treeSize / 2), leafHash, proof, root),
    ],
    ['wrong leaf', () => verifyInclusion(leafIndex, treeSize, SOME_HASH, proof, root)],
    ['empty root', () => verifyInclusion(leafIndex, treeSize, leafHash, proof, EMPTY_ROOT)],
    ['trailing root', () => verifyInclusion(leafIndex, treeSize, leafHash, [...proof, root], root)],
    [
      'preceding root',
      () => verifyInclusion(leafIndex, treeSize, leafHash, [root, ...proof], root),
    ],
    [
      'removed last',
      () => verifyInclusion(leafIndex, treeSize, leafHash, proof.slice(0, -1), root),
    ],
    [
      'inserted component',
      () =>
        verifyInclusion(
          leafIndex,
          treeSize,
          leafHash,
          [...proof.slice(0, 1), SOME_HASH, ...proof.slice(1)],
          root,
        ),
    ],
  ];
  proof.forEach((_, i) =>
    probes.push([
      `flipped proof[${i}]`,
      () => verifyInclusion(leafIndex, treeSize, leafHash, flipped(proof, i), root),
    ]),
  );
  return probes.filter(([name]) => proof.length > 0 || name !== 'removed last');
}

function consistencyProbes(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: Uint8Array[],
) {
  const probes: [string, () => void][] = [
    ['size1 - 1', () => verifyConsistency(size1 - 1, size2, root1, root2, proof)],
    ['size1 + 1', () => verifyConsistency(size1 + 1, size2, root1, root2, proof)],
    ['size1 ^ 2', () => verifyConsistency(size1 ^ 2, size2, root1, root2, proof)],
    ['size2 * 2', () => verifyConsistency(size1, size2 * 2, root1, root2, proof)],
    ['size2 / 2', () => verifyConsistency(size1, Math.floor(size2 / 2), root1, root2, proof)],
    ['wrong root1', () => verifyConsistency(size1, size2, SOME_HASH, root2, proof)],
    ['wrong root2', () => verifyConsistency(size1, size2, root1, SOME_HASH, proof)],
    ['swapped roots', () => verifyConsistency(size1, size2, root2, root1, proof)],
    ['empty proof', () => verifyConsistency(size1, size2, root1, root2, [])],
    ['trailing root1', () => verifyConsistency(size1, size2, root1, root2, [...proof, root1])],
    ['trailing root2', () => verifyConsistency(size1, size2, root1, root2, [...proof, root2])],
    ['preceding root2', () => verifyConsistency(size1, size2, root1, root2, [root2, ...proof])],
    ['truncated', () => verifyConsistency(size1, size2, root1, root2, proof.slice(0, -1))],
  ];
  proof.forEach((_, i) =>
    probes.push([
      `flipped proof[${i}]`,
      () => verifyConsistency(size1, size2, root1, root2, flipped(proof, i)),
    ]),
  );
  return probes;
}

function assertRejects(name: string, run: () => void, errorClass: ErrorClass = ProofError): void {
  assert.throws(
    run,
    (e: unknown) =>
      e instanceof errorClass || (errorClass === ProofError && e instanceof RangeError),
    name,
  );
}

describe('verifyInclusion known answers', () => {
  for (const { leafIndex, treeSize, proof } of INCLUSION) {
    test(`PATH(${leafIndex}, ${treeSize}) verifies and every corruption fails`, () => {
      const leafHash = hashLeaf(LEAVES[leafIndex]!);
      assert.deepEqual(
        rootFromInclusionProof(leafIndex, treeSize, leafHash, proof),
        root(treeSize),
      );
      verifyInclusion(leafIndex, treeSize, leafHash, proof, root(treeSize));
      for (const [name, run] of inclusionProbes(
        leafIndex,
        treeSize,
        leafHash,
        proof,
        root(treeSize),
      ))
        assertRejects(name, run);
    });
  }
});

describe('verifyConsistency known answers', () => {
  for (const { size1, size2, proof } of CONSISTENCY) {
    test(`PROOF(${size1}, ${size2}) verifies and every corruption fails`, () => {
      verifyConsistency(size1, size2, root(size1), root(size2), proof);
      for (const [name, run] of consistencyProbes(size1, size2, root(size1), root(size2), proof))
        assertRejects(name, run);
    });
  }

  test('trivial sizes (transparency-dev/merkle TestVerifyConsistency)', () => {
    verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []);
    verifyConsistency(0, 1, EMPTY_ROOT, root(1), []);
    verifyConsistency(0, 8, EMPTY_ROOT, SOME_HASH, []);
    verifyConsistency(1, 1, root(1), root(1), []);
    verifyConsistency(8, 8, root(8), root(8), []);
  });
});

describe('hostile server (wantErr)', () => {
  const leaf0 = hashLeaf(LEAVES[0]!);
  const cases: [string, () => void, ErrorClass][] = [
    [
      'leafIndex == treeSize',
      () => verifyInclusion(8, 8, leaf0, [L1, N1_1, N2_1], root(8)),
      IndexOutOfRangeError,
    ],
    [
      'leafIndex > treeSize',
      () => verifyInclusion(9, 8, leaf0, [L1, N1_1, N2_1], root(8)),
      IndexOutOfRangeError,
    ],
    ['treeSize 0', () => verifyInclusion(0, 0, leaf0, [], EMPTY_ROOT), IndexOutOfRangeError],
    [
      'inclusion proof too long',
      () => verifyInclusion(0, 1, leaf0, [L1], root(1)),
      ProofLengthError,
    ],
    [
      'inclusion proof too short',
      () => verifyInclusion(0, 8, leaf0, [L1, N1_1], root(8)),
      ProofLengthError,
    ],
    [
      'leaf hash of 31 bytes',
      () => verifyInclusion(0, 1, leaf0.subarray(1), [], root(1)),
      HashLengthError,
    ],
    [
      'root of 33 bytes',
      () => verifyInclusion(0, 1, leaf0, [], new Uint8Array(33)),
      HashLengthError,
    ],
    [
      'empty proof element',
      () => verifyInclusion(0, 8, leaf0, [L1, new Uint8Array(0), N2_1], root(8)),
      HashLengthError,
    ],
    ['size1 > size2', () => verifyConsistency(8, 6, root(8), root(6), []), TreeSizeOrderError],
    [
      'size1 == size2, non-empty proof',
      () => verifyConsistency(8, 8, root(8), root(8), [root(8)]),
      ProofLengthError,
    ],
    [
      'size1 == size2, different roots',
      () => verifyConsistency(8, 8, root(8), root(7), []),
      RootMismatchError,
    ],
    [
      'size1 == 0, non-empty proof',
      () => verifyConsistency(0, 8, EMPTY_ROOT, root(8), [root(8)]),
      ProofLengthError,
    ],
    [
      'size1 == 0, root1 not the empty root',
      () => verifyConsistency(0, 8, root(1), root(8), []),
      RootMismatchError,
    ],
    [
      'size1 < size2, empty proof',
      () => verifyConsistency(6, 8, root(6), root(8), []),
      ProofLengthError,
    ],
    [
      'root1 of 31 bytes',
      () => verifyConsistency(6, 8, root(6).subarray(1), root(8), [N1_2, N1_3, N2_0]),
      HashLengthError,
    ],
    [
      'root2 of 0 bytes',
      () => verifyConsistency(6, 8, root(6), new Uint8Array(0), [N1_2, N1_3, N2_0]),
      HashLengthError,
    ],
    // CVE-2022-36111: immudb accepted proofs whose last part did not bind the new root.
    [
      'CVE-2022-36111: last element replaced',
      () => verifyConsistency(6, 8, root(6), root(8), replaced([N1_2, N1_3, N2_0], 2, SOME_HASH)),
      RootMismatchError,
    ],
    [
      'CVE-2022-36111: extra final element',
      () => verifyConsistency(6, 8, root(6), root(8), [N1_2, N1_3, N2_0, SOME_HASH]),
      ProofLengthError,
    ],
    ['negative leafIndex', () => verifyInclusion(-1, 8, leaf0, [], root(8)), RangeError],
    ['fractional treeSize', () => verifyInclusion(0, 1.5, leaf0, [], root(1)), RangeError],
    ['treeSize beyond 2^53', () => verifyConsistency(1, 2 ** 53, root(1), root(8), []), RangeError],
  ];
  for (const [name, run, errorClass] of cases) test(name, () => assert.throws(run, errorClass));

  test('CVE-2022-36111: root1 rebuilds correctly but the final part is garbage', () => {
    // In 2 → 5 and 6 → 7 the elements L4 and L6 only ever feed the new root, so root1
    // still rebuilds: only checking root2 as well catches the forgery.
    for (const [size1, size2, proof, i] of [
      [2, 5, [N1_1, L4], 1],
      [6, 7, [N1_2, L6, N2_0], 1],
    ] as const) {
      assert.throws(
        () =>
          verifyConsistency(size1, size2, root(size1), root(size2), replaced(proof, i, SOME_HASH)),
        (e: unknown) =>
          e instanceof RootMismatchError && e.root === 'root2' && e.expected === root(size2),
      );
    }
  });

  test('errors carry their evidence and share the ProofError base', () => {
    assert.throws(
      () => verifyInclusion(0, 8, leaf0, [L1, N1_1], root(8)),
      (e: unknown) =>
        e instanceof ProofLengthError &&
        e instanceof ProofError &&
        e.name === 'ProofLengthError' &&
        e.expected === 3 &&
        e.actual === 2,
    );
    assert.throws(
      () => verifyInclusion(0, 8, leaf0, [L1, N1_1, N2_0], root(8)),
      (e: unknown) =>
        e instanceof RootMismatchError &&
        e.root === 'root' &&
        e.expected === root(8) &&
        e.calculated.length === 32,
    );
  });
});

describe('proof verification properties', () => {
  const logs = new Map<number, MerkleLog>();
  const logOf = (size: number): MerkleLog => {
    let log = logs.get(size);
    if (log === undefined) {
      log = new MerkleLog(new MemoryNodeStore(), 0);
      // Leaves carry their index: equal leaves would make a position ambiguous.
      for (let i = 0; i < size; i++) log.append(Uint8Array.of(i >> 8, i & 0xff));
      logs.set(size, log);
    }
    return log;
  };
  const anyTree = fc.integer({ min: 1, max: 300 }).chain((treeSize) =>
    fc.record({
      treeSize: fc.constant(treeSize),
      leafIndex: fc.nat(treeSize - 1),
      other: fc.nat(treeSize - 1),
      byte: fc.nat(31),
      pick: fc.nat(),
    }),
  );

  test('every leaf proof verifies, and any tampering throws a ProofError', () => {
    fc.assert(
      fc.property(anyTree, ({ treeSize, leafIndex, other, byte, pick }) => {
        const log = logOf(treeSize);
        const [leafHash, proof, root] = [
          log.leafHash(leafIndex),
          log.inclusionProof(leafIndex, treeSize),
          log.root(),
        ];
        for (let i = 0; i < treeSize; i++)
          verifyInclusion(i, treeSize, log.leafHash(i), log.inclusionProof(i, treeSize), root);
        assert.equal(proof.length, inclusionProofLength(leafIndex, treeSize));
        if (proof.length > 0)
          assertRejects(
            'flipped byte',
            () =>
              verifyInclusion(
                leafIndex,
                treeSize,
                leafHash,
                flipped(proof, pick % proof.length, byte),
                root,
              ),
            RootMismatchError,
          );
        if (proof.length > 0)
          assertRejects(
            'truncated',
            () => verifyInclusion(leafIndex, treeSize, leafHash, proof.slice(0, -1), root),
            ProofLengthError,
          );
        assertRejects(
          'extra hash',
          () => verifyInclusion(leafIndex, treeSize, leafHash, [...proof, SOME_HASH], root),
          ProofLengthError,
        );
        if (other !== leafIndex)
          assertRejects('other leafIndex', () =>
            verifyInclusion(other, treeSize, leafHash, proof, root),
          );
        assertRejects('treeSize * 2', () =>
          verifyInclusion(leafIndex, treeSize * 2, leafHash, proof, root),
        );
        assertRejects('treeSize / 2', () =>
          verifyInclusion(leafIndex, Math.floor(treeSize / 2), leafHash, proof, root),
        );
        assertRejects(
          'wrong root',
          () => verifyInclusion(leafIndex, treeSize, leafHash, proof, log.root(treeSize - 1)),
          RootMismatchError,
        );
      }),
      { numRuns: 60 },
    );
  });

  test('every consistency proof verifies, and any tampering throws a ProofError', () => {
    fc.assert(
      fc.property(anyTree, ({ treeSize: size2, other, byte, pick }) => {
        const log = logOf(size2);
        const size1 = other + 1;
        const [root1, root2, proof] = [
          log.root(size1),
          log.root(size2),
          log.consistencyProof(size1, size2),
        ];
        verifyConsistency(size1, size2, root1, root2, proof);
        assert.equal(proof.length, consistencyProofLength(size1, size2));
        if (proof.length === 0) return;
        for (const [name, run] of consistencyProbes(size1, size2, root1, root2, proof))
          assertRejects(name, run);
        assertRejects(
          'flipped byte',
          () =>
            verifyConsistency(
              size1,
              size2,
              root1,
              root2,
              flipped(proof, pick % proof.length, byte),
            ),
          RootMismatchError,
        );
        assertRejects(
          'last replaced',
          () =>
            verifyConsistency(
              size1,
              size2,
              root1,
              root2,
              replaced(proof, proof.length - 1, SOME_HASH),
            ),
          RootMismatchError,
        );
      }),
      { numRuns: 200 },
    );
  });

  test('an inclusion proof binds treeSize only through its root', () => {
    // PATH(0, 3) and PATH(0, 4) have the same shape, so a root must be trusted together
    // with its size, as a signed tree head does; a verifier cannot infer the size.
    const log = logOf(3);
    verifyInclusion(0, 4, log.leafHash(0), log.inclusionProof(0, 3), log.root());
  });
});

describe('sizes beyond 2^32 use exact arithmetic', () => {
  test('last leaf of a 2^40 + 1 leaf tree, and consistency from 2^40', () => {
    const [treeSize, left, leafHash] = [2 ** 40 + 1, SOME_HASH, hashLeaf(Uint8Array.of(1))];
    const root = hashChildren(left, leafHash);
    assert.equal(inclusionProofLength(2 ** 40, treeSize), 1);
    assert.equal(inclusionProofLength(0, treeSize), 41);
    assert.equal(inclusionProofLength(0, Number.MAX_SAFE_INTEGER), 53);
    verifyInclusion(2 ** 40, treeSize, leafHash, [left], root);
    verifyConsistency(2 ** 40, treeSize, left, root, [leafHash]);
    assertRejects('off by 2^32', () =>
      verifyInclusion(2 ** 40 - 2 ** 32, treeSize, leafHash, [left], root),
    );
  });
});
