/**
 * Test support for the access tests (not part of the public API): a node for organisation A,
 * and organisations B and C admitted to its network, each with an access path of its own over
 * the shared ledger and blob store, as their nodes would have once blobs travel between peers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../crypto/index.js';
import {
  MEMBERSHIP_PROPOSE_ADMIT,
  MEMBERSHIP_VOTE,
  type ConsentModel,
} from '../../contracts/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { NodeAccess, type AccessHost } from '../access-api.js';
import { LocalSigner } from '../local-signer.js';
import { ChartChainNode } from '../node.js';
import { createOrgKeys, type OrgKeys } from '../org-keys.js';
import { NodeRecords } from '../records-api.js';
import { typedTx } from '../tx-type.js';

/** A member organisation as the tests drive it: its signer, its records view and its access path. */
export interface TestOrg {
  readonly orgId: string;
  readonly records: NodeRecords;
  readonly access: NodeAccess;
  sign(type: string, body: JsonObject): Transaction;
}

/** Submits `tx` to `node` and resolves with its committed status. */
export async function commit(node: ChartChainNode, tx: Transaction): Promise<string> {
  const result = await node.submit(tx);
  assert.ok(result.ok, JSON.stringify(result));
  return (await node.waitForTx(result.txId, 20_000)).status;
}

/** A fresh node for org-a, whose genesis has consent model `options.consentModel` (default opt-out, as a new network's); removed after `t`. */
export async function freshNetwork(
  t: { after: (fn: () => void | Promise<void>) => void },
  options: { consentModel?: ConsentModel } = {},
): Promise<{
  node: ChartChainNode;
  dir: string;
  a: TestOrg;
  join: (orgId: string) => Promise<TestOrg>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(join(dir, 'a'), {
    orgId: 'org-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
    ...options,
  });
  const node = await ChartChainNode.open(join(dir, 'a'), { verifyPoolSize: 1 });
  const a: TestOrg = {
    orgId: 'org-a',
    records: node.records,
    access: node.access,
    sign: (type, body) => node.signAsOrg(type, body),
  };
  const members: TestOrg[] = [a];
  const joinOrg = async (orgId: string): Promise<TestOrg> => {
    const keys = createOrgKeys(mkdtempSync(join(dir, `${orgId}-`)));
    const candidate = {
      action: 'admit' as const,
      orgId,
      name: orgId,
      signingKey: toHex(keys.signing.publicKey),
      encryptionKey: keys.encryptionPublicKey,
    };
    const proposal = await node.submit(a.sign(...typedTx(MEMBERSHIP_PROPOSE_ADMIT, candidate)));
    assert.ok(proposal.ok);
    assert.equal((await node.waitForTx(proposal.txId)).status, 'ok');
    for (const member of members.slice(1))
      assert.equal(
        await commit(
          node,
          member.sign(...typedTx(MEMBERSHIP_VOTE, { proposalId: proposal.txId, approve: true })),
        ),
        'ok',
      );
    const org = otherOrg(node, keys, orgId);
    members.push(org);
    return org;
  };
  return { node, dir, a, join: joinOrg };
}

function otherOrg(node: ChartChainNode, keys: OrgKeys, orgId: string): TestOrg {
  const signer = new LocalSigner(keys.signing, 0);
  const records = new NodeRecords(node.store, node.records.blobs, keys, orgId);
  const host: AccessHost = {
    chain: node.store,
    records,
    orgId,
    signAsOrg: (type, body) => signer.sign(type, body),
    submitAsOrg: (type, body) => node.submit(signer.sign(type, body)),
    submit: (tx) => node.submit(tx),
    waitForTx: (txId, timeoutMs) => node.waitForTx(txId, timeoutMs),
    submitAndWait: (tx) => node.submitAndWait(tx),
  };
  return {
    orgId,
    records,
    access: new NodeAccess(host),
    sign: (type, body) => signer.sign(type, body),
  };
}
