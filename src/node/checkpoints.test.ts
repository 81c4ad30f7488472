import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKey, toHex, type SigningKey } from '../crypto/index.js';
import { MemoryCheckpointHub } from '../consensus/index.js';
import { signCheckpoint, type BlockHeader } from '../ledger/index.js';
import { CheckpointStore } from '../storage/index.js';
import { CONSORTIUM_TABLE } from '../contracts/index.js';
import { NodeCheckpoints } from './checkpoints.js';
import { MemoryChain } from '../verifier/index.js';
import { buildGenesis, readGenesis } from './network-genesis.js';

interface SimulatedOrg {
  readonly orgId: string;
  readonly key: SigningKey;
  readonly checkpoints: NodeCheckpoints;
  readonly alarms: string[];
  halted: string | undefined;
}

const ORG_IDS = ['org-a', 'org-b', 'org-c'];

/** Three organisations of one network, each with its own checkpoint store, on one in-memory exchange. */
function network(
  t: { after: (fn: () => void) => void },
  membersNow?: () => string[],
): SimulatedOrg[] {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-checkpoints-'));
  const keys = ORG_IDS.map(() => generateSigningKey());
  const identities = ORG_IDS.map((orgId, i) => ({
    orgId,
    name: orgId,
    signingKey: toHex(keys[i]!.publicKey),
    encryptionKey: '11'.repeat(32),
  }));
  const chain = new MemoryChain();
  chain.apply(readGenesis(buildGenesis('checkpoints', identities, 1000)).commit);
  const hub = new MemoryCheckpointHub();
  const state = {
    get: (table: string, key: string) =>
      table === CONSORTIUM_TABLE && membersNow !== undefined
        ? { network: 'checkpoints', members: membersNow() }
        : chain.state.get(table, key),
  };
  const orgs = ORG_IDS.map((orgId, i) => {
    const org: { -readonly [K in keyof SimulatedOrg]: SimulatedOrg[K] } = {
      orgId,
      key: keys[i]!,
      alarms: [],
      halted: undefined,
      checkpoints: undefined as never,
    };
    const host = {
      orgId,
      signing: keys[i]!,
      state,
      alarm: (reason: string) => org.alarms.push(reason),
      unpublished: (reason: string | undefined) => void (reason && org.alarms.push(reason)),
      halt: (reason: string) => (org.halted = reason),
    };
    org.checkpoints = new NodeCheckpoints(
      CheckpointStore.open(join(dir, `${orgId}.db`)),
      hub.connect(),
      host,
    );
    return org;
  });
  t.after(() => {
    for (const org of orgs) org.checkpoints.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return orgs;
}

const header = (height: number, appHash: string): BlockHeader => ({
  height,
  prevHash: '00'.repeat(32),
  time: 1,
  txRoot: '01'.repeat(32),
  logSize: 1,
  logRoot: '02'.repeat(32),
  appHash,
  proposer: '03'.repeat(32),
  sig: '04'.repeat(64),
});
const delivered = () => new Promise((resolve) => setTimeout(resolve, 20));

test('three organisations signing identical checkpoints make the block final everywhere', async (t) => {
  const orgs = network(t);
  orgs[0]!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  await delivered();
  assert.equal(orgs[0]!.checkpoints.at(1).final, false, 'one of three is no majority');
  orgs[1]!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  await delivered();
  for (const org of orgs) assert.equal(org.checkpoints.status().finalisedHeight, 1, org.orgId);
  orgs[2]!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  await delivered();
  for (const org of orgs) {
    const tally = org.checkpoints.at(1);
    assert.equal(tally.final, true);
    assert.equal(tally.majority, 2);
    assert.deepEqual(
      tally.checkpoints.map((c) => [c.orgId, c.agrees]),
      [
        ['org-a', true],
        ['org-b', true],
        ['org-c', true],
      ],
    );
    assert.deepEqual(Object.keys(org.checkpoints.status().peers), ORG_IDS);
    assert.deepEqual(org.alarms, []);
    assert.equal(org.halted, undefined);
  }
});

test('a disagreeing organisation is named in an alarm, and halts itself finding its own state in the minority', async (t) => {
  const orgs = network(t);
  orgs[0]!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  orgs[2]!.checkpoints.committed(header(1, 'bb'.repeat(32)));
  await delivered();
  assert.match(
    orgs[0]!.alarms.join('\n'),
    /organisation org-c signed a checkpoint at height 1 that disagrees with ours/,
    'before a majority: disagreeing with ours',
  );
  assert.equal(orgs[2]!.halted, undefined, 'no majority yet: nobody halts');
  orgs[1]!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  await delivered();
  assert.match(
    orgs[1]!.alarms.join('\n'),
    /organisation org-c signed a checkpoint at height 1 that disagrees with the majority/,
  );
  assert.equal(orgs[0]!.halted, undefined);
  assert.equal(orgs[1]!.halted, undefined);
  assert.match(orgs[2]!.halted ?? '', /own checkpoint at height 1 is in the minority/);
  assert.equal(
    orgs[2]!.checkpoints.at(1).final,
    true,
    'the block is final all the same: a majority signed it',
  );
  assert.deepEqual(
    orgs[0]!.checkpoints.at(1).checkpoints.map((c) => [c.orgId, c.agrees]),
    [
      ['org-a', true],
      ['org-b', true],
      ['org-c', false],
    ],
  );
});

test("only a member organisation's key, with a valid signature, counts", (t) => {
  const [a, b] = network(t);
  const outsider = generateSigningKey();
  const fields = { height: 3, blockHash: 'cc'.repeat(32), appHash: 'dd'.repeat(32) };
  assert.equal(
    a!.checkpoints.receive(signCheckpoint({ ...fields, orgId: 'org-b' }, outsider)),
    'unknown-signer',
  );
  assert.equal(
    a!.checkpoints.receive(signCheckpoint({ ...fields, orgId: 'org-c' }, b!.key)),
    'unknown-signer',
    "org-b's key cannot speak for org-c",
  );
  assert.equal(
    a!.checkpoints.receive({
      ...signCheckpoint({ ...fields, orgId: 'org-b' }, b!.key),
      appHash: 'ee'.repeat(32),
    }),
    'bad-signature',
  );
  assert.equal(a!.checkpoints.receive({ ...fields, orgId: 'org-b' }), 'malformed');
  assert.equal(
    a!.checkpoints.receive(signCheckpoint({ ...fields, orgId: 'org-b' }, b!.key)),
    undefined,
  );
  assert.deepEqual(
    a!.checkpoints.at(3).checkpoints.map((c) => c.orgId),
    ['org-b'],
  );
});

test("who must sign a height is the membership after that block, not today's", (t) => {
  let members = ['org-a'];
  const [a] = network(t, () => members);
  a!.checkpoints.committed(header(1, 'aa'.repeat(32)));
  assert.equal(a!.checkpoints.at(1).final, true, 'a network of one');
  members = [...ORG_IDS];
  a!.checkpoints.committed(header(2, 'aa'.repeat(32)));
  assert.equal(a!.checkpoints.at(1).final, true, 'still final once two more organisations joined');
  assert.deepEqual(a!.checkpoints.at(1).members, ['org-a']);
  assert.equal(a!.checkpoints.at(2).final, false);
  assert.equal(a!.checkpoints.status().finalisedHeight, 1);
});
