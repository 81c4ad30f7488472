import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { fromHex, generateSigningKey, publicKeyFromRaw, toHex } from '../crypto/index.js';
import {
  blockHashOf,
  encodeTransaction,
  hashLeaf,
  NETWORK_GENESIS_KEY,
  NETWORK_GENESIS_KEY_ID,
  RootMismatchError,
  signTransaction,
  TX_BYTES_MAX,
  TX_WIRE_BYTES_MAX,
  verifyCheckpointSignature,
  verifyConsistency,
  verifyHeaderSignature,
  verifyInclusion,
  URL_PARAM_LENGTH_MAX,
  type Block,
  type BlockHeader,
  type Checkpoint,
  type JsonObject,
  type Transaction,
} from '../ledger/index.js';
import {
  ChartChainNode,
  type ConsistencyProofResponse,
  type InclusionProofResponse,
} from '../node/index.js';
import { AuthServer, parseScopes } from './auth/index.js';
import { buildServer } from './server.js';

interface Served {
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  readonly auth: AuthServer;
}

/** Each app's auditor token: ledger reads other than the status and tree heads need one. */
const auditorTokens = new WeakMap<FastifyInstance, string>();

/** `request` with the app's auditor token, unless it names its own Authorization. */
function withToken(app: FastifyInstance, request: InjectOptions | string): InjectOptions {
  const options = typeof request === 'string' ? { url: request } : request;
  return {
    ...options,
    headers: { authorization: `Bearer ${auditorTokens.get(app)!}`, ...options.headers },
  };
}

/** A fresh single-org network behind an un-listened Fastify app; everything is torn down after `t`. */
async function serve(t: TestContext): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-api-'));
  const opened: { node?: ChartChainNode; app?: FastifyInstance } = {};
  t.after(async () => {
    await opened.app?.close();
    await opened.node?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = (opened.node = await ChartChainNode.open(dir, { verifyPoolSize: 1 }));
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1',
    fhirBaseUrl: 'http://127.0.0.1/fhir',
  });
  const app = (opened.app = buildServer(node, { auth }));
  await app.ready();
  auditorTokens.set(
    app,
    await auth.tokens.issue({
      principal: { kind: 'auditor', id: 'auditor-ann', org: 'practice-a' },
      scopes: parseScopes('user/AuditEvent.rs'),
    }),
  );
  return { node, app, auth };
}

const patientBody = (patientId: string): JsonObject => ({
  patientId,
  signingKey: toHex(generateSigningKey().publicKey),
  encryptionKey: '11'.repeat(32),
  custody: 'self',
});

interface StatusDocument {
  readonly height: number;
  readonly logSize: number;
  readonly logRoot: string;
  readonly appHash: string;
  readonly blockHash: string;
  readonly pending: number;
  readonly halted: string | null;
  readonly finalisedHeight: number;
  readonly peers: Record<string, { height: number; blockHash: string; appHash: string }>;
}

type TxDocument = {
  readonly txId: string;
  readonly status: string;
  readonly height?: number;
  readonly leafIndex?: number;
};

/** Sends `request` and returns the parsed JSON body after checking the status code. */
async function json<T>(
  app: FastifyInstance,
  request: InjectOptions | string,
  statusCode = 200,
): Promise<T> {
  const response = await app.inject(withToken(app, request));
  assert.equal(response.statusCode, statusCode, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  return response.json() as T;
}

const postTx = (
  payload: string | Buffer | Transaction,
  contentType = 'application/json',
): InjectOptions => ({
  method: 'POST',
  url: '/ledger/tx',
  headers: { 'content-type': contentType },
  payload:
    typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
});

/** Polls GET /ledger/tx/:txId until it leaves 'pending'; it must never be unknown meanwhile. */
async function committed(app: FastifyInstance, txId: string): Promise<Required<TxDocument>> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const found = await json<TxDocument>(app, `/ledger/tx/${txId}`);
    assert.equal(found.txId, txId);
    if (found.status !== 'pending') return found as Required<TxDocument>;
    assert.ok(performance.now() < deadline, `${txId} still pending after 10 s`);
    await sleep(2);
  }
}

/** The error document every refusal carries; throws unless `response` is one with `statusCode`. */
function refusal(
  response: LightMyRequestResponse,
  statusCode: number,
): { error: string; reason: string } {
  assert.equal(response.statusCode, statusCode, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/, response.body);
  const body = response.json() as unknown;
  assert.ok(isRefusal(body), `not an {error, reason} document: ${response.body}`);
  return body;
}

function isRefusal(body: unknown): body is { error: string; reason: string } {
  if (typeof body !== 'object' || body === null) return false;
  const { error, reason } = body as Record<string, unknown>;
  return (
    typeof error === 'string' && error.length > 0 && typeof reason === 'string' && reason.length > 0
  );
}

const hashes = (hexes: readonly string[]): Uint8Array[] => hexes.map((hash) => fromHex(hash));

function flipByte(proof: readonly string[], index: number): Uint8Array[] {
  const flipped = hashes(proof);
  flipped[index]![0]! ^= 0x01;
  return flipped;
}

test('GET /ledger/status reports the head, the log and the app hash of the genesis block', async (t) => {
  const { node, app } = await serve(t);
  const status = await json<StatusDocument>(app, '/ledger/status');
  assert.equal(status.height, 0);
  assert.equal(status.logSize, 1, 'the genesis transaction is leaf 0');
  for (const hash of [status.logRoot, status.appHash, status.blockHash])
    assert.match(hash, /^[0-9a-f]{64}$/);
  const genesis = await json<Block & { hash: string }>(app, '/ledger/blocks/0');
  assert.equal(status.blockHash, genesis.hash);
  assert.equal(status.blockHash, blockHashOf(genesis.header));
  assert.equal(status.logRoot, genesis.header.logRoot);
  assert.equal(status.appHash, genesis.header.appHash);
  assert.equal(status.halted, null);
  assert.equal(status.pending, 0);
  // Block 0 is a network genesis: signed by the published genesis key, trusted by its pinned hash.
  assert.equal(genesis.header.proposer, NETWORK_GENESIS_KEY_ID);
  assert.ok(verifyHeaderSignature(genesis.header, publicKeyFromRaw(NETWORK_GENESIS_KEY.publicKey)));
  assert.equal(status.blockHash, node.config.genesisHash);
  assert.equal(status.finalisedHeight, 0, 'a network of one finalises its own blocks');
  assert.deepEqual(Object.keys(status.peers), [node.config.orgId]);
});

test("GET /ledger/checkpoints/:height shows each organisation's signed checkpoint and whether the block is final", async (t) => {
  const { node, app } = await serve(t);
  const view = await json<{
    height: number;
    final: boolean;
    majority: number;
    members: string[];
    checkpoints: (Checkpoint & { agrees: boolean })[];
  }>(app, '/ledger/checkpoints/0');
  assert.deepEqual(
    { height: view.height, final: view.final, majority: view.majority, members: view.members },
    { height: 0, final: true, majority: 1, members: [node.config.orgId] },
  );
  const [own] = view.checkpoints;
  assert.equal(own?.orgId, node.config.orgId);
  assert.equal(own.agrees, true);
  assert.equal(own.blockHash, node.blockHash(0));
  assert.equal(own.appHash, node.head().appHash);
  assert.ok(verifyCheckpointSignature(own, publicKeyFromRaw(node.keys.signing.publicKey)));
  assert.equal(refusal(await app.inject('/ledger/checkpoints/7'), 404).error, 'not-found');
  assert.equal(refusal(await app.inject('/ledger/checkpoints/x'), 400).error, 'bad-request');
});

test('a submitted transaction commits; its block, inclusion and consistency proofs verify against signed tree heads', async (t) => {
  const { node, app } = await serve(t);
  const proposerKey = publicKeyFromRaw(node.keys.signing.publicKey);
  const submitted: { tx: Transaction; record: Required<TxDocument> }[] = [];
  for (const patientId of ['patient-0001', 'patient-0002', 'patient-0003']) {
    const tx = node.signAsOrg('membership.register-patient', patientBody(patientId));
    const { txId } = await json<{ txId: string }>(app, postTx(tx), 202);
    assert.match(txId, /^[0-9a-f]{64}$/);
    const record = await committed(app, txId);
    assert.equal(record.status, 'ok');
    assert.equal(
      record.leafIndex,
      submitted.length + 1,
      'leaves are numbered in commit order after genesis',
    );
    submitted.push({ tx, record });
  }

  const status = await json<StatusDocument>(app, '/ledger/status');
  assert.equal(status.logSize, 4);
  // Every signed tree head the client can check proofs against, read block by block.
  const heads: BlockHeader[] = [];
  for (let height = 0; height <= status.height; height++) {
    const block = await json<Block & { hash: string }>(app, `/ledger/blocks/${height}`);
    assert.equal(block.header.height, height);
    assert.equal(block.hash, blockHashOf(block.header));
    assert.equal(
      block.header.prevHash,
      height === 0 ? '0'.repeat(64) : blockHashOf(heads[height - 1]!),
    );
    assert.ok(
      verifyHeaderSignature(
        block.header,
        height === 0 ? publicKeyFromRaw(NETWORK_GENESIS_KEY.publicKey) : proposerKey,
      ),
      `header ${height} signature`,
    );
    for (const entry of block.txs) assert.equal(typeof entry.status, 'string');
    heads.push(block.header);
  }
  assert.equal(heads.at(-1)!.logRoot, status.logRoot);
  assert.equal(blockHashOf(heads.at(-1)!), status.blockHash);

  for (const { tx, record } of submitted) {
    const block = await json<Block>(app, `/ledger/blocks/${record.height}`);
    const entry = block.txs.find((candidate) => candidate.tx.sig === tx.sig);
    assert.deepEqual(entry, { tx, status: 'ok' });

    // The leaf hash is computed here, from the transaction itself: the server's copy is not trusted.
    const leafHash = hashLeaf(encodeTransaction(tx));
    for (const treeHead of heads.filter((head) => head.logSize > record.leafIndex)) {
      const url = `/ledger/proof/inclusion?txId=${record.txId}&treeSize=${treeHead.logSize}`;
      const proof = await json<InclusionProofResponse>(app, url);
      assert.equal(proof.leafIndex, record.leafIndex);
      assert.equal(proof.treeSize, treeHead.logSize);
      assert.equal(proof.leafHash, toHex(leafHash));
      assert.deepEqual(
        proof.treeHead,
        treeHead,
        'the proof names the signed tree head of that size',
      );
      verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        leafHash,
        hashes(proof.inclusionProof),
        fromHex(treeHead.logRoot),
      );
      for (let i = 0; i < proof.inclusionProof.length; i++) {
        assert.throws(
          () =>
            verifyInclusion(
              proof.leafIndex,
              proof.treeSize,
              leafHash,
              flipByte(proof.inclusionProof, i),
              fromHex(treeHead.logRoot),
            ),
          RootMismatchError,
        );
      }
    }
    const newest = await json<InclusionProofResponse>(
      app,
      `/ledger/proof/inclusion?txId=${record.txId}`,
    );
    assert.equal(
      newest.treeSize,
      status.logSize,
      'treeSize defaults to the newest signed tree head',
    );
  }

  const all = await json<ConsistencyProofResponse>(
    app,
    `/ledger/proof/consistency?first=1&second=${status.logSize}`,
  );
  verifyConsistency(
    1,
    status.logSize,
    fromHex(heads[0]!.logRoot),
    fromHex(status.logRoot),
    hashes(all.consistencyProof),
  );
  for (const [i, first] of heads.entries()) {
    for (const second of heads.slice(i)) {
      const proof = await json<ConsistencyProofResponse>(
        app,
        `/ledger/proof/consistency?first=${first.logSize}&second=${second.logSize}`,
      );
      assert.deepEqual([proof.firstTreeHead, proof.secondTreeHead], [first, second]);
      verifyConsistency(
        first.logSize,
        second.logSize,
        fromHex(first.logRoot),
        fromHex(second.logRoot),
        hashes(proof.consistencyProof),
      );
      for (let j = 0; j < proof.consistencyProof.length; j++) {
        assert.throws(
          () =>
            verifyConsistency(
              first.logSize,
              second.logSize,
              fromHex(first.logRoot),
              fromHex(second.logRoot),
              flipByte(proof.consistencyProof, j),
            ),
          RootMismatchError,
        );
      }
    }
  }
});

test('every refusal is a 4xx with a JSON {error, reason}', async (t) => {
  const { node, app } = await serve(t);
  const orgKey = node.keys.signing;
  const accepted = node.signAsOrg('membership.register-patient', patientBody('patient-0001'));
  const { txId } = await json<{ txId: string }>(app, postTx(accepted), 202);
  await committed(app, txId);
  const forged = {
    ...node.signAsOrg('membership.register-patient', patientBody('patient-0002')),
    body: patientBody('patient-0003'),
  };
  const { sig: _sig, ...unsigned } = node.signAsOrg(
    'membership.register-patient',
    patientBody('patient-0004'),
  );
  const valid = node.signAsOrg('membership.register-patient', patientBody('patient-0005'));
  const unknownTxId = 'ab'.repeat(32);

  // error: undefined where the framework, not the ledger, refuses and only the shape is promised.
  const cases: {
    name: string;
    request: InjectOptions | string;
    statusCode: number;
    error: string | undefined;
  }[] = [
    {
      name: 'malformed JSON',
      request: postTx('{"type":'),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    {
      name: 'invalid UTF-8',
      request: postTx(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    { name: 'empty body', request: postTx(''), statusCode: 400, error: 'invalid:malformed' },
    {
      name: 'no body at all',
      request: { method: 'POST', url: '/ledger/tx' },
      statusCode: 400,
      error: 'bad-request',
    },
    { name: 'a JSON array', request: postTx('[]'), statusCode: 400, error: 'invalid:malformed' },
    {
      name: 'a missing field',
      request: postTx(JSON.stringify(unsigned)),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    {
      name: 'an extra field',
      request: postTx(JSON.stringify({ ...valid, extra: 1 })),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    {
      name: 'a string nonce',
      request: postTx(JSON.stringify({ ...valid, nonce: '9' })),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    {
      name: 'an uppercase signer',
      request: postTx(JSON.stringify({ ...valid, signer: valid.signer.toUpperCase() })),
      statusCode: 400,
      error: 'invalid:malformed',
    },
    {
      name: 'an unknown type',
      request: postTx(node.signAsOrg('records.teleport', {})),
      statusCode: 400,
      error: 'invalid:unknown-type',
    },
    {
      name: 'a replay',
      request: postTx(accepted),
      statusCode: 409,
      error: 'invalid:duplicate-txid',
    },
    {
      name: 'a stale nonce',
      request: postTx(
        signTransaction(
          { type: 'membership.register-patient', nonce: 1, body: patientBody('patient-0006') },
          orgKey,
        ),
      ),
      statusCode: 409,
      error: 'invalid:stale-nonce',
    },
    {
      name: 'an unknown signer',
      request: postTx(
        signTransaction(
          { type: 'membership.register-patient', nonce: 1, body: patientBody('patient-0007') },
          generateSigningKey(),
        ),
      ),
      statusCode: 403,
      error: 'invalid:unknown-signer',
    },
    {
      name: 'a bad signature',
      request: postTx(forged),
      statusCode: 403,
      error: 'invalid:bad-signature',
    },
    {
      name: 'a body over the wire limit',
      request: postTx(' '.repeat(TX_WIRE_BYTES_MAX + 1)),
      statusCode: 413,
      error: undefined,
    },
    {
      name: 'a canonical body over the transaction limit',
      request: postTx(
        node.signAsOrg('membership.register-patient', {
          ...patientBody('patient-0008'),
          note: 'x'.repeat(TX_BYTES_MAX + 1024),
        }),
      ),
      statusCode: 413,
      error: 'invalid:oversized',
    },
    {
      name: 'txId not hex',
      request: '/ledger/tx/not-a-tx-id',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'txId uppercase',
      request: `/ledger/tx/${txId.toUpperCase()}`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'txId one byte short',
      request: `/ledger/tx/${txId.slice(2)}`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'txId unknown',
      request: `/ledger/tx/${unknownTxId}`,
      statusCode: 404,
      error: 'not-found',
    },
    { name: 'height abc', request: '/ledger/blocks/abc', statusCode: 400, error: 'bad-request' },
    { name: 'height -1', request: '/ledger/blocks/-1', statusCode: 400, error: 'bad-request' },
    { name: 'height 1e3', request: '/ledger/blocks/1e3', statusCode: 400, error: 'bad-request' },
    { name: 'height 01', request: '/ledger/blocks/01', statusCode: 400, error: 'bad-request' },
    { name: 'height 1.0', request: '/ledger/blocks/1.0', statusCode: 400, error: 'bad-request' },
    {
      name: 'height 2^53',
      request: '/ledger/blocks/9007199254740992',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'height huge',
      request: `/ledger/blocks/${'9'.repeat(40)}`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'height far past the head',
      request: '/ledger/blocks/9007199254740991',
      statusCode: 404,
      error: 'not-found',
    },
    {
      name: 'height just past the head',
      request: `/ledger/blocks/${node.head().height + 1}`,
      statusCode: 404,
      error: 'not-found',
    },
    {
      name: 'inclusion without txId',
      request: '/ledger/proof/inclusion',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'inclusion of an unknown txId',
      request: `/ledger/proof/inclusion?txId=${unknownTxId}`,
      statusCode: 404,
      error: 'not-found',
    },
    {
      name: 'inclusion at a size no block signed',
      request: `/ledger/proof/inclusion?txId=${txId}&treeSize=7`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'inclusion in a tree too small to hold it',
      request: `/ledger/proof/inclusion?txId=${txId}&treeSize=1`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'inclusion with treeSize abc',
      request: `/ledger/proof/inclusion?txId=${txId}&treeSize=abc`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'inclusion with txId given twice',
      request: `/ledger/proof/inclusion?txId=${txId}&txId=${txId}`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'consistency first > second',
      request: '/ledger/proof/consistency?first=2&second=1',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'consistency at a size no block signed',
      request: '/ledger/proof/consistency?first=1&second=3',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'consistency from size 0',
      request: '/ledger/proof/consistency?first=0&second=2',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'consistency without second',
      request: '/ledger/proof/consistency?first=1',
      statusCode: 400,
      error: 'bad-request',
    },
    { name: 'unknown route', request: '/ledger/nope', statusCode: 404, error: 'not-found' },
    {
      name: 'wrong method',
      request: { method: 'DELETE', url: '/ledger/status' },
      statusCode: 404,
      error: 'not-found',
    },
    {
      name: 'a malformed percent escape',
      request: '/ledger/tx/%zz',
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'a txId of 200 characters: the route names what is wrong',
      request: `/ledger/tx/${'a'.repeat(200)}`,
      statusCode: 400,
      error: 'bad-request',
    },
    {
      name: 'a path parameter over the router length limit',
      request: `/ledger/tx/${'a'.repeat(URL_PARAM_LENGTH_MAX + 1)}`,
      statusCode: 414,
      error: 'bad-request',
    },
  ];
  for (const { name, request, statusCode, error } of cases) {
    const body = refusal(await app.inject(withToken(app, request)), statusCode);
    if (error !== undefined) assert.equal(body.error, error, name);
  }
  const status = await json<StatusDocument>(app, '/ledger/status');
  assert.equal(status.logSize, 2, 'only the one accepted transaction was committed');
});

test('nothing malformed crashes the node: thousands of generated requests are each refused with a 4xx and commit nothing', async (t) => {
  const { node, app } = await serve(t);
  const before = await json<StatusDocument>(app, '/ledger/status');
  const txTypes = node.executor.contracts.flatMap((contract) => contract.txTypes);
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
    maxLength: 40,
  });
  const hexBytes = (length: number) =>
    fc.uint8Array({ minLength: length, maxLength: length }).map(toHex);
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const loneSurrogate = fc.constantFrom(
    '\\ud800',
    '\\udfff',
    'a\\ud83d',
    '\\udc00\\ud800',
    '\\ud83d\\ude00\\ud83d',
  );
  const hugeNumber = fc.constantFrom(
    '1e400',
    '-1e400',
    '1e-400',
    '9007199254740993',
    '123456789012345678901234567890',
    '-0',
    '1E+2',
    '0.5',
  );

  // Transaction-shaped objects whose fields hold the wrong kinds of value exercise the shape checks.
  const txShaped = fc
    .record(
      {
        type: fc.oneof(fc.constantFrom(...txTypes), printable, fc.jsonValue()),
        signer: fc.oneof(
          fc.constant(node.keys.signing.keyId),
          hexBytes(32),
          printable,
          fc.jsonValue(),
        ),
        nonce: fc.oneof(
          fc.integer({ min: -2, max: 1_000 }),
          fc.constant(Number.MAX_SAFE_INTEGER),
          fc.double(),
          fc.jsonValue(),
        ),
        body: fc.oneof(
          fc.constant(patientBody('patient-9999')),
          fc.dictionary(printable, fc.jsonValue()),
          fc.jsonValue(),
        ),
        sig: fc.oneof(hexBytes(64), printable, fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['type', 'signer', 'nonce', 'body', 'sig'] },
    )
    .map((tx) => JSON.stringify(tx));
  // Well-shaped but unsigned transactions get past decoding to the type, signer, nonce and signature checks.
  const wellShaped = fc
    .record({
      type: fc.oneof(
        fc.constantFrom(...txTypes),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(\.[a-z][a-z0-9-]{0,8}){0,2}$/),
      ),
      signer: fc.oneof(fc.constant(node.keys.signing.keyId), hexBytes(32)),
      nonce: fc.oneof(
        fc.constant(1),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constant(Number.MAX_SAFE_INTEGER),
      ),
      body: fc.oneof(
        fc.record({
          patientId: fc.oneof(fc.constant('patient-0001'), printable),
          signingKey: hexBytes(32),
          encryptionKey: hexBytes(32),
          custody: fc.constantFrom('self', 'org', ''),
        }),
        fc.dictionary(printable, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
      ),
      sig: hexBytes(64),
    })
    .map((tx) => JSON.stringify(tx));
  const validShape = (nonce: string, body: string, type = 'membership.register-patient') =>
    `{"type":"${type}","signer":"${node.keys.signing.keyId}","nonce":${nonce},"body":${body},"sig":"${'00'.repeat(64)}"}`;
  const payload = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.uint8Array({ maxLength: 1024 }).map((bytes) => Buffer.from(bytes)),
    txShaped,
    wellShaped,
    wellShaped,
    txShaped.map((text) => text.slice(0, text.length >> 1)),
    fc.integer({ min: 1, max: 100_000 }).map(nested),
    fc.integer({ min: 1, max: 10_000 }).map((depth) => validShape('2', `{"x":${nested(depth)}}`)),
    fc
      .integer({ min: 1, max: 10_000 })
      .map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
    hugeNumber.map((number) => validShape(number, '{}')),
    hugeNumber.map((number) => validShape('2', `{"n":${number}}`)),
    loneSurrogate.map((text) => validShape('2', `{"patientId":"${text}"}`)),
    loneSurrogate.map((text) => validShape('2', `{"${text}":1}`)),
    loneSurrogate.map((text) => validShape('2', '{}', text)),
    loneSurrogate.map((text) => `{"${text}":1}`),
  );
  // Mostly media types the server parses, so most bodies reach the ledger; a few it must refuse with 415.
  const contentType = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=latin1',
        'text/plain',
        'application/octet-stream',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constantFrom('*/*', ';', '', 'application/json; charset'), printable),
    },
  );
  const post = fc
    .record({ payload, contentType })
    .map(({ payload, contentType }): InjectOptions => ({
      method: 'POST',
      url: '/ledger/tx',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      payload,
    }));

  // inject() parses URLs as WHATWG URLs, which read `\` as `/` and cut at `#`; a client sends both escaped.
  const component = fc.oneof(
    printable.map((text) => text.replace(/[\\#]/g, encodeURIComponent)),
    fc.string({ maxLength: 20 }).map((text) => encodeURIComponent(text.replace(/\p{Cs}/gu, ''))),
    fc.constantFrom(
      '%',
      '%zz',
      '%00',
      '%c0%80',
      '%ed%a0%80',
      '%ff',
      '..',
      '0',
      '1',
      '-1',
      '1e3',
      '01',
      '9007199254740992',
      'a'.repeat(150),
    ),
    hexBytes(32),
    fc.nat().map(String),
  );
  const query = fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('txId', 'treeSize', 'first', 'second', '__proto__', 'constructor'),
          component,
        ),
        component,
      ),
      { maxLength: 4 },
    )
    .map((pairs) =>
      pairs.length === 0 ? '' : '?' + pairs.map(([key, value]) => `${key}=${value}`).join('&'),
    );
  const get = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('/ledger/tx/', '/ledger/blocks/', '/ledger/proof/', '/ledger/', '/'),
        component,
        query,
      )
      .map((parts) => parts.join('')),
    fc
      .tuple(
        fc.constantFrom(
          '/ledger/proof/inclusion',
          '/ledger/proof/consistency',
          '/ledger/status',
          '/ledger/blocks/0',
        ),
        query,
      )
      .map((parts) => parts.join('')),
  );

  await fc.assert(
    fc.asyncProperty(post, get, async (postRequest, url) => {
      const submitted = await app.inject(postRequest);
      assert.ok(
        submitted.statusCode >= 400 && submitted.statusCode < 500,
        `POST → ${submitted.statusCode} ${submitted.body}`,
      );
      refusal(submitted, submitted.statusCode);
      const response = await app.inject(withToken(app, url));
      assert.ok(response.statusCode < 500, `${url} → ${response.statusCode} ${response.body}`);
      if (response.statusCode >= 400) refusal(response, response.statusCode);
      else if (new URL(url, 'http://node').pathname === '/')
        assert.match(String(response.headers['content-type']), /^text\/html/, 'the web app');
      else JSON.parse(response.body);
    }),
    { numRuns: 3000 },
  );

  const after = await json<StatusDocument>(app, '/ledger/status');
  assert.deepEqual(
    {
      height: after.height,
      logSize: after.logSize,
      logRoot: after.logRoot,
      appHash: after.appHash,
      pending: after.pending,
    },
    {
      height: before.height,
      logSize: before.logSize,
      logRoot: before.logRoot,
      appHash: before.appHash,
      pending: 0,
    },
  );
});

test('GET /ledger/erasures shows each erasure with the members that confirmed it; an unerased record is a 404', async (t) => {
  const { node, app } = await serve(t);
  assert.deepEqual(await json(app, '/ledger/erasures'), { erasures: [] });
  assert.deepEqual(
    await json(app, '/ledger/agreements'),
    { agreements: [] },
    'a one-member network shares with nobody',
  );
  const practitioner = node.records.enrol('practitioner', 'dr-ada');
  const patient = node.records.enrol('patient', 'patient-0001');
  for (const tx of [
    node.signAsOrg('membership.register-practitioner', {
      practitionerId: 'dr-ada',
      ...practitioner,
    }),
    node.signAsOrg('membership.register-patient', {
      patientId: 'patient-0001',
      custody: 'custodial',
      ...patient,
    }),
  ]) {
    assert.equal(
      (await committed(app, (await json<TxDocument>(app, postTx(tx), 202)).txId)).status,
      'ok',
    );
  }
  const written = await node.records.write({
    practitionerId: 'dr-ada',
    patientId: 'patient-0001',
    resource: { resourceType: 'Observation', status: 'final' },
  });
  assert.equal(
    (await committed(app, (await json<TxDocument>(app, postTx(written.tx), 202)).txId)).status,
    'ok',
  );
  refusal(await app.inject(withToken(app, `/ledger/erasures/${written.recordId}`)), 404);
  const erase = node.records.erase(
    written.recordId,
    { legalBasis: 'GDPR Art. 17(1)(b)' },
    (type, body) => node.signAsOrg(type, body),
  );
  assert.equal(
    (await committed(app, (await json<TxDocument>(app, postTx(erase), 202)).txId)).status,
    'ok',
  );
  const deadline = performance.now() + 10_000;
  let status = await json<{
    confirmedBy: Record<string, number>;
    awaiting: string[];
    legalBasis: string;
  }>(app, `/ledger/erasures/${written.recordId}`);
  while (status.awaiting.length > 0) {
    assert.ok(performance.now() < deadline, 'the receipt commits');
    await sleep(5);
    status = await json(app, `/ledger/erasures/${written.recordId}`);
  }
  assert.deepEqual(Object.keys(status.confirmedBy), ['practice-a']);
  assert.equal(status.legalBasis, 'GDPR Art. 17(1)(b)');
  const listed = await json<{ erasures: { recordId: string }[] }>(app, '/ledger/erasures');
  assert.deepEqual(
    listed.erasures.map((erasure) => erasure.recordId),
    [written.recordId],
  );
});

test('ledger reads need a token: blocks, transactions and erasures only for auditors and system clients of members; proofs for anyone authenticated; status and tree heads public', async (t) => {
  const { node, app, auth } = await serve(t);
  const tx = node.signAsOrg('membership.register-patient', patientBody('patient-0001'));
  const submitted = await app.inject(postTx(tx));
  assert.equal(
    submitted.statusCode,
    202,
    'submission stays open: the signature authenticates the transaction',
  );
  const { txId } = submitted.json() as { txId: string };
  const record = await committed(app, txId);
  const token = async (
    kind: 'practitioner' | 'patient' | 'auditor' | 'system',
    org: string,
    scope: string,
  ) =>
    `Bearer ${await auth.tokens.issue({ principal: { kind, id: `${kind}-1`, org }, scopes: parseScopes(scope) })}`;
  const callers = {
    anonymous: undefined,
    'a malformed token': 'Bearer not.a.token',
    practitioner: await token('practitioner', 'practice-a', 'user/*.cruds'),
    patient: await token('patient', 'practice-a', 'patient/*.rs'),
    'a system client with user scopes only': await token('system', 'practice-a', 'user/*.rs'),
    'an auditor of a non-member': await token('auditor', 'elsewhere', 'user/AuditEvent.rs'),
    'a system client of a non-member': await token('system', 'elsewhere', 'system/*.rs'),
    auditor: await token('auditor', 'practice-a', 'user/AuditEvent.rs'),
    'a system client of a member': await token('system', 'practice-a', 'system/*.rs'),
  };
  const audited = [
    `/ledger/blocks/${record.height}`,
    `/ledger/tx/${txId}`,
    '/ledger/erasures',
    '/ledger/agreements',
    `/ledger/erasures/${'ab'.repeat(32)}`,
  ];
  const proofs = [
    `/ledger/proof/inclusion?txId=${txId}`,
    `/ledger/proof/consistency?first=1&second=${record.leafIndex + 1}`,
  ];
  for (const [who, authorization] of Object.entries(callers)) {
    const headers = authorization === undefined ? {} : { authorization };
    const authenticated = authorization !== undefined && who !== 'a malformed token';
    const auditor = who === 'auditor' || who === 'a system client of a member';
    for (const url of audited) {
      const response = await app.inject({ url, headers });
      const expected = !authenticated
        ? 401
        : !auditor
          ? 403
          : url.startsWith('/ledger/erasures/')
            ? 404
            : 200;
      assert.equal(response.statusCode, expected, `${who} GET ${url}: ${response.body}`);
      if (expected === 401)
        assert.match(String(response.headers['www-authenticate']), /^Bearer realm=/);
      if (expected >= 400) refusal(response, expected);
    }
    for (const url of proofs)
      assert.equal(
        (await app.inject({ url, headers })).statusCode,
        authenticated ? 200 : 401,
        `${who} GET ${url}`,
      );
    assert.equal((await app.inject({ url: '/ledger/status', headers })).statusCode, 200);
  }
  const head = (await app.inject('/ledger/tree-head')).json() as {
    treeSize: number;
    treeHead: BlockHeader;
  };
  assert.equal(head.treeSize, node.head().logSize);
  assert.ok(
    verifyHeaderSignature(head.treeHead, publicKeyFromRaw(node.keys.signing.publicKey)),
    'the public tree head is signed',
  );
  assert.deepEqual(
    ((await app.inject('/ledger/tree-head?treeSize=1')).json() as { treeHead: BlockHeader })
      .treeHead.height,
    0,
  );
  refusal(await app.inject('/ledger/tree-head?treeSize=999'), 404);
  refusal(await app.inject('/ledger/tree-head?treeSize=x'), 400);

  const closed = buildServer(node);
  t.after(() => closed.close());
  refusal(await closed.inject(withToken(app, `/ledger/blocks/${record.height}`)), 401);
  assert.equal(
    (await closed.inject('/ledger/status')).statusCode,
    200,
    'a server without a token issuer still serves its status',
  );
});

test('GET /ledger/trail: a patient reads their own trail, each entry with its inclusion proof; auditors name a patient; nobody else reads one', async (t) => {
  const { node, app, auth } = await serve(t);
  const keys = node.records.enrol('patient', 'patient-0001');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg('membership.register-patient', {
          patientId: 'patient-0001',
          custody: 'custodial',
          ...keys,
        }),
      )
    ).status,
    'ok',
  );
  const terms = {
    grantee: { kind: 'organisation' as const, id: 'practice-a' },
    actions: ['read' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
  assert.equal(await node.consent.grant('patient-0001', 'grant-1', terms), 'ok');
  const token = async (
    kind: 'practitioner' | 'patient' | 'auditor',
    id: string,
    scope: string,
  ) => ({
    authorization: `Bearer ${await auth.tokens.issue({ principal: { kind, id, org: 'practice-a' }, scopes: parseScopes(scope) })}`,
  });

  const asPatient = await token('patient', 'patient-0001', 'patient/*.rs');
  const own = (await app.inject({ url: '/ledger/trail', headers: asPatient })).json() as {
    patient: string;
    entries: { entry: { kind: string; txId: string }; proof: InclusionProofResponse }[];
  };
  assert.equal(own.patient, 'patient-0001');
  assert.deepEqual(
    own.entries.map(({ entry }) => entry.kind),
    ['grant'],
  );
  const [{ entry, proof }] = own.entries as [(typeof own.entries)[number]];
  assert.equal(proof.txId, entry.txId);
  verifyInclusion(
    proof.leafIndex,
    proof.treeSize,
    fromHex(proof.leafHash),
    hashes(proof.inclusionProof),
    fromHex(proof.treeHead.logRoot),
  );
  const asked = (
    await app.inject({ url: '/ledger/trail?patient=patient-0002', headers: asPatient })
  ).json() as { patient: string };
  assert.equal(asked.patient, 'patient-0001', 'a patient reads their own trail, whoever they name');

  const asAuditor = await token('auditor', 'auditor-1', 'user/AuditEvent.rs');
  assert.deepEqual(
    (
      (
        await app.inject({ url: '/ledger/trail?patient=patient-0001', headers: asAuditor })
      ).json() as typeof own
    ).entries.map(({ entry }) => entry.txId),
    [entry.txId],
  );
  refusal(await app.inject({ url: '/ledger/trail', headers: asAuditor }), 400);
  refusal(
    await app.inject({
      url: '/ledger/trail?patient=patient-0001',
      headers: await token('practitioner', 'dr-a', 'user/*.cruds'),
    }),
    403,
  );
  refusal(await app.inject({ url: '/ledger/trail?patient=patient-0001' }), 401);
  refusal(await app.inject({ url: '/ledger/trail?fromSeq=x', headers: asPatient }), 400);
  refusal(await app.inject({ url: '/ledger/trail?fromSeq=0', headers: asPatient }), 400);
  refusal(
    await app.inject({
      url: '/ledger/trail',
      headers: await token('patient', 'patient-0001', 'patient/Observation.rs'),
    }),
    403,
  );
  refusal(
    await app.inject({
      url: '/ledger/trail',
      headers: await token('patient', 'patient-0002', 'patient/*.rs'),
    }),
    403,
  );
});
