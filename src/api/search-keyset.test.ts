import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../contracts/index.js';
import { FhirService, type SearchCaller } from '../fhir/index.js';
import { nodeWithDoctor } from './testonly/fhir-test-fixture.js';

const DR: Principal = { kind: 'practitioner', id: 'dr-ada', org: 'practice-a' };

test('keyset pages (after an id) cover every resource once, even with writes between pages', async (t) => {
  const service: { fhir?: FhirService } = {};
  const node = await nodeWithDoctor(t, async () => service.fhir?.close());
  const { records, search } = (service.fhir = new FhirService(node));
  const put = async (id: string) =>
    records.update(DR, 'Patient', id, { resourceType: 'Patient', id, gender: 'other' });
  for (const id of ['p-b', 'p-c', 'p-d', 'p-e', 'p-f', 'p-g', 'p-h']) await put(id);

  const caller: SearchCaller = { principal: DR, purpose: 'TREAT', mayRead: () => true };
  const params = new URLSearchParams({ _count: '3', _sort: '_id' });
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await search.search(caller, 'Patient', params, { afterId: after });
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
