import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSigningKey, sha256Hex, utf8 } from '../crypto/index.js';
import {
  BTG_TABLE,
  ORG_TABLE,
  PATIENT_TABLE,
  sealedNotesOf,
  VERSION_TABLE,
  type BreakTheGlassRow,
  type KeyEnvelope,
  type VersionRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import { BlobMissingError, BlobStore } from '../storage/index.js';
import { BlobAccessIndex } from './blob-access-index.js';
import { NodePeerBlobs } from './peer-blobs.js';
import { PeerClient, type PeerTransport } from './peer-client.js';
import { PEER_HEADERS } from './peer-auth.js';

const genuine = utf8('the ciphertext');
const hash = sha256Hex(genuine);
const row: VersionRow = {
  recordId: 'r1',
  version: 1,
  resourceType: 'Observation',
  patientId: 'pt-1',
  author: { practitioner: 'dr-a', org: 'org-a' },
  ciphertextHash: hash,
  ciphertextSize: genuine.byteLength,
  commitment: '00'.repeat(32),
  securityLabels: [],
  envelopes: [{ recipient: 'ee'.repeat(32), enc: '', wrappedKey: '' }],
  txId: '11'.repeat(32),
  time: 1,
  kind: 'anchor',
};

function peerBlobs(
  t: { after: (fn: () => void) => void },
  answers: Record<string, Uint8Array | 'down'>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-peer-blobs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const alarms: string[] = [];
  const asked: string[] = [];
  const transport: PeerTransport = {
    async get(url, headers) {
      const orgId = new URL(url).hostname.split('.')[0]!;
      asked.push(orgId);
      assert.equal(headers[PEER_HEADERS.org], 'org-z', 'requests are signed as this organisation');
      const answer = answers[orgId];
      if (answer === 'down') throw new Error('connection refused');
      return answer === undefined ? { status: 404 } : { status: 200, body: answer };
    },
  };
  // Committed state's envelopes by ciphertext hash, as blob_anchor and the state rows give them to a node.
  const anchored = new Map<string, readonly KeyEnvelope[]>();
  const index = new BlobAccessIndex((wanted) => anchored.get(wanted));
  index.observe([
    [
      'membership_org',
      'org-z',
      {
        orgId: 'org-z',
        name: 'Z',
        signingKey: '',
        encryptionKey: 'ee'.repeat(32),
        status: 'active',
        since: 0,
      },
    ],
  ]);
  const blobs = new BlobStore(join(dir, 'blobs'));
  const host = {
    orgId: 'org-z',
    blobs,
    version: () => row,
    alarm: (reason: string) => alarms.push(reason),
  };
  const endpoints = Object.fromEntries(
    ['org-a', 'org-b', 'org-c'].map((orgId) => [orgId, `http://${orgId}.test`]),
  );
  const peers = new NodePeerBlobs(
    host,
    index,
    new PeerClient('org-z', generateSigningKey(), endpoints, transport),
  );
  /** A block commits `writeSet`: state now names its ciphertexts, and the node follows it. */
  const commit = (writeSet: WriteSetEntry[]): void => {
    for (const [table, , value] of writeSet) {
      if (table === VERSION_TABLE)
        anchored.set(
          (value as unknown as VersionRow).ciphertextHash!,
          (value as unknown as VersionRow).envelopes,
        );
      if (table === BTG_TABLE)
        for (const note of sealedNotesOf(value as unknown as BreakTheGlassRow))
          anchored.set(note.ciphertextHash, note.envelopes);
    }
    peers.committed(writeSet);
  };
  return { peers, commit, blobs, alarms, asked };
}

test("a peer sending the wrong bytes is named in an alarm and the next peer is asked; the author's organisation first", async (t) => {
  const { peers, blobs, alarms, asked } = peerBlobs(t, {
    'org-b': utf8('forged'),
    'org-a': 'down',
    'org-c': genuine,
  });
  await peers.ensure({ ...row, author: { practitioner: 'dr-b', org: 'org-b' } });
  assert.deepEqual(asked, ['org-b', 'org-a', 'org-c']);
  assert.equal(sha256Hex(blobs.get(hash)), hash);
  assert.equal(alarms.length, 1);
  assert.match(
    alarms[0]!,
    /^peer org-b sent blob [0-9a-f]{64} with content hashing to [0-9a-f]{64}: refused$/,
  );
});

test('no genuine copy anywhere: nothing is stored and the fetch fails as missing', async (t) => {
  const { peers, blobs, alarms } = peerBlobs(t, {
    'org-a': utf8('forged'),
    'org-c': utf8('also forged'),
  });
  await assert.rejects(peers.ensure(row), BlobMissingError);
  assert.equal(blobs.has(hash), false);
  assert.equal(alarms.length, 2);
});

test('a committed version wrapped to this organisation is fetched at once; others wait for a read', async (t) => {
  const { peers, commit, blobs, asked } = peerBlobs(t, { 'org-a': genuine });
  commit([
    [
      VERSION_TABLE,
      'r2/1',
      {
        ...row,
        ciphertextHash: 'cd'.repeat(32),
        envelopes: [{ recipient: 'ff'.repeat(32), enc: '', wrappedKey: '' }],
      } as never,
    ],
  ]);
  commit([[VERSION_TABLE, 'r1/1', row as never]]);
  for (let waited = 0; !blobs.has(hash); waited += 10) {
    assert.ok(waited < 10_000, 'the wrapped version was fetched');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(asked, ['org-a'], 'only the version wrapped to org-z was fetched');
  assert.equal(peers.index.mayFetch('org-z', hash), true);
  assert.equal(peers.index.mayFetch('org-a', hash), false);
});

test("a break-the-glass note is served to the organisations holding its keys, the breaking one and a custodial patient's home, which fetches it as it commits", async (t) => {
  const { peers, commit, blobs, asked } = peerBlobs(t, { 'org-a': genuine });
  const note = {
    ciphertextHash: hash,
    ciphertextSize: genuine.byteLength,
    commitment: '00'.repeat(32),
    envelopes: [
      { recipient: 'aa'.repeat(32), enc: '', wrappedKey: '' },
      { recipient: 'bb'.repeat(32), enc: '', wrappedKey: '' },
    ],
  };
  peers.index.observe([
    [
      ORG_TABLE,
      'org-a',
      {
        orgId: 'org-a',
        name: 'A',
        signingKey: '',
        encryptionKey: 'aa'.repeat(32),
        status: 'active',
        since: 0,
      },
    ],
    [
      PATIENT_TABLE,
      'pt-1',
      {
        patientId: 'pt-1',
        homeOrg: 'org-z',
        keyId: '',
        encryptionKey: 'bb'.repeat(32),
        custody: 'custodial',
        since: 0,
      },
    ],
    [
      PATIENT_TABLE,
      'pt-2',
      {
        patientId: 'pt-2',
        homeOrg: 'org-c',
        keyId: '',
        encryptionKey: 'cc'.repeat(32),
        custody: 'self',
        since: 0,
      },
    ],
  ]);
  // Org-a broke the glass on org-z's patient: org-z's node fetches the note as the block commits.
  commit([
    [
      BTG_TABLE,
      'b1',
      {
        btgId: 'b1',
        patientId: 'pt-1',
        practitionerId: 'dr-a',
        org: 'org-a',
        purpose: 'ETREAT',
        reason: note,
        outcome: 'permit',
        denial: null,
        start: 0,
        end: 1,
        review: null,
      },
    ],
  ]);
  assert.deepEqual(
    ['org-a', 'org-z', 'org-b', 'org-c'].map((orgId) => peers.index.mayFetch(orgId, hash)),
    [true, true, false, false],
  );
  for (let waited = 0; !blobs.has(hash); waited += 10) {
    assert.ok(waited < 10_000, 'the note was fetched');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(asked, ['org-a']);
  assert.equal(sha256Hex(blobs.get(hash)), hash);
  // A self-custody patient's key belongs to no organisation: no node may fetch for them.
  commit([
    [
      BTG_TABLE,
      'b2',
      {
        btgId: 'b2',
        patientId: 'pt-2',
        practitionerId: 'dr-a',
        org: 'org-a',
        purpose: 'ETREAT',
        reason: {
          ...note,
          ciphertextHash: 'dd'.repeat(32),
          envelopes: [{ recipient: 'cc'.repeat(32), enc: '', wrappedKey: '' }],
        },
        outcome: 'permit',
        denial: null,
        start: 0,
        end: 1,
        review: null,
      },
    ],
  ]);
  assert.equal(peers.index.mayFetch('org-c', 'dd'.repeat(32)), false);
});
