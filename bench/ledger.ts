/**
 * npm run bench:ledger [-- --leaves N] [--data DIR]
 *
 * Measures, on this machine and in one run:
 *   verifyBoundTxPerSec   Ed25519 verifications/s on the worker pool (all cores): the ceiling.
 *   committedTxPerSec     transactions admitted, ordered, executed and durably committed per second
 *                         on the embedded node (solo orderer, SQLite), submitted in-process.
 *   chainVerifyTxPerSec   `chartchain verify --data` over the resulting chain, per transaction.
 *   inclusionVerifyMicros mean time to verify one RFC 9162 inclusion proof at the final tree size.
 * The last line is JSON. With --data DIR the chain stays in DIR for `chartchain verify --data DIR`.
 */
import { verifyDataDir } from '../src/verifier/index.js';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateSigningKey, sign, utf8, VerifyPool, randomHex } from './bench-util.js';
import { ChartChainNode } from '../src/node/index.js';
import {
  encodeTransaction,
  MerkleLog,
  hashLeaf,
  signTransaction,
  verifyInclusion,
} from '../src/ledger/index.js';
import { ChainStore } from '../src/storage/index.js';
import { MEMBERSHIP_REGISTER_PATIENT, standardExecutor } from '../src/contracts/index.js';

function flag(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const leaves = Number(flag('leaves', '1000000'));
const keepDir = flag('data');
const cores = availableParallelism();

async function measureVerifyBound(): Promise<number> {
  const pool = new VerifyPool(cores);
  const key = generateSigningKey();
  const items = Array.from({ length: 20_000 }, (_, i) => {
    const message = utf8(
      `{"body":{"patientId":"patient-${i}","custody":"self"},"nonce":${i},"type":"membership.register-patient"}`.padEnd(
        420,
        ' ',
      ),
    );
    return { publicKey: key.publicKey, message, signature: sign(key, message) };
  });
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let begin = 0; begin < items.length; begin += 4096)
      await pool.verifyBatch(items.slice(begin, begin + 4096));
    best = Math.max(best, items.length / ((performance.now() - started) / 1000));
  }
  await pool.close();
  return best;
}

/**
 * Registrations signed with the organisation's key as a client holding it would sign them, not
 * through the node's own signer: the node vouches for what it signs itself, and this benchmark
 * measures admission with every signature checked on the pool.
 */
function signedRegistrations(node: ChartChainNode, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const key = node.keys.signing;
  let nonce = node.lastUsedNonce(key.keyId);
  for (let i = 0; i < count; i++) {
    const body = {
      patientId: `patient-${i.toString(36).padStart(8, '0')}`,
      signingKey: randomHex(32),
      encryptionKey: randomHex(32),
      custody: 'custodial' as const,
    };
    nonce += 1;
    const { type } = MEMBERSHIP_REGISTER_PATIENT;
    const tx = signTransaction({ type, nonce, body: MEMBERSHIP_REGISTER_PATIENT.build(body) }, key);
    out.push(encodeTransaction(tx));
  }
  return out;
}

/** Submits everything with bounded in-flight work; returns commit timestamps at each decade of the log. */
async function commitAll(
  node: ChartChainNode,
  txs: Uint8Array[],
): Promise<{ seconds: number; decades: Map<number, number> }> {
  const baseSize = node.head().logSize;
  const decades = new Map<number, number>();
  const started = performance.now();
  const marks = [1e4, 1e5, 1e6, 1e7].filter((mark) => mark <= txs.length);
  const watcher = setInterval(() => {
    const done = node.head().logSize - baseSize;
    for (const mark of marks)
      if (done >= mark && !decades.has(mark))
        decades.set(mark, (performance.now() - started) / 1000);
  }, 2);
  // Chunks of submissions with a bounded number in flight keep the queue full but never over.
  const chunkSize = 2048;
  const chunksInFlightMax = 8;
  let refused = 0;
  const inFlight = new Set<Promise<void>>();
  for (let begin = 0; begin < txs.length; begin += chunkSize) {
    while (inFlight.size >= chunksInFlightMax || node.pendingCount > 50_000)
      await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 5))]);
    const chunk: Promise<void> = Promise.all(
      txs.slice(begin, begin + chunkSize).map((tx) => node.submit(tx)),
    ).then((results) => {
      refused += results.filter((result) => !result.ok).length;
      inFlight.delete(chunk);
    });
    inFlight.add(chunk);
  }
  await Promise.all(inFlight);
  while (node.head().logSize - baseSize < txs.length) await new Promise((r) => setTimeout(r, 2));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(watcher);
  for (const mark of marks) if (!decades.has(mark)) decades.set(mark, seconds);
  if (refused > 0) throw new Error(`${refused} submissions were refused`);
  return { seconds, decades };
}

function measureInclusion(dataDir: string, treeSize: number): { micros: number; hashes: number } {
  const store = ChainStore.open(join(dataDir, 'chain.db'), standardExecutor().tables, {
    readonly: true,
  });
  const log = new MerkleLog(store.logNodes, treeSize);
  const root = log.root();
  const cases = Array.from({ length: 2000 }, () => {
    const leafIndex = Math.floor(Math.random() * treeSize);
    return {
      leafIndex,
      leafHash: hashLeaf(store.tx(leafIndex)!.bytes),
      proof: log.inclusionProof(leafIndex, treeSize),
    };
  });
  store.close();
  for (const c of cases.slice(0, 200))
    verifyInclusion(c.leafIndex, treeSize, c.leafHash, c.proof, root);
  const started = performance.now();
  for (const c of cases) verifyInclusion(c.leafIndex, treeSize, c.leafHash, c.proof, root);
  const micros = ((performance.now() - started) * 1000) / cases.length;
  return { micros, hashes: cases.reduce((sum, c) => sum + c.proof.length, 0) / cases.length };
}

async function main(): Promise<void> {
  const dataDir =
    keepDir === undefined ? mkdtempSync(join(tmpdir(), 'chartchain-bench-')) : resolve(keepDir);
  if (keepDir !== undefined && existsSync(join(dataDir, 'chain.db')))
    throw new Error(`${dataDir} already holds a chain; pick an empty --data DIR`);
  console.log(`bench:ledger: ${leaves} transactions, ${cores} cores, data in ${dataDir}`);
  const verifyBoundTxPerSec = await measureVerifyBound();
  console.log(
    `verify bound: ${verifyBoundTxPerSec.toFixed(0)} Ed25519 verifies/s on ${cores} workers`,
  );

  ChartChainNode.init(dataDir, { orgId: 'bench-lab', orgName: 'Benchmark Lab', network: 'bench' });
  const node = await ChartChainNode.open(dataDir);
  const signStarted = performance.now();
  const txs = signedRegistrations(node, leaves);
  console.log(
    `signed ${leaves} registrations in ${((performance.now() - signStarted) / 1000).toFixed(1)} s (not timed below)`,
  );
  const { seconds, decades } = await commitAll(node, txs);
  txs.length = 0;
  await node.close();
  const committedTxPerSec = leaves / seconds;
  console.log(
    `committed ${leaves} in ${seconds.toFixed(1)} s: ${committedTxPerSec.toFixed(0)} tx/s (${((100 * committedTxPerSec) / verifyBoundTxPerSec).toFixed(0)}% of the verify bound)`,
  );
  const commitMicrosPerTx: Record<string, number> = {};
  let previous = { mark: 0, at: 0 };
  for (const [mark, at] of [...decades].sort((a, b) => a[0] - b[0])) {
    commitMicrosPerTx[`${previous.mark}-${mark}`] = Math.round(
      ((at - previous.at) * 1e6) / (mark - previous.mark),
    );
    previous = { mark, at };
  }
  console.log(`commit cost per tx by log range (µs): ${JSON.stringify(commitMicrosPerTx)}`);

  const verifyStarted = performance.now();
  const summary = await verifyDataDir(dataDir);
  const chainVerifyTxPerSec = summary.txs / ((performance.now() - verifyStarted) / 1000);
  console.log(
    `chain verify: ${summary.blocks} blocks, ${summary.txs} txs at ${chainVerifyTxPerSec.toFixed(0)} tx/s (${((100 * chainVerifyTxPerSec) / verifyBoundTxPerSec).toFixed(0)}% of the verify bound)`,
  );

  const inclusion = measureInclusion(dataDir, summary.logSize);
  console.log(
    `inclusion proof verify at ${summary.logSize} leaves: ${inclusion.micros.toFixed(1)} µs, ${inclusion.hashes.toFixed(1)} hashes`,
  );
  if (keepDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      committedTxPerSec: Math.round(committedTxPerSec),
      verifyBoundTxPerSec: Math.round(verifyBoundTxPerSec),
      chainVerifyTxPerSec: Math.round(chainVerifyTxPerSec),
      inclusionVerifyMicros: Number(inclusion.micros.toFixed(1)),
      inclusionProofHashes: Number(inclusion.hashes.toFixed(1)),
      leaves: summary.logSize,
      commitMicrosPerTx,
    }),
  );
}

await main();
