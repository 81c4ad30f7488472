/**
 * Founding a network with the CLI, as two operators would on their own machines: each creates
 * only its own keys, exports its public identity; one genesis file is built from both; each
 * node takes it and pins its hash; a different genesis is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { consentModelOf } from '../src/contracts/index.js';
import { buildGenesis, ChartChainNode, type OrgIdentity } from '../src/node/index.js';

const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');

function chartchain(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function ok(...args: string[]): string {
  const result = chartchain(...args);
  assert.equal(result.status, 0, `chartchain ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

test('init --join, identity export, genesis, init --genesis, verify --genesis-hash', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-network-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const [a, b] = [join(root, 'a'), join(root, 'b')];
  ok('init', '--join', '--data', a, '--org-id', 'practice-a', '--org-name', 'Practice A');
  ok('init', '--join', '--data', b, '--org-id', 'hospital-b', '--org-name', 'Hospital B');
  const identityA = JSON.parse(
    ok('identity', 'export', '--data', a, '--endpoint', 'http://127.0.0.1:9001'),
  ) as OrgIdentity;
  assert.deepEqual(Object.keys(identityA).sort(), [
    'encryptionKey',
    'endpoint',
    'name',
    'orgId',
    'signingKey',
  ]);
  assert.doesNotMatch(
    readFileSync(join(a, 'node.json'), 'utf8'),
    /genesisHash/,
    'a joined node has no chain yet',
  );
  const files = { a: join(root, 'a.json'), b: join(root, 'b.json') };
  writeFileSync(files.a, JSON.stringify(identityA));
  writeFileSync(files.b, ok('identity', 'export', '--data', b));
  const printed = ok(
    'genesis',
    '--network',
    'two-org',
    '--org',
    files.a,
    '--org',
    files.b,
    '--out',
    join(root, 'genesis.json'),
  );
  const hash = /genesis hash ([0-9a-f]{64})/.exec(printed)?.[1];
  assert.ok(hash, printed);
  for (const dir of [a, b]) ok('init', '--data', dir, '--genesis', join(root, 'genesis.json'));
  assert.match(
    ok('verify', '--data', b, '--genesis-hash', hash, '--no-progress'),
    new RegExp(`genesis ${hash}`),
  );
  assert.equal(
    chartchain('verify', '--data', a, '--genesis-hash', 'ab'.repeat(32), '--no-progress').status,
    2,
  );
  const identities = [identityA, JSON.parse(readFileSync(files.b, 'utf8')) as OrgIdentity];
  writeFileSync(join(root, 'other.json'), JSON.stringify(buildGenesis('two-org', identities, 1)));
  const refused = chartchain('init', '--data', a, '--genesis', join(root, 'other.json'));
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /differs from the genesis [0-9a-f]{64} this node pinned/);
});

test('genesis and init --consent-model: opt-out unless opt-in is asked for, written into block 0; anything else is refused', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'chartchain-network-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const a = join(root, 'a');
  ok('init', '--join', '--data', a, '--org-id', 'practice-a', '--org-name', 'Practice A');
  writeFileSync(join(root, 'a.json'), ok('identity', 'export', '--data', a));
  const modelOf = (file: string): unknown =>
    (
      JSON.parse(readFileSync(file, 'utf8')) as {
        block: { txs: { tx: { body: { consentModel?: string } } }[] };
      }
    ).block.txs[0]!.tx.body.consentModel;
  assert.match(
    ok(
      'genesis',
      '--network',
      'n',
      '--org',
      join(root, 'a.json'),
      '--out',
      join(root, 'default.json'),
    ),
    /consent model opt-out/,
  );
  assert.equal(modelOf(join(root, 'default.json')), 'opt-out');
  ok(
    'genesis',
    '--network',
    'n',
    '--org',
    join(root, 'a.json'),
    '--out',
    join(root, 'opt-in.json'),
    '--consent-model',
    'opt-in',
  );
  assert.equal(modelOf(join(root, 'opt-in.json')), 'opt-in');
  const refused = chartchain(
    'genesis',
    '--network',
    'n',
    '--org',
    join(root, 'a.json'),
    '--out',
    join(root, 'bad.json'),
    '--consent-model',
    'opt-maybe',
  );
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /--consent-model must be opt-in or opt-out/);
  ok('init', '--data', join(root, 'solo'), '--consent-model', 'opt-in');
  const solo = await ChartChainNode.open(join(root, 'solo'), { verifyPoolSize: 1 });
  try {
    assert.equal(consentModelOf(solo.store.state), 'opt-in');
  } finally {
    await solo.close();
  }
});
