import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  fromHex,
  publicKeyFromRaw,
  sha256,
  signingKeyFromSeed,
  toHex,
  verify,
  type SigningKey,
} from '../crypto/index.js';
import {
  KEY_TABLE,
  ORG_TABLE,
  PROPOSAL_LIFETIME_MS,
  standardExecutor,
  type KeyRow,
  type SignatureCheck,
} from '../contracts/index.js';
import {
  decodeBlock,
  decodeTransaction,
  encodeBlock,
  signatureOf,
  signHeader,
  signingMessage,
  signTransaction,
  type Block,
  type DecodedTransaction,
  type JsonObject,
  type Transaction,
} from '../ledger/index.js';
import { assembleBlock } from '../verifier/index.js';
import { BlockValidationError, validateBlock } from '../verifier/index.js';
import { MemoryChain } from '../verifier/index.js';
import { ChartChainNode } from './node.js';

const executor = standardExecutor();
// The replaying side checks signatures itself, over a message it rebuilds from the transaction.
const checkSignature: SignatureCheck = (decoded, publicKey) =>
  verify(publicKeyFromRaw(fromHex(publicKey)), signingMessage(decoded.tx), signatureOf(decoded.tx));
const keyFor = (name: string): SigningKey => signingKeyFromSeed(sha256(`replay:${name}`));
const enrol = (
  idName: string,
  id: string,
  key: SigningKey,
  extra: JsonObject = {},
): JsonObject => ({
  [idName]: id,
  signingKey: toHex(key.publicKey),
  encryptionKey: '22'.repeat(32),
  ...extra,
});
const orgEntry = (id: string): JsonObject => ({
  orgId: id,
  name: `Org ${id}`,
  signingKey: toHex(keyFor(id).publicKey),
  encryptionKey: '11'.repeat(32),
});

function decodeOk(tx: Transaction | Uint8Array): DecodedTransaction {
  const decoded = decodeTransaction(tx);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return decoded;
}

/** Validates `block` as the next block of `chain` (through its encoding, as a peer receives it) and applies it. */
function replay(chain: MemoryChain, block: Block): void {
  const commit = validateBlock(chain, executor, decodeBlock(encodeBlock(block)), checkSignature);
  chain.apply(commit);
  assert.equal(
    chain.head()?.appHash,
    block.header.appHash,
    `appHash at height ${block.header.height}`,
  );
  assert.equal(
    chain.head()?.logRoot,
    block.header.logRoot,
    `logRoot at height ${block.header.height}`,
  );
}

/** Executes `txs` as the next block of `chain`, signs it as `proposer`, applies it and returns it. */
function produce(
  chain: MemoryChain,
  txs: readonly Transaction[],
  time: number,
  proposer: SigningKey,
): Block {
  const decoded = txs.map(decodeOk);
  const height = (chain.head()?.height ?? -1) + 1;
  const assembled = assembleBlock(
    chain,
    executor,
    decoded,
    { height, time, proposer: proposer.keyId },
    checkSignature,
  );
  const header = signHeader(assembled.header, proposer);
  chain.apply(assembled.commitFor(header));
  return { header, txs: decoded.map(({ tx }, i) => ({ tx, status: assembled.statuses[i]! })) };
}

test('a second node fed the same blocks reaches the same appHash at every height', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'replay',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const blocks: Block[] = [];
  try {
    const org = (type: string, body: JsonObject) => node.signAsOrg(`membership.${type}`, body);
    const as = (name: string, type: string, body: JsonObject, nonce = 1) =>
      signTransaction({ type: `membership.${type}`, nonce, body }, keyFor(name));
    // Submitted in one synchronous burst: admitted against the same committed state, ordered as given.
    const commit = async (...txs: Transaction[]): Promise<string[]> => {
      const results = await Promise.all(txs.map((tx) => node.submit(tx)));
      const txIds = results.map((result) =>
        result.ok ? result.txId : assert.fail(`${result.status}: ${result.reason}`),
      );
      return (await Promise.all(txIds.map((txId) => node.waitForTx(txId, 10_000)))).map(
        (record) => record.status,
      );
    };
    for (const name of ['dr-1', 'dr-2', 'dr-3'])
      assert.deepEqual(
        await commit(org('register-practitioner', enrol('practitionerId', name, keyFor(name)))),
        ['ok'],
      );
    assert.deepEqual(
      await commit(
        org('register-patient', enrol('patientId', 'pt-1', keyFor('pt-1'), { custody: 'self' })),
      ),
      ['ok'],
    );
    assert.deepEqual(
      await commit(
        org(
          'register-patient',
          enrol('patientId', 'pt-2', keyFor('pt-2'), { custody: 'custodial' }),
        ),
      ),
      ['ok'],
    );
    assert.deepEqual(
      await commit(
        org('register-patient', enrol('patientId', 'pt-1', keyFor('pt-9'), { custody: 'self' })),
      ),
      ['denied:patient-exists'],
    );
    assert.deepEqual(
      await commit(
        org('register-patient', enrol('patientId', 'pt-3', keyFor('pt-1'), { custody: 'self' })),
      ),
      ['denied:key-in-use'],
    );
    assert.deepEqual(await commit(org('suspend-practitioner', { practitionerId: 'dr-1' })), ['ok']);
    assert.deepEqual(await commit(org('suspend-practitioner', { practitionerId: 'dr-1' })), [
      'denied:already-suspended',
    ]);
    assert.deepEqual(
      await commit(
        org('suspend-practitioner', { practitionerId: 'dr-2' }),
        as('dr-2', 'propose', { action: 'remove', orgId: 'practice-a' }),
      ),
      ['ok', 'denied:signer-inactive'],
    );
    assert.deepEqual(
      await commit(as('dr-3', 'propose', { action: 'remove', orgId: 'practice-a' })),
      ['denied:not-an-organisation'],
    );
    const first = org(
      'register-patient',
      enrol('patientId', 'pt-4', keyFor('pt-4'), { custody: 'self' }),
    );
    const sameNonce = signTransaction(
      {
        type: first.type,
        nonce: first.nonce,
        body: enrol('patientId', 'pt-5', keyFor('pt-5'), { custody: 'self' }),
      },
      node.keys.signing,
    );
    // Admission refuses the second of two pending transactions holding one nonce; the first commits.
    const [admitted, twin] = await Promise.all([first, sameNonce].map((tx) => node.submit(tx)));
    assert.equal(twin!.ok ? 'accepted' : twin!.status, 'invalid:stale-nonce');
    assert.equal(
      admitted!.ok ? (await node.waitForTx(admitted!.txId, 10_000)).status : admitted!.status,
      'ok',
    );
    const replayed = await node.submit(first);
    assert.equal(replayed.ok ? 'accepted' : replayed.status, 'invalid:duplicate-txid');
    assert.deepEqual(await commit(org('reinstate-practitioner', { practitionerId: 'dr-1' })), [
      'ok',
    ]);
    assert.deepEqual(
      await commit(
        as(
          'pt-1',
          'register-patient',
          enrol('patientId', 'pt-6', keyFor('pt-6'), { custody: 'self' }),
        ),
      ),
      ['denied:not-an-organisation'],
    );
    assert.deepEqual(await commit(org('propose', { action: 'remove', orgId: 'practice-a' })), [
      'denied:last-member',
    ]);
    assert.deepEqual(await commit(org('propose', { action: 'admit', ...orgEntry('org-b') })), [
      'ok',
    ]);
    assert.deepEqual(
      await commit(
        as('org-b', 'register-practitioner', enrol('practitionerId', 'dr-b', keyFor('dr-b'))),
      ),
      ['ok'],
    );
    assert.deepEqual(
      await commit(
        as('org-b', 'suspend-practitioner', { practitionerId: 'dr-3' }, 2),
        org('propose', { action: 'remove', orgId: 'org-b' }),
      ),
      ['denied:not-your-practitioner', 'ok'],
    );
    assert.deepEqual(
      await commit(
        org('register-practitioner', {
          ...enrol('practitionerId', 'dr-4', keyFor('dr-4')),
          room: '12',
        }),
      ),
      ['invalid:bad-body'],
    );
    for (let height = 0; height <= node.head().height; height++)
      blocks.push(node.block(height) ?? assert.fail(`block ${height} missing`));
  } finally {
    await node.close();
  }
  assert.ok(blocks.length >= 20, `only ${blocks.length} blocks`);
  const statuses = blocks.flatMap((block) =>
    block.txs.map((entry) => entry.status.replace(/:.*/, '')),
  );
  assert.deepEqual([...new Set(statuses)].sort(), ['denied', 'invalid', 'ok']);
  const chain = new MemoryChain();
  for (const block of blocks) replay(chain, block);
  assert.deepEqual(chain.head(), blocks.at(-1)?.header);
});

describe('validateBlock rejects a tampered block, naming the field', () => {
  const founder = keyFor('org-a');
  const patient = keyFor('pt-1');
  const honest = new MemoryChain();
  const genesis = produce(
    honest,
    [
      signTransaction(
        {
          type: 'membership.genesis',
          nonce: 1,
          body: { network: 'tamper', orgs: [orgEntry('org-a')] },
        },
        founder,
      ),
    ],
    1000,
    founder,
  );
  const register = signTransaction(
    {
      type: 'membership.register-patient',
      nonce: 2,
      body: enrol('patientId', 'pt-1', patient, { custody: 'self' }),
    },
    founder,
  );
  const block = produce(
    honest,
    [
      register,
      signTransaction(
        {
          type: 'membership.register-patient',
          nonce: 3,
          body: enrol('patientId', 'pt-1', keyFor('pt-2'), { custody: 'self' }),
        },
        founder,
      ),
      register,
      signTransaction(
        { type: 'membership.vote', nonce: 1, body: { proposalId: 'ab'.repeat(32), approve: true } },
        patient,
      ),
    ],
    2000,
    founder,
  );

  function rejects(tampered: Block, field: string): BlockValidationError {
    const chain = new MemoryChain();
    replay(chain, genesis);
    let caught: unknown;
    assert.throws(
      () => validateBlock(chain, executor, decodeBlock(encodeBlock(tampered)), checkSignature),
      (error: unknown) => ((caught = error), error instanceof BlockValidationError),
    );
    assert.ok(caught instanceof BlockValidationError);
    assert.equal(caught.field, field, caught.message);
    assert.equal(caught.height, tampered.header.height);
    assert.equal(chain.head()?.height, 0, 'a rejected block leaves the chain as it was');
    replay(chain, block);
    return caught;
  }
  const resigned = (header: Block['header'], key = founder) => signHeader(header, key);

  test('the honest block has a mix of outcomes and validates', () => {
    assert.deepEqual(
      block.txs.map((entry) => entry.status),
      ['ok', 'denied:patient-exists', 'invalid:duplicate-txid', 'denied:not-an-organisation'],
    );
    const chain = new MemoryChain();
    for (const b of [genesis, block]) replay(chain, b);
  });

  test('one flipped status', () => {
    for (const [i, status] of [
      [0, 'denied:patient-exists'],
      [1, 'ok'],
      [2, 'ok'],
      [3, 'invalid:bad-signature'],
    ] as const) {
      const error = rejects(
        { ...block, txs: block.txs.map((entry, j) => (j === i ? { ...entry, status } : entry)) },
        `txs[${i}].status`,
      );
      assert.equal(error.expected, block.txs[i]!.status);
      assert.equal(error.actual, status);
    }
  });

  test('an altered appHash, even when re-signed by the proposer', () => {
    const error = rejects(
      { ...block, header: resigned({ ...block.header, appHash: 'ff'.repeat(32) }) },
      'appHash',
    );
    assert.deepEqual([error.expected, error.actual], [block.header.appHash, 'ff'.repeat(32)]);
    rejects(
      { ...block, header: resigned({ ...block.header, logRoot: 'ff'.repeat(32) }) },
      'logRoot',
    );
  });

  test('reordered or dropped transactions', () => {
    const [a, b, c, d] = block.txs as [
      Block['txs'][number],
      Block['txs'][number],
      Block['txs'][number],
      Block['txs'][number],
    ];
    rejects({ ...block, txs: [b, a, c, d] }, 'txRoot');
    rejects({ ...block, txs: [a, b, c] }, 'txRoot');
  });

  test('a wrong height, time going backwards, a bad signature or a proposer that is no member', () => {
    rejects({ ...block, header: resigned({ ...block.header, height: 2 }) }, 'height');
    rejects({ ...block, header: resigned({ ...block.header, time: 999 }) }, 'time');
    rejects(
      {
        ...block,
        header: {
          ...block.header,
          sig: block.header.sig.replace(/^../, (hex) => (hex === '00' ? '01' : '00')),
        },
      },
      'sig',
    );
    rejects(
      { ...block, header: resigned({ ...block.header, proposer: patient.keyId }, patient) },
      'proposer',
    );
  });
});

describe('replay property', () => {
  type Op =
    | {
        kind: 'practitioner' | 'suspend' | 'reinstate' | 'admit' | 'remove';
        org: number;
        who: number;
      }
    | { kind: 'patient'; org: number; who: number; key: number }
    | { kind: 'vote'; org: number; proposal: number; approve: boolean }
    | { kind: 'as-practitioner' | 'as-patient'; who: number }
    | { kind: 'replay' | 'stale' | 'forged'; org: number; index: number };
  const ORGS = ['org-a', 'org-b', 'org-c', 'org-d', 'org-e'];
  const DOCTORS = ['dr-1', 'dr-2', 'dr-3'];
  const PATIENTS = ['pt-1', 'pt-2', 'pt-3'];
  const small = (n: number) => fc.nat({ max: n - 1 });
  // Mostly the founders, so that most transactions get past the signer check.
  const orgIndex = fc.oneof(
    { weight: 4, arbitrary: small(3) },
    { weight: 1, arbitrary: small(ORGS.length) },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('practitioner', 'suspend', 'reinstate', 'admit', 'remove'),
      org: orgIndex,
      who: small(ORGS.length),
    }),
    fc.record({
      kind: fc.constant('patient'),
      org: orgIndex,
      who: small(PATIENTS.length),
      key: small(PATIENTS.length),
    }),
    fc.record({
      kind: fc.constant('vote'),
      org: orgIndex,
      proposal: fc.nat(),
      approve: fc.boolean(),
    }),
    fc.record({ kind: fc.constantFrom('as-practitioner', 'as-patient'), who: small(3) }),
    fc.record({
      kind: fc.constantFrom('replay', 'stale', 'forged'),
      org: orgIndex,
      index: fc.nat(),
    }),
  ) as fc.Arbitrary<Op>;

  /** Turns ops into signed transactions; deterministic, since Ed25519 signatures are. */
  function transactions(ops: readonly Op[]): Transaction[] {
    const nonces = new Map<string, number>();
    const next = (name: string) => nonces.set(name, (nonces.get(name) ?? 0) + 1).get(name)!;
    const sign = (name: string, type: string, body: JsonObject, nonce = next(name)) =>
      signTransaction({ type: `membership.${type}`, nonce, body }, keyFor(name));
    const txs: Transaction[] = [
      sign('org-a', 'genesis', {
        network: 'property',
        orgs: ['org-a', 'org-b', 'org-c'].map(orgEntry),
      }),
    ];
    const proposals: Transaction[] = [];
    for (const o of ops) {
      const at = <T>(list: readonly T[], i: number) => list[i % list.length]!;
      const org = 'org' in o ? ORGS[o.org]! : '';
      const previous = 'index' in o ? at(txs, o.index) : txs[0]!;
      const tx = ((): Transaction => {
        switch (o.kind) {
          case 'practitioner':
            return sign(
              org,
              'register-practitioner',
              enrol('practitionerId', at(DOCTORS, o.who), keyFor(at(DOCTORS, o.who))),
            );
          case 'suspend':
            return sign(org, 'suspend-practitioner', { practitionerId: at(DOCTORS, o.who) });
          case 'reinstate':
            return sign(org, 'reinstate-practitioner', { practitionerId: at(DOCTORS, o.who) });
          case 'admit':
            return sign(org, 'propose', { action: 'admit', ...orgEntry(ORGS[o.who]!) });
          case 'remove':
            return sign(org, 'propose', { action: 'remove', orgId: ORGS[o.who]! });
          case 'patient':
            return sign(
              org,
              'register-patient',
              enrol('patientId', at(PATIENTS, o.who), keyFor(at(PATIENTS, o.key)), {
                custody: 'self',
              }),
            );
          case 'vote':
            return sign(org, 'vote', {
              proposalId:
                proposals.length === 0 ? '00'.repeat(32) : decodeOk(at(proposals, o.proposal)).txId,
              approve: o.approve,
            });
          case 'as-practitioner':
            return sign(at(DOCTORS, o.who), 'propose', { action: 'remove', orgId: 'org-a' });
          case 'as-patient':
            return sign(at(PATIENTS, o.who), 'vote', {
              proposalId: '00'.repeat(32),
              approve: true,
            });
          case 'replay':
            return previous;
          case 'stale':
            return sign(org, 'suspend-practitioner', { practitionerId: 'dr-1' }, 1);
          case 'forged':
            return {
              ...sign(org, 'suspend-practitioner', { practitionerId: 'dr-1' }),
              body: { practitionerId: 'dr-2' },
            };
        }
      })();
      if (tx.type === 'membership.propose') proposals.push(tx);
      txs.push(tx);
    }
    return txs;
  }

  /** An active member organisation's key, to propose the next block. */
  function proposerOf(chain: MemoryChain): SigningKey {
    if (chain.head() === undefined) return keyFor('org-a'); // the founder that signs genesis
    const active = ORGS.map(keyFor).find((key) => {
      const row = chain.state.get(KEY_TABLE, key.keyId) as KeyRow | undefined;
      return (
        row?.role === 'org' &&
        (chain.state.get(ORG_TABLE, row.org) as { status?: string } | undefined)?.status ===
          'active'
      );
    });
    return active ?? assert.fail('some member is always active');
  }

  test('two independent chains fed the same random blocks agree on the appHash at every height', () => {
    const plan = fc.array(
      fc.record({
        size: fc.nat({ max: 6 }),
        delayMs: fc.constantFrom(0, 1, 60_000, PROPOSAL_LIFETIME_MS + 1),
      }),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), plan, (ops, blocks) => {
        const [genesis, ...rest] = transactions(ops);
        const [proposing, validating] = [new MemoryChain(), new MemoryChain()];
        let time = 1_700_000_000_000;
        const feed = (txs: Transaction[]) => {
          const block = produce(proposing, txs, time, proposerOf(proposing));
          const commit = validateBlock(
            validating,
            executor,
            decodeBlock(encodeBlock(block)),
            checkSignature,
          );
          validating.apply(commit);
          assert.equal(
            validating.head()?.appHash,
            proposing.head()?.appHash,
            `appHash at height ${block.header.height}`,
          );
          assert.deepEqual(validating.head(), proposing.head());
        };
        feed([genesis!]);
        for (const { size, delayMs } of blocks) {
          time += delayMs;
          feed(rest.splice(0, size));
        }
        if (rest.length > 0) feed(rest);
        for (const table of standardExecutor().tables)
          assert.deepEqual(validating.rows(table), proposing.rows(table), table);
      }),
      { numRuns: 15, includeErrorInReport: true },
    );
  });
});
