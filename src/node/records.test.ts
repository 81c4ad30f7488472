import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { fromHex, generateX25519, HpkePool, toHex } from '../crypto/index.js';
import {
  ERASURE_TABLE,
  ORG_TABLE,
  VERSION_TABLE,
  type OrgRow,
  versionKey,
  type ErasureRow,
  type VersionRow,
} from '../contracts/index.js';
import { hashLeaf, verifyInclusion, type JsonObject } from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';
import { ChartChainNode } from './node.js';
import { openTempNode } from './testonly/temp-node.js';
import { filesHolding } from '../storage/testonly/files.js';
import Database from 'better-sqlite3';
import { verifyDataDir } from '../verifier/index.js';
import { collectOrphanBlobs } from './blob-gc.js';
import { openVersion, RecordIntegrityError, RecordUnavailableError } from './record-service.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/hl7-examples', import.meta.url));

async function commit(
  node: ChartChainNode,
  tx: Parameters<ChartChainNode['submit']>[0],
): Promise<string> {
  const result = await node.submit(tx);
  assert.ok(result.ok, JSON.stringify(result));
  return (await node.waitForTx(result.txId, 20_000)).status;
}

async function freshNode(t: {
  after: (fn: () => void) => void;
}): Promise<{ node: ChartChainNode; dir: string }> {
  const { dir, node } = await openTempNode(t, 'records');
  const practitioner = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    await commit(
      node,
      node.signAsOrg('membership.register-practitioner', {
        practitionerId: 'dr-ada',
        ...practitioner,
      }),
    ),
    'ok',
  );
  const patient = node.records.enrol('patient', 'patient-0001');
  assert.equal(
    await commit(
      node,
      node.signAsOrg('membership.register-patient', {
        patientId: 'patient-0001',
        custody: 'custodial',
        ...patient,
      }),
    ),
    'ok',
  );
  return { node, dir };
}

function write(
  node: ChartChainNode,
  resource: JsonObject,
  extra: { recordId?: string; expectedVersion?: number } = {},
) {
  return node.records.write({
    practitionerId: 'dr-ada',
    patientId: 'patient-0001',
    resource,
    ...extra,
  });
}

test('every HL7 R4 example round-trips through encryption, the blob store and the ledger', async (t) => {
  const { node } = await freshNode(t);
  try {
    // Every example resource; the package's licence file is the one JSON file that is not a resource.
    const files = readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.json') && name !== 'LICENSE-package.json')
      .sort();
    assert.ok(files.length >= 130, `found ${files.length} examples`);
    const writes = files.map((name) => ({
      name,
      resource: JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as JsonObject,
    }));
    assert.ok(writes.every(({ resource }) => typeof resource['resourceType'] === 'string'));
    // All in flight at once, each submitted as soon as its ciphertext is durable, as a server would.
    const submitted = await Promise.all(
      writes.map(async ({ name, resource }) => {
        const written = await write(node, resource);
        const result = await node.submit(written.tx);
        assert.ok(result.ok, `${name}: ${JSON.stringify(result)}`);
        return { name, resource, write: written, txId: result.txId };
      }),
    );
    for (const entry of submitted)
      assert.equal((await node.waitForTx(entry.txId, 30_000)).status, 'ok', entry.name);
    for (const entry of submitted) {
      assert.deepEqual(
        node.records.read({ kind: 'organisation' }, entry.write.recordId).resource,
        entry.resource,
        entry.name,
      );
    }
    const sample = submitted[0]!;
    assert.deepEqual(
      node.records.read({ kind: 'patient', patientId: 'patient-0001' }, sample.write.recordId)
        .resource,
      sample.resource,
    );
  } finally {
    await node.close();
  }
});

test('a read on its own is opened in-thread; reads released together go to the HPKE worker but the first', async (t) => {
  const { node } = await freshNode(t);
  t.after(() => node.close());
  const written = await Promise.all(
    [1, 2, 3].map((i) =>
      write(node, { resourceType: 'Observation', status: 'final', id: `o${i}` }),
    ),
  );
  for (const { tx } of written) assert.equal(await commit(node, tx), 'ok');
  const unwraps = t.mock.method(HpkePool.prototype, 'unwrap');
  const reader = { kind: 'organisation' } as const;
  const alone = await node.records.readOffThread(reader, written[0]!.recordId);
  assert.equal(unwraps.mock.callCount(), 0);
  await new Promise(setImmediate); // One in-thread read per turn: the next turn may open another.
  const together = await Promise.all(
    written.map(({ recordId }) => node.records.readOffThread(reader, recordId)),
  );
  assert.equal(unwraps.mock.callCount(), 2);
  assert.deepEqual(
    [alone, ...together].map((read) => read.resource['id']),
    ['o1', 'o1', 'o2', 'o3'],
  );
});

test('versions are sequential: two concurrent updates of version 1, exactly one wins; history carries proofs', async (t) => {
  const { node } = await freshNode(t);
  try {
    const first = await write(node, {
      resourceType: 'Observation',
      status: 'preliminary',
      code: { text: 'BP' },
    });
    assert.equal(await commit(node, first.tx), 'ok');
    const a = await write(
      node,
      { resourceType: 'Observation', status: 'final', code: { text: 'BP' } },
      { recordId: first.recordId, expectedVersion: 1 },
    );
    const b = await write(
      node,
      { resourceType: 'Observation', status: 'amended', code: { text: 'BP' } },
      { recordId: first.recordId, expectedVersion: 1 },
    );
    const [ra, rb] = await Promise.all([node.submit(a.tx), node.submit(b.tx)]);
    assert.ok(ra.ok && rb.ok);
    const statuses = [
      (await node.waitForTx(ra.txId)).status,
      (await node.waitForTx(rb.txId)).status,
    ].sort();
    assert.deepEqual(statuses, ['denied:version-conflict', 'ok']);
    const history = node.records.history(first.recordId);
    assert.equal(history.length, 2);
    for (const { version, proof } of history) {
      assert.equal(proof.txId, version.txId);
      verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        fromHex(proof.leafHash),
        proof.inclusionProof.map((hash) => fromHex(hash)),
        fromHex(proof.treeHead.logRoot),
      );
      assert.equal(toHex(hashLeaf(node.store.tx(proof.leafIndex)!.bytes)), proof.leafHash);
    }
  } finally {
    await node.close();
  }
});

test('tampering with the blob, an envelope or the anchored commitment is a typed integrity error; a non-recipient cannot read', async (t) => {
  const { node } = await freshNode(t);
  try {
    const resource = {
      resourceType: 'Condition',
      code: { text: 'Hypertension' },
      subject: { reference: 'Patient/patient-0001' },
    };
    const written = await write(node, resource);
    assert.equal(await commit(node, written.tx), 'ok');
    const row = node.store.state.get(
      VERSION_TABLE,
      versionKey(written.recordId, 1),
    ) as unknown as VersionRow;
    const keys = node.keys.encryptionKeys;
    const withRow = (changed: VersionRow): ChainStore =>
      ({
        state: {
          get: (table: string, key: string) =>
            table === VERSION_TABLE ? changed : node.store.state.get(table, key),
        },
      }) as unknown as ChainStore;
    const stage = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        if (error instanceof RecordIntegrityError || error instanceof RecordUnavailableError)
          return error instanceof RecordIntegrityError ? error.stage : error.reason;
        throw error;
      }
      return 'read';
    };
    assert.equal(
      stage(() => openVersion(node.store, node.records.blobs, written.recordId, 1, keys)),
      'read',
    );
    const flip = (hex: string, at: number) =>
      hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
    const envelopes = row.envelopes.map((envelope) => ({
      ...envelope,
      wrappedKey: flip(envelope.wrappedKey, 10),
    }));
    assert.equal(
      stage(() =>
        openVersion(withRow({ ...row, envelopes }), node.records.blobs, written.recordId, 1, keys),
      ),
      'envelope',
    );
    assert.equal(
      stage(() =>
        openVersion(
          withRow({ ...row, commitment: flip(row.commitment!, 0) }),
          node.records.blobs,
          written.recordId,
          1,
          keys,
        ),
      ),
      'commitment',
    );
    const stranger = generateX25519();
    assert.equal(
      stage(() =>
        openVersion(
          node.store,
          node.records.blobs,
          written.recordId,
          1,
          new Map([[toHex(stranger.publicKey), stranger.privateKey]]),
        ),
      ),
      'not-a-recipient',
    );
    const place = node.records.blobs.place(row.ciphertextHash!)!;
    const bytes = readFileSync(place.path);
    bytes[place.offset + place.length - 1]! ^= 1;
    writeFileSync(place.path, bytes);
    assert.equal(
      stage(() => node.records.read({ kind: 'organisation' }, written.recordId)),
      'blob-hash',
    );
  } finally {
    await node.close();
  }
});

/** A value written only inside a record's encrypted content. */
const PLAINTEXT_MARKER = 'erasure-marker-5d0f2b';

test('erasure overwrites every ciphertext on disk, is confirmed on-chain, and a restart does not resurrect it', async (t) => {
  const { node, dir } = await freshNode(t);
  let recordId = '';
  let ciphertexts: Buffer[] = [];
  try {
    const first = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      valueString: PLAINTEXT_MARKER,
    });
    recordId = first.recordId;
    assert.equal(await commit(node, first.tx), 'ok');
    assert.equal(
      await commit(
        node,
        (
          await write(
            node,
            {
              resourceType: 'Observation',
              status: 'amended',
              valueString: `${PLAINTEXT_MARKER} 2`,
            },
            { recordId },
          )
        ).tx,
      ),
      'ok',
    );
    const hashes = [1, 2].map(
      (version) =>
        (
          node.store.state.get(
            VERSION_TABLE,
            versionKey(recordId, version),
          ) as unknown as VersionRow
        ).ciphertextHash!,
    );
    assert.ok(hashes.every((hash) => node.records.blobs.has(hash)));
    ciphertexts = hashes.map((hash) => Buffer.from(node.records.blobs.get(hash)).subarray(16, 48));
    assert.ok(
      ciphertexts.every((slice) => filesHolding(dir, slice).length === 1),
      'each ciphertext is on disk once before erasure',
    );
    assert.equal(
      await commit(
        node,
        node.records.erase(recordId, { patientId: 'patient-0001' }, (type, body) =>
          node.signAsOrg(type, body),
        ),
      ),
      'ok',
    );
    assert.ok(
      hashes.every((hash) => !node.records.blobs.has(hash)),
      'ciphertexts deleted',
    );
    const deadline = Date.now() + 10_000;
    while (
      !Object.hasOwn(
        (node.store.state.get(ERASURE_TABLE, recordId) as unknown as ErasureRow).confirmations,
        'practice-a',
      )
    ) {
      assert.ok(Date.now() < deadline, 'erasure receipt committed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.throws(
      () => node.records.read({ kind: 'organisation' }, recordId),
      RecordUnavailableError,
    );
    const status = node.erasure(recordId);
    assert.deepEqual(status?.requestedBy, { role: 'patient', subject: 'patient-0001' });
    assert.deepEqual(Object.keys(status!.confirmedBy), ['practice-a']);
    assert.deepEqual(status!.awaiting, []);
    assert.deepEqual(
      node.erasures().map((erasure) => erasure.recordId),
      [recordId],
    );
  } finally {
    await node.close();
  }
  for (const needle of [...ciphertexts, Buffer.from(PLAINTEXT_MARKER)])
    assert.deepEqual(
      filesHolding(dir, needle),
      [],
      'no file in the data directory holds the ciphertext or the plaintext',
    );
  const verified = await verifyDataDir(dir, { poolSize: 1 });
  assert.deepEqual(
    verified.erasures.map((erasure) => [erasure.recordId, Object.keys(erasure.confirmedBy)]),
    [[recordId, ['practice-a']]],
  );
  const reopened = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    assert.throws(
      () => reopened.records.read({ kind: 'organisation' }, recordId),
      RecordUnavailableError,
    );
    assert.throws(
      () =>
        openVersion(
          reopened.store,
          reopened.records.blobs,
          recordId,
          1,
          reopened.keys.encryptionKeys,
        ),
      (error: unknown) => error instanceof RecordIntegrityError && error.stage === 'blob-missing',
    );
  } finally {
    await reopened.close();
  }
});

test("a committed version's blob is marked anchored in the turn after its block commits, so the collector never reads every version row for it", async (t) => {
  const { node } = await freshNode(t);
  try {
    const prepared = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      valueString: 'anchored',
    });
    assert.equal(await commit(node, prepared.tx), 'ok');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      collectOrphanBlobs(node, { graceMs: 0, now: Date.now() + 1 }),
      { deleted: 0, kept: 0 },
      'nothing to ask about',
    );
    const orphan = await node.records.blobs.put(new Uint8Array([7, 7, 7]));
    assert.deepEqual(collectOrphanBlobs(node, { graceMs: 0, now: Date.now() + 1 }), {
      deleted: 1,
      kept: 0,
    });
    assert.equal(node.records.blobs.has(orphan), false);
    assert.ok(node.records.read({ kind: 'organisation' }, prepared.recordId));
  } finally {
    await node.close();
  }
});

test('a chain committed before blob_anchor existed has it built from state at open; a peer holding an envelope may fetch', async (t) => {
  const { node, dir } = await freshNode(t);
  let hash = '';
  let recordId = '';
  try {
    const prepared = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      valueString: 'older chain',
    });
    assert.equal(await commit(node, prepared.tx), 'ok');
    recordId = prepared.recordId;
    hash = node.records.version(prepared.recordId, 1)!.ciphertextHash!;
    assert.ok(node.store.blobReferrer(hash) !== undefined, 'kept with the block that anchored it');
  } finally {
    await node.close();
  }
  const db = new Database(join(dir, 'chain.db'));
  db.exec("DELETE FROM blob_anchor; DELETE FROM meta WHERE key = 'blob_anchor'");
  db.close();
  const reopened = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    assert.equal(reopened.store.blobAnchorsBuilt, true);
    assert.deepEqual(JSON.parse(reopened.store.blobReferrer(hash)!), [
      VERSION_TABLE,
      versionKey(recordId, 1),
    ]);
    assert.equal(reopened.peerBlobs.index.mayFetch('practice-a', hash), true);
    assert.equal(reopened.peerBlobs.index.mayFetch('hospital-b', hash), false);
  } finally {
    await reopened.close();
  }
});

test('rotating the organisation key: new versions wrap to the new key, older ones stay readable, also after a restart', async (t) => {
  const { node, dir } = await freshNode(t);
  const before = node.store.state.get(ORG_TABLE, 'practice-a') as unknown as OrgRow;
  let recordId = '';
  let newKey = '';
  try {
    const first = await write(node, {
      resourceType: 'Observation',
      status: 'final',
      valueString: 'before rotation',
    });
    recordId = first.recordId;
    assert.equal(await commit(node, first.tx), 'ok');
    const rotated = await node.rotateEncryptionKey();
    assert.ok(rotated.ok, JSON.stringify(rotated));
    assert.equal((await node.waitForTx(rotated.txId)).status, 'ok');
    newKey = (node.store.state.get(ORG_TABLE, 'practice-a') as unknown as OrgRow).encryptionKey;
    assert.notEqual(newKey, before.encryptionKey);
    assert.equal(
      await commit(
        node,
        (
          await write(
            node,
            { resourceType: 'Observation', status: 'amended', valueString: 'after rotation' },
            { recordId },
          )
        ).tx,
      ),
      'ok',
    );
    const recipients = (version: number) =>
      (
        node.store.state.get(VERSION_TABLE, versionKey(recordId, version)) as unknown as VersionRow
      ).envelopes.map((envelope) => envelope.recipient);
    assert.ok(recipients(1).includes(before.encryptionKey) && !recipients(1).includes(newKey));
    assert.ok(recipients(2).includes(newKey) && !recipients(2).includes(before.encryptionKey));
    // Announcing the key already on-chain is refused, not silently accepted.
    const again = await node.submit(
      node.signAsOrg('membership.rotate-encryption-key', { encryptionKey: newKey }),
    );
    assert.ok(again.ok);
    assert.equal((await node.waitForTx(again.txId)).status, 'denied:key-unchanged');
  } finally {
    await node.close();
  }
  const reopened = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  try {
    assert.equal(reopened.keys.encryptionPublicKey, newKey);
    assert.equal(
      reopened.records.read({ kind: 'organisation' }, recordId, 1).resource['valueString'],
      'before rotation',
    );
    assert.equal(
      reopened.records.read({ kind: 'organisation' }, recordId, 2).resource['valueString'],
      'after rotation',
    );
  } finally {
    await reopened.close();
  }
});
