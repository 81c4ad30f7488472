import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MEMBERSHIP_REGISTER_PRACTITIONER, type Principal } from '../contracts/index.js';
import { FhirService, type SearchCaller } from '../fhir/index.js';
import { ChartChainNode } from '../node/index.js';

const DR: Principal = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' };

test('keyset pages (after an id) cover every resource once, even with writes between pages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-keyset-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ChartChainNode.init(dir, {
    orgId: 'practice-a',
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  const service = new FhirService(node);
  t.after(async () => {
    await service.close();
    await node.close();
  });
  const keys = node.records.enrol('practitioner', 'dr-ada');
  const registered = await node.submitAndWait(
    node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: 'dr-ada', ...keys }),
  );
  assert.equal(registered.status, 'ok');
  const put = async (id: string) =>
    service.records.update(DR, 'Patient', id, { resourceType: 'Patient', id, gender: 'other' });
  for (const id of ['p-b', 'p-c', 'p-d', 'p-e', 'p-f', 'p-g', 'p-h']) await put(id);

  const caller: SearchCaller = { principal: DR, purpose: 'TREAT', mayRead: () => true };
  const params = new URLSearchParams({ _count: '3', _sort: '_id' });
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await service.search.search(caller, 'Patient', params, after);
    seen.push(...page.matches.map((match) => String(match.resource['id'])));
    if (pages === 0) {
      await put('p-a'); // sorts before the page just read: an offset page would repeat p-d
      await put('p-z'); // sorts after: still to come
    }
    if (page.nextOffset === undefined) break;
    after = page.lastId;
  }
  assert.deepEqual(seen, ['p-b', 'p-c', 'p-d', 'p-e', 'p-f', 'p-g', 'p-h', 'p-z']);
});
