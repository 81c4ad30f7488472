/**
 * npm run bench:records [-- --writes N]
 *
 * On the embedded node (solo orderer, SQLite, blobs on disk), with 2 KB FHIR resources and
 * three recipients per version (patient, organisation, one grantee):
 *   writesPerSec  seal + wrap ×3 + store blob + sign + order + execute + commit, end to end
 *   readsPerSec   blob read and re-hash + unwrap + decrypt + commitment check
 * and the same run's raw cost of those primitives, with the ratio of raw cost to measured cost.
 * The last line is JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  canonicalBytes,
  generateSigningKey,
  generateX25519,
  openRecordContent,
  recordAad,
  sealRecordContent,
  sign,
  toHex,
  unwrapDataKey,
  wrapDataKey,
} from '../src/crypto/index.js';
import { BlobStore } from '../src/storage/index.js';
import { ChartChainNode } from '../src/node/index.js';
import {
  MEMBERSHIP_REGISTER_PATIENT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
} from '../src/contracts/index.js';

/** Writes in flight at once: enough to fill blocks and to overlap blob fsyncs with crypto. */
const CONCURRENT_WRITES = 256;
const writes = Number(process.argv[process.argv.indexOf('--writes') + 1] || 5000) || 5000;

function resource(i: number) {
  const note =
    'Patient reports intermittent chest tightness on exertion, relieved by rest. '.repeat(24);
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { text: `Clinical note ${i}` },
    subject: { reference: 'Patient/patient-0001' },
    valueString: note.slice(0, 1900),
  };
}

function perSecond(count: number, started: number): number {
  return count / ((performance.now() - started) / 1000);
}

function microsPer(count: number, run: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) run(i);
  return ((performance.now() - started) * 1000) / count;
}

/** µs per blob put when `count` puts are in flight together, as on the write path. */
async function microsPerPut(blobs: BlobStore, sealed: Uint8Array, count: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      blobs.put(Buffer.concat([sealed, Buffer.from(String(i))])),
    ),
  );
  return ((performance.now() - started) * 1000) / count;
}

/** Raw cost of one write's and one read's primitives, in µs, measured in this process. */
async function primitiveCosts(dir: string): Promise<{ writeMicros: number; readMicros: number }> {
  const blobs = new BlobStore(join(dir, 'primitive-blobs'));
  const recipients = [generateX25519(), generateX25519(), generateX25519()];
  const key = generateSigningKey();
  const plaintext = canonicalBytes(resource(0));
  const aad = recordAad({ recordId: 'r', version: 1, resourceType: 'Observation' });
  const sealed = sealRecordContent(plaintext, aad);
  const envelope = wrapDataKey(sealed.dataKey, recipients[0]!.publicKey, aad);
  const hash = await blobs.put(sealed.sealed);
  const seal = microsPer(2000, () => sealRecordContent(plaintext, aad));
  const wrap =
    microsPer(2000, () => wrapDataKey(sealed.dataKey, recipients[0]!.publicKey, aad)) *
    recipients.length;
  const put = await microsPerPut(blobs, sealed.sealed, 1000);
  const signing = microsPer(2000, () => sign(key, plaintext));
  const read = microsPer(2000, () => blobs.get(hash));
  const unwrap = microsPer(2000, () => unwrapDataKey(envelope, recipients[0]!.privateKey, aad));
  const open = microsPer(2000, () => openRecordContent(sealed.sealed, sealed.dataKey, aad));
  await blobs.close();
  return { writeMicros: seal + wrap + put + signing, readMicros: read + unwrap + open };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-bench-records-'));
  try {
    ChartChainNode.init(dir, {
      orgId: 'bench-practice',
      orgName: 'Benchmark Practice',
      network: 'bench',
    });
    const node = await ChartChainNode.open(dir);
    const practitioner = node.records.enrol('practitioner', 'dr-bench');
    const patient = node.records.enrol('patient', 'patient-0001');
    for (const tx of [
      node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, {
        practitionerId: 'dr-bench',
        ...practitioner,
      }),
      node.signAsOrg(MEMBERSHIP_REGISTER_PATIENT, {
        patientId: 'patient-0001',
        custody: 'custodial',
        ...patient,
      }),
    ]) {
      const result = await node.submit(tx);
      if (!result.ok) throw new Error(result.reason);
      await node.waitForTx(result.txId);
    }
    const grantee = toHex(generateX25519().publicKey);
    console.log(`bench:records: ${writes} writes of ~2 KB, 3 recipients each, data in ${dir}`);

    const started = performance.now();
    const txIds: string[] = [];
    const recordIds: string[] = [];
    // A fixed number of writers, each submitting its write as soon as the ciphertext is durable.
    let next = 0;
    const writer = async (): Promise<void> => {
      while (next < writes) {
        const i = next++;
        const write = await node.records.write({
          practitionerId: 'dr-bench',
          patientId: 'patient-0001',
          resource: resource(i),
          extraRecipients: [grantee],
        });
        const result = await node.submit(write.tx);
        if (!result.ok) throw new Error(result.reason);
        recordIds.push(write.recordId);
        txIds.push(result.txId);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT_WRITES }, writer));
    for (const txId of txIds)
      if ((await node.waitForTx(txId, 60_000)).status !== 'ok')
        throw new Error(`write ${txId} failed`);
    const writesPerSec = perSecond(writes, started);
    console.log(`writes: ${writesPerSec.toFixed(0)}/s end to end`);

    const readStarted = performance.now();
    for (const recordId of recordIds) node.records.read({ kind: 'organisation' }, recordId);
    const readsPerSec = perSecond(recordIds.length, readStarted);
    console.log(`reads: ${readsPerSec.toFixed(0)}/s (decrypt + verify)`);
    await node.close();

    const raw = await primitiveCosts(dir);
    const result = {
      writesPerSec: Math.round(writesPerSec),
      readsPerSec: Math.round(readsPerSec),
      primitiveWriteMicros: Number(raw.writeMicros.toFixed(1)),
      primitiveReadMicros: Number(raw.readMicros.toFixed(1)),
      writeCostRatio: Number((1e6 / writesPerSec / raw.writeMicros).toFixed(2)),
      readCostRatio: Number((1e6 / readsPerSec / raw.readMicros).toFixed(2)),
      recipients: 3,
      resourceBytes: canonicalBytes(resource(0)).byteLength,
    };
    console.log(
      `primitives: ${result.primitiveWriteMicros} µs per write (seal, 3 wraps, blob put, sign), ${result.primitiveReadMicros} µs per read (blob get, unwrap, open)`,
    );
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
