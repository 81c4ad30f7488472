import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLOSED_SUFFIX, markClosed, takeClosedMark } from './clean-close.js';
import { ChartChainNode } from './node.js';
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
  halted.halt('a test fault');
  await halted.close();
  assert.equal(existsSync(record), false, 'a halted node is not closed cleanly');
});
