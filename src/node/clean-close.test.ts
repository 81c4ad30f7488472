import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CLOSED_SUFFIX,
  markClosed,
  markOpen,
  OPEN_SUFFIX,
  takeClosedMark,
  takeOpenMark,
} from './clean-close.js';
import { ChartChainNode } from './node.js';
import { reportDamage } from '../storage/index.js';
import { tempNodeDir } from './testonly/temp-node.js';

function database(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-clean-close-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'chain.db');
  writeFileSync(path, Buffer.alloc(8192, 1));
  return path;
}

test('an unchanged database closed cleanly skips the check once; no record, or any change since, does not', async (t) => {
  const path = database(t);
  assert.equal(takeClosedMark(path), false, 'no record: check');
  markClosed(path);
  assert.equal(takeClosedMark(path), true, 'closed cleanly, unchanged');
  assert.equal(existsSync(path + CLOSED_SUFFIX), false, 'the record is consumed');
  assert.equal(
    takeClosedMark(path),
    false,
    'a second start without a clean close in between checks',
  );

  markClosed(path);
  await new Promise((resolve) => setTimeout(resolve, 20)); // past the file system's clock tick
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0xff]), 0, 1, 4000); // one byte flipped in place: same size, same inode
  closeSync(fd);
  assert.equal(takeClosedMark(path), false, 'a byte written since the close');

  markClosed(path);
  writeFileSync(`${path}-wal`, 'frames');
  assert.equal(takeClosedMark(path), false, 'a WAL that appeared since the close');
});

test('a node closed cleanly leaves the record and the next open takes it; a halted node leaves none', async (t) => {
  const dir = tempNodeDir(t, 'clean-close-node');
  const record = join(dir, `chain.db${CLOSED_SUFFIX}`);
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  await node.close();
  assert.equal(existsSync(record), true);
  const halted = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  assert.equal(existsSync(record), false, 'taken at open');
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), true, 'the boot it runs in');
  halted.halt('a test fault');
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), false, 'gone at the halt');
  await halted.close();
  assert.equal(existsSync(record), false, 'a halted node is not closed cleanly');
});

test('a database whose process died in this boot skips the check once; another boot, another file, or no record does not', (t) => {
  const path = database(t);
  assert.equal(takeOpenMark(path), false, 'no record: check');
  markOpen(path);
  assert.equal(takeOpenMark(path), true, 'killed in this boot');
  assert.equal(existsSync(path + OPEN_SUFFIX), false, 'the record is consumed');
  assert.equal(takeOpenMark(path), false, 'a second start without a record checks');

  markOpen(path);
  const [, ...file] = JSON.parse(readFileSync(path + OPEN_SUFFIX, 'utf8')) as string[];
  writeFileSync(path + OPEN_SUFFIX, JSON.stringify(['another-boot', ...file]));
  assert.equal(takeOpenMark(path), false, 'a power cut or an OS crash since: a new boot');

  markOpen(path);
  // Another file moved into its place: made while the first still exists, so not its inode.
  writeFileSync(`${path}.restored`, Buffer.alloc(8192, 2));
  renameSync(`${path}.restored`, path);
  assert.equal(takeOpenMark(path), false, 'a file put in its place since');
});

test('a node closed cleanly leaves no record of its boot, so a change to the file after the close is checked', async (t) => {
  const dir = tempNodeDir(t, 'clean-close-open');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  await node.close();
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), false);
  assert.equal(existsSync(join(dir, `chain.db${CLOSED_SUFFIX}`)), true);
});

test('a store reported damaged while the node serves: an integrity alarm, and neither record, so the next start checks', async (t) => {
  const dir = tempNodeDir(t, 'clean-close-damaged');
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), true);
  reportDamage();
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), false);
  assert.ok(node.records.alarms.some((alarm) => alarm.kind === 'integrity'));
  await node.close();
  assert.equal(existsSync(join(dir, `chain.db${CLOSED_SUFFIX}`)), false);
});

/** Opens the node in `dir` in a child process that then stops as `how` says (testonly/open-and-stop.ts). */
function openAndStop(dir: string, how: 'kill' | 'throw') {
  const child = fileURLToPath(new URL('./testonly/open-and-stop.ts', import.meta.url));
  return spawnSync(process.execPath, [...process.execArgv, child, dir, how], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('a node killed outright leaves the record of its boot and the next start takes it; one that dies on an error leaves none', async (t) => {
  const dir = tempNodeDir(t, 'clean-close-killed');
  const killed = openAndStop(dir, 'kill');
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), true);
  const next = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  await next.close();
  assert.equal(
    existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)),
    false,
    'taken, then removed at the close',
  );

  const failed = openAndStop(dir, 'throw');
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, /a fault this test stands for/);
  assert.equal(existsSync(join(dir, `chain.db${OPEN_SUFFIX}`)), false, 'withdrawn as it exited');
});
