import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateSigningKey, toHex } from '../crypto/index.js';
import { STATE_SAVEPOINT_BLOCK_COUNT_MAX } from '../ledger/index.js';
import { openTempNode } from './testonly/temp-node.js';
import type { LedgerWork } from './time-slice.js';

test('every kind of ledger work on the event loop is timed, turn by turn, in seconds', async (t) => {
  const { node } = await openTempNode(t, 'turns');
  t.after(() => node.close());
  const turns = new Map<LedgerWork, number[]>();
  node.observeLedgerTurns((work, seconds) => {
    const times = turns.get(work) ?? [];
    turns.set(work, [...times, seconds]);
  });

  const keys = node.records.enrol('practitioner', 'dr-a');
  const enrolled = node.signAsOrg('membership.register-practitioner', {
    practitionerId: 'dr-a',
    ...keys,
  });
  assert.equal((await node.submitAndWait(enrolled)).status, 'ok');
  // One block each, until the state is due a savepoint.
  for (let i = 0; i < STATE_SAVEPOINT_BLOCK_COUNT_MAX; i++) {
    const registered = node.signAsOrg('membership.register-patient', {
      patientId: `patient-${String(i).padStart(4, '0')}`,
      signingKey: toHex(generateSigningKey().publicKey),
      encryptionKey: '22'.repeat(32),
      custody: 'self',
    });
    assert.equal((await node.submitAndWait(registered)).status, 'ok');
  }
  const write = await node.records.write({
    practitionerId: 'dr-a',
    patientId: 'patient-0000',
    resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
  });
  assert.equal((await node.submitAndWait(write.tx)).status, 'ok');
  // The blob's anchor mark runs in a turn after the commit's.
  await new Promise((resolve) => setImmediate(resolve));

  for (const work of ['execute', 'commit', 'apply', 'savepoint', 'follow', 'anchor'] as const) {
    const times = turns.get(work) ?? [];
    assert.ok(times.length > 0, `${work}: timed`);
    assert.ok(
      times.every((seconds) => seconds >= 0 && seconds < 5),
      `${work}: ${times.join(', ')}`,
    );
  }
  const blocks = node.head().height;
  assert.ok((turns.get('apply') ?? []).length >= blocks - 1, 'one apply turn per block committed');
});
