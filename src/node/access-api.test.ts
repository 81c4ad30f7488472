import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Principal, type VersionRow } from '../contracts/index.js';
import type { JsonObject, Transaction } from '../ledger/index.js';
import {
  AccessLogUnavailableError,
  NodeAccess,
  type AccessHost,
  type Submitted,
} from './access-api.js';
import { RecordIntegrityError } from './record-service.js';
import type { NodeRecords } from './records-api.js';
import { SEARCH_RECORD_COUNT_MAX } from '../ledger/index.js';

const DR: Principal = { kind: 'practitioner', id: 'dr-a', org: 'org-a' };

/** An access path over a host that logs what happens, in order; `submit` answers as given. */
function probe(submitted: Submitted, broken: readonly string[] = []) {
  const events: string[] = [];
  const bodies: JsonObject[] = [];
  const records = {
    readOffThread: async (_reader: unknown, recordId: string, version: number) => {
      events.push(`open ${recordId}`);
      if (broken.includes(recordId))
        throw new RecordIntegrityError(recordId, version, 'blob-hash', 'aa', 'bb');
      return {
        resource: { resourceType: 'Observation', id: recordId },
        salt: '00',
        version: { version } as VersionRow,
      };
    },
  } as unknown as NodeRecords;
  const log = (type: string, body: JsonObject): Submitted => {
    bodies.push(body);
    events.push(`log ${type}`);
    return submitted;
  };
  const host = {
    orgId: 'org-a',
    records,
    signAsOrg: (type: string, body: JsonObject) => ({ type, body }) as unknown as Transaction,
    submit: async (tx: Transaction) => log(tx.type, tx.body),
    submitAsOrg: async (type: string, body: JsonObject) => log(type, body),
  } as unknown as AccessHost;
  return { access: new NodeAccess(host), events, bodies };
}

test('releaseAll logs one access.search, durable before anything is opened; nothing is opened when the log cannot be written', async () => {
  const ok = probe({ ok: true, txId: 'ab'.repeat(32) });
  const released = await ok.access.releaseAll(
    DR,
    [
      { recordId: 'obs-1', version: 2 },
      { recordId: 'obs-2', version: 1 },
    ],
    { purpose: 'TREAT', patientId: null },
  );
  assert.deepEqual(ok.events, ['log access.search', 'open obs-1', 'open obs-2']);
  assert.deepEqual(ok.bodies, [
    {
      principal: { kind: 'practitioner', id: 'dr-a' },
      purpose: 'TREAT',
      patientId: null,
      records: [
        { recordId: 'obs-1', version: 2, released: true },
        { recordId: 'obs-2', version: 1, released: true },
      ],
    },
  ]);
  assert.deepEqual(
    released.map((item) => [item.outcome, item.recordId]),
    [
      ['permit', 'obs-1'],
      ['permit', 'obs-2'],
    ],
  );

  const refused = probe({
    ok: false,
    status: 'unavailable:queue-full',
    reason: 'the queue is full',
  });
  await assert.rejects(
    refused.access.releaseAll(DR, [{ recordId: 'obs-1', version: 1 }], {
      purpose: 'TREAT',
      patientId: null,
    }),
    AccessLogUnavailableError,
  );
  assert.deepEqual(refused.events, ['log access.search'], 'nothing was opened');
});

test('releaseAll: a record failing its checks is a failure naming the stage, not a failed search; long releases are logged in bounded transactions; denials need a scope', async () => {
  const { access, bodies } = probe({ ok: true, txId: 'ab'.repeat(32) }, ['obs-2']);
  const released = await access.releaseAll(
    DR,
    [
      { recordId: 'obs-1', version: 1 },
      { recordId: 'obs-2', version: 1 },
    ],
    { purpose: 'TREAT', patientId: 'pt-1', denied: [{ recordId: 'obs-9', version: 1 }] },
  );
  assert.deepEqual(
    released.map((item) => [item.outcome, item.recordId, 'stage' in item ? item.stage : null]),
    [
      ['permit', 'obs-1', null],
      ['failed', 'obs-2', 'blob-hash'],
    ],
  );
  assert.deepEqual(
    (bodies[0]!['records'] as JsonObject[]).map((record) => record['released']),
    [true, true, false],
  );

  const many = probe({ ok: true, txId: 'ab'.repeat(32) });
  const items = Array.from({ length: SEARCH_RECORD_COUNT_MAX + 1 }, (_, i) => ({
    recordId: `obs-${i}`,
    version: 1,
  }));
  assert.equal(
    (await many.access.releaseAll(DR, items, { purpose: 'TREAT', patientId: null })).length,
    items.length,
  );
  assert.deepEqual(
    many.bodies.map((body) => (body['records'] as unknown[]).length),
    [SEARCH_RECORD_COUNT_MAX, 1],
  );

  await assert.rejects(
    access.releaseAll(DR, [], {
      purpose: 'TREAT',
      patientId: null,
      denied: [{ recordId: 'obs-9', version: 1 }],
    }),
    RangeError,
  );
  await assert.rejects(
    access.releaseAll(DR, [{ recordId: 'obs-1', version: 1 }], {
      purpose: 'TREAT',
      patientId: 'pt-1',
      denied: [{ recordId: 'obs-1', version: 1 }],
    }),
    RangeError,
  );
});
