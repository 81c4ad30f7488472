import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromHex, publicKeyFromRaw, verify } from '../crypto/index.js';
import {
  consentModelOf,
  CONSORTIUM_KEY,
  CONSORTIUM_TABLE,
  KEY_TABLE,
  standardExecutor,
  type SignatureCheck,
} from '../contracts/index.js';
import {
  blockHashOf,
  decodeBlock,
  decodeTransaction,
  encodeBlock,
  NETWORK_GENESIS_KEY,
  NETWORK_GENESIS_KEY_ID,
  signatureOf,
  signHeader,
  signTransaction,
} from '../ledger/index.js';
import { assembleBlock } from '../verifier/index.js';
import { BlockValidationError, validateBlock } from '../verifier/index.js';
import { MemoryChain } from '../verifier/index.js';
import { buildGenesis, GenesisError, readGenesis } from './network-genesis.js';
import { ChartChainNode } from './node.js';
import { readNodeConfig } from './node-config.js';
import { adoptGenesis, identityOf } from './node-init.js';
import { loadOrgKeys } from './org-keys.js';

function joinedOrg(root: string, orgId: string): string {
  const dir = join(root, orgId);
  ChartChainNode.init(dir, {
    orgId,
    orgName: `Org ${orgId}`,
    network: 'unused',
    join: true,
    orderer: { batchTimeoutMs: 5 },
  });
  return dir;
}

const exported = (dir: string, endpoint?: string) =>
  identityOf(readNodeConfig(dir)!, loadOrgKeys(dir), endpoint);

test('two organisations, each with only its own keys, start from one genesis built from their public identities', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-genesis-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const [a, b] = [joinedOrg(root, 'practice-a'), joinedOrg(root, 'hospital-b')];
  assert.notEqual(loadOrgKeys(a).signing.keyId, loadOrgKeys(b).signing.keyId);
  const identities = [exported(a, 'http://127.0.0.1:9001'), exported(b, 'http://127.0.0.1:9002')];
  assert.deepEqual(Object.keys(identities[0]!).sort(), [
    'encryptionKey',
    'endpoint',
    'name',
    'orgId',
    'signingKey',
  ]);
  const genesis = buildGenesis('two-org', identities, 1_700_000_000_000);
  assert.equal(
    buildGenesis('two-org', [...identities].reverse(), 1_700_000_000_000).genesisHash,
    genesis.genesisHash,
    'the order of the identity files does not matter',
  );
  const file = JSON.parse(JSON.stringify(genesis)) as unknown;
  adoptGenesis(a, file);
  adoptGenesis(b, file);
  assert.deepEqual(readNodeConfig(a)!.peers, { 'hospital-b': 'http://127.0.0.1:9002' });
  const nodes = await Promise.all(
    [a, b].map((dir) => ChartChainNode.open(dir, { verifyPoolSize: 1 })),
  );
  try {
    const hashes = nodes.map((node) => node.blockHash(0));
    assert.equal(hashes[0], genesis.genesisHash);
    assert.equal(hashes[1], genesis.genesisHash);
    for (const node of nodes) {
      assert.deepEqual(node.store.state.get(CONSORTIUM_TABLE, CONSORTIUM_KEY), {
        network: 'two-org',
        members: ['hospital-b', 'practice-a'],
        consentModel: 'opt-out',
      });
      assert.ok(node.store.state.get(KEY_TABLE, loadOrgKeys(a).signing.keyId) !== undefined);
      assert.ok(node.store.state.get(KEY_TABLE, loadOrgKeys(b).signing.keyId) !== undefined);
    }
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
  adoptGenesis(a, file); // the same file again, as on every `start --genesis`: accepted
  const other = buildGenesis('two-org', identities, 1_700_000_000_001);
  assert.throws(
    () => adoptGenesis(a, other),
    (error: unknown) => error instanceof GenesisError && /pinned/.test(error.message),
  );
  const outsider = joinedOrg(root, 'lab-c');
  assert.throws(
    () => adoptGenesis(outsider, file),
    (error: unknown) => error instanceof GenesisError && /does not list lab-c/.test(error.message),
  );
  await assert.rejects(
    ChartChainNode.open(outsider),
    GenesisError,
    'a joined node without a genesis does not start',
  );
});

test('a node refuses to open on a chain whose block 0 is not the genesis it pinned', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-genesis-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const a = joinedOrg(root, 'practice-a');
  adoptGenesis(a, buildGenesis('one', [exported(a)], 1000));
  const config = readNodeConfig(a)!;
  const { writeNodeConfig } = await import('./node-config.js');
  writeNodeConfig(a, { ...config, genesisHash: 'ab'.repeat(32) });
  await assert.rejects(
    ChartChainNode.open(a),
    (error: unknown) => error instanceof GenesisError && /pinned/.test(error.message),
  );
});

test('readGenesis accepts a network genesis and nothing else', () => {
  const founder = {
    orgId: 'org-a',
    name: 'A',
    signingKey: 'aa'.repeat(32),
    encryptionKey: 'bb'.repeat(32),
  };
  const genesis = buildGenesis('n', [founder], 5);
  assert.equal(readGenesis(genesis).genesis.genesisHash, genesis.genesisHash);
  assert.throws(() => readGenesis({ ...genesis, genesisHash: '00'.repeat(32) }), GenesisError);
  const tamperedTime = {
    ...genesis,
    block: { ...genesis.block, header: { ...genesis.block.header, time: 6 } },
  };
  assert.throws(
    () => readGenesis(tamperedTime),
    GenesisError,
    'a changed header no longer carries the genesis signature',
  );
  assert.throws(() => readGenesis({ ...genesis, format: 'other' }), GenesisError);
  assert.throws(
    () => buildGenesis('n', [founder, { ...founder, signingKey: 'cc'.repeat(32) }], 5),
    GenesisError,
    'duplicate orgId',
  );
});

test('a genesis names its consent model: opt-out unless asked for opt-in, and the choice is part of the hash', () => {
  const founder = {
    orgId: 'org-a',
    name: 'A',
    signingKey: 'aa'.repeat(32),
    encryptionKey: 'bb'.repeat(32),
  };
  const models = (['opt-out', 'opt-in'] as const).map((model) =>
    buildGenesis('n', [founder], 5, model),
  );
  assert.equal(
    buildGenesis('n', [founder], 5).genesisHash,
    models[0]!.genesisHash,
    'opt-out by default',
  );
  assert.notEqual(models[0]!.genesisHash, models[1]!.genesisHash);
  for (const [i, model] of (['opt-out', 'opt-in'] as const).entries()) {
    assert.equal(models[i]!.block.txs[0]!.tx.body['consentModel'], model, 'written explicitly');
    const chain = new MemoryChain();
    chain.apply(readGenesis(models[i]).commit);
    assert.equal(consentModelOf(chain.state), model);
  }
  assert.throws(() => buildGenesis('n', [founder], 5, 'opt-maybe' as 'opt-in'), RangeError);
});

test('a genesis made before the consent model existed still reads to the same hash and state root, and means opt-in', () => {
  // Known answers: the hash and appHash the code of that time gave this genesis (org-a, network n, time 5).
  const founder = {
    orgId: 'org-a',
    name: 'A',
    signingKey: 'aa'.repeat(32),
    encryptionKey: 'bb'.repeat(32),
  };
  const check: SignatureCheck = (decoded, publicKey) =>
    verify(publicKeyFromRaw(fromHex(publicKey)), decoded.message, signatureOf(decoded.tx));
  const tx = signTransaction(
    { type: 'membership.genesis', nonce: 1, body: { network: 'n', orgs: [founder] } },
    NETWORK_GENESIS_KEY,
  );
  const decoded = decodeTransaction(tx);
  assert.ok(decoded.ok);
  const assembled = assembleBlock(
    new MemoryChain(),
    standardExecutor(),
    [decoded],
    { height: 0, time: 5, proposer: NETWORK_GENESIS_KEY_ID },
    check,
  );
  assert.equal(
    assembled.header.appHash,
    '03e7b8a688919d157cd8f6207eff725d7ab7e2c9f1d328b126ea76ce120c93ca',
  );
  const header = signHeader(assembled.header, NETWORK_GENESIS_KEY);
  assert.equal(
    blockHashOf(header),
    '6298cebc4bd5af496f68cbd88894826ffeadba811ab9479ce6c8028a7385449d',
  );
  const legacy = {
    format: 'chartchain-genesis/v1',
    network: 'n',
    genesisHash: blockHashOf(header),
    block: { header, txs: [{ tx, status: 'ok' }] },
    peers: {},
  };
  const chain = new MemoryChain();
  chain.apply(readGenesis(JSON.parse(JSON.stringify(legacy))).commit);
  assert.equal(consentModelOf(chain.state), 'opt-in');
});

test('the network genesis key signs nothing above height 0', () => {
  const executor = standardExecutor();
  const check: SignatureCheck = (decoded, publicKey) =>
    verify(publicKeyFromRaw(fromHex(publicKey)), decoded.message, signatureOf(decoded.tx));
  const genesis = buildGenesis(
    'n',
    [{ orgId: 'org-a', name: 'A', signingKey: 'aa'.repeat(32), encryptionKey: 'bb'.repeat(32) }],
    5,
  );
  const chain = new MemoryChain();
  chain.apply(readGenesis(genesis).commit);
  const again = decodeTransaction(
    signTransaction(
      { type: 'membership.genesis', nonce: 2, body: { network: 'n', orgs: [] } },
      NETWORK_GENESIS_KEY,
    ),
  );
  assert.ok(again.ok);
  const assembled = assembleBlock(
    chain,
    executor,
    [again],
    { height: 1, time: 6, proposer: NETWORK_GENESIS_KEY_ID },
    check,
  );
  assert.deepEqual(assembled.statuses, ['invalid:unknown-signer']);
  const block = {
    header: signHeader(assembled.header, NETWORK_GENESIS_KEY),
    txs: [{ tx: again.tx, status: assembled.statuses[0]! }],
  };
  assert.throws(
    () => validateBlock(chain, executor, decodeBlock(encodeBlock(block)), check),
    (error: unknown) => error instanceof BlockValidationError && error.field === 'proposer',
  );
  assert.equal(blockHashOf(chain.head()!), genesis.genesisHash);
});
