/**
 * `chartchain verify --data` over the whole data directory: ciphertext blobs against their
 * on-chain hashes (erased records excepted) and a chain.db SQLite cannot read, each a FAILED:
 * line and exit 2 naming what and where.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import type { JsonObject } from '../ledger/index.js';
import type { Transaction } from '../ledger/index.js';
import { BlobStore } from '../storage/index.js';
import { ChartChainNode } from './node.js';
import { ChainVerificationError, verifyDataDir } from '../verifier/index.js';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const POOL = { poolSize: 1 };

interface Written {
  readonly recordId: string;
  readonly version: number;
  readonly hash: string;
  readonly height: number;
}

let dir: string;
let written: Written[];

async function commit(node: ChartChainNode, tx: Transaction): Promise<number> {
  const submitted = await node.submit(tx);
  assert.ok(submitted.ok, JSON.stringify(submitted));
  const record = await node.waitForTx(submitted.txId, 20_000);
  assert.equal(record.status, 'ok');
  return record.height;
}

async function write(
  node: ChartChainNode,
  resource: JsonObject,
  recordId?: string,
): Promise<Written> {
  const prepared = await node.records.write({
    practitionerId: 'dr-ada',
    patientId: 'patient-0001',
    resource,
    ...(recordId === undefined ? {} : { recordId }),
  });
  const height = await commit(node, prepared.tx);
  return {
    recordId: prepared.recordId,
    version: prepared.version,
    hash: node.records.version(prepared.recordId, prepared.version)!.ciphertextHash!,
    height,
  };
}

function runVerify(): { status: number | null; stdout: string } {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', CLI, 'verify', '--data', dir, '--no-progress'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { status: result.status, stdout: result.stdout };
}

/** Flips the last byte of blob `hash`'s content in place; returns what undoes it. */
async function flipLastByte(hash: string): Promise<() => void> {
  const blobs = new BlobStore(join(dir, 'blobs'), { readOnly: true });
  const place = blobs.place(hash)!;
  await blobs.close();
  const fd = openSync(place.path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, place.offset + place.length - 1);
  writeSync(fd, Buffer.from([byte[0]! ^ 0x01]), 0, 1, place.offset + place.length - 1);
  closeSync(fd);
  return () => {
    const undo = openSync(place.path, 'r+');
    writeSync(undo, byte, 0, 1, place.offset + place.length - 1);
    closeSync(undo);
  };
}

/** Erases blob `hash`, as a lost or deleted blob would look to the verifier. */
async function removeBlob(hash: string): Promise<void> {
  const blobs = new BlobStore(join(dir, 'blobs'));
  blobs.delete(hash);
  await blobs.close();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chartchain-verify-data-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    await commit(
      node,
      node.signAsOrg('membership.register-practitioner', {
        practitionerId: 'dr-ada',
        ...node.records.enrol('practitioner', 'dr-ada'),
      }),
    );
    await commit(
      node,
      node.signAsOrg('membership.register-patient', {
        patientId: 'patient-0001',
        custody: 'custodial',
        ...node.records.enrol('patient', 'patient-0001'),
      }),
    );
    const first = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Heart rate' },
    });
    const second = await write(
      node,
      { resourceType: 'Observation', status: 'amended', code: { text: 'Heart rate' } },
      first.recordId,
    );
    const other = await write(node, { resourceType: 'Condition', code: { text: 'Asthma' } });
    const erased = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Erased' },
    });
    await commit(
      node,
      node.records.erase(erased.recordId, { patientId: 'patient-0001' }, (type, body) =>
        node.signAsOrg(type, body),
      ),
    );
    written = [first, second, other];
  } finally {
    await node.close();
  }
});

test("blobs: a flipped byte and a missing blob each fail with the record, version and height; an erased record's absent blobs pass", async () => {
  await verifyDataDir(dir, POOL);
  const [, second, other] = written as [Written, Written, Written];
  const restore = await flipLastByte(second.hash);
  await removeBlob(other.hash);
  try {
    await assert.rejects(verifyDataDir(dir, POOL), (error: unknown) => {
      assert.ok(error instanceof ChainVerificationError);
      const faults = [error, ...error.further];
      assert.deepEqual(
        faults.map((fault) => fault.height),
        [second.height, other.height],
      );
      assert.match(
        faults[0]!.what,
        new RegExp(`^blob ${second.hash} of record ${second.recordId} version 2 fails its hash`),
      );
      assert.equal(
        faults[1]!.what,
        `blob ${other.hash} of record ${other.recordId} version 1 is missing`,
      );
      return true;
    });
    const cli = runVerify();
    assert.equal(cli.status, 2);
    assert.deepEqual(
      cli.stdout
        .trim()
        .split('\n')
        .map((line) => line.replace(/:.*/, '')),
      ['FAILED', 'FAILED'],
    );
    assert.match(
      cli.stdout,
      new RegExp(
        `FAILED: height ${second.height}: blob ${second.hash} of record ${second.recordId} version 2 fails its hash`,
      ),
    );
  } finally {
    restore();
  }
});

test('a chain.db SQLite cannot read fails with exit 2 and a FAILED: line naming the file and the height, not exit 1', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'chartchain-verify-sqlite-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  const chain = join(copy, 'chain.db');
  writeFileSync(chain, readFileSync(join(dir, 'chain.db')));
  const db = new Database(chain, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const rootPage = db
    .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'tx'")
    .pluck()
    .get() as number;
  db.close();
  const fd = openSync(chain, 'r+');
  writeSync(fd, Buffer.alloc(16, 0xff), 0, 16, (rootPage - 1) * pageSize);
  closeSync(fd);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', CLI, 'verify', '--data', copy, '--no-progress'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(result.status, 2, result.stderr);
  assert.match(
    result.stdout,
    /^FAILED: height 0: chain\.db is damaged reading this block: database disk image is malformed \(SQLITE_CORRUPT/m,
  );
});
