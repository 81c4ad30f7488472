import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskFullError } from '../storage/index.js';
import { openTempNode } from './testonly/temp-node.js';

test("a full disk while keeping a block's checkpoint raises disk-full; the block stays committed once and the node goes on", async (t) => {
  const { node } = await openTempNode(t, 'checkpoint-full');
  t.after(() => node.close());
  const register = (patientId: string) =>
    node.signAsOrg('membership.register-patient', {
      patientId,
      custody: 'custodial',
      ...node.records.enrol('patient', patientId),
    });
  let failures = 1;
  const committed = node.checkpoints.committed.bind(node.checkpoints);
  t.mock.method(node.checkpoints, 'committed', (header: Parameters<typeof committed>[0]) => {
    if (failures-- > 0) throw diskFullError();
    return committed(header);
  });
  const first = await node.submitAndWait(register('patient-0001'));
  assert.equal(first.status, 'ok');
  assert.ok(node.records.alarms.some((alarm) => alarm.kind === 'disk-full'));
  const second = await node.submitAndWait(register('patient-0002'));
  assert.equal(second.status, 'ok');
  assert.equal(node.halted, undefined);
  const heights = await Promise.all(
    [first, second].map(async ({ txId }) => (await node.waitForTx(txId!)).height),
  );
  assert.equal(node.head().height, heights[1], 'the later block is the head');
  assert.ok(heights[0]! < heights[1]!);
});
