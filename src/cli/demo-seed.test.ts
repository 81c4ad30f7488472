import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RECORD_TABLE, type Principal, type RecordRow } from '../contracts/index.js';
import { ChartChainNode } from '../node/index.js';
import { PATIENT_ID, PRACTITIONER_ID, seedDemo } from './demo-seed.js';

for (const consentModel of ['opt-out', 'opt-in'] as const) {
  test(`the demo seeds in an ${consentModel} network: dr-ada reads every demo patient's records; patient-0001 withholds PSY and 42 CFR Part 2 from the practice`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'chartchain-seed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    ChartChainNode.init(dir, {
      orgId: 'demo-practice',
      orgName: 'Demo Practice',
      network: 'test',
      orderer: { batchTimeoutMs: 5 },
      consentModel,
    });
    const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
    t.after(() => node.close());
    assert.equal(await seedDemo(node), true);
    const doctor: Principal = { kind: 'practitioner', id: PRACTITIONER_ID, org: 'demo-practice' };
    const records = node.store
      .stateKeys(RECORD_TABLE)
      .map((id) => node.store.state.get(RECORD_TABLE, id) as unknown as RecordRow)
      .filter((record) => record.patientId !== null);
    assert.ok(
      new Set(records.map((record) => record.patientId)).size >= 3,
      'patient-0001 and the Synthea patients',
    );
    for (const record of records) {
      const decision = node.access.decide(doctor, record.recordId, { purpose: 'TREAT' });
      assert.equal(decision.outcome, 'permit', `${record.resourceType}/${record.recordId}`);
      assert.equal(
        decision.outcome === 'permit' && decision.basis.kind,
        consentModel === 'opt-out' ? 'home-organisation' : 'consent',
      );
    }
    if (consentModel === 'opt-out') {
      assert.deepEqual(
        node.consent
          .grantsOf(node.pseudonyms.patientIdOf(PATIENT_ID)!)
          .map((grant) => grant.grantee.id),
        ['demo-hospital'],
        'the practice needs no grant',
      );
      assert.deepEqual(
        node.consent
          .restrictionsOf(node.pseudonyms.patientIdOf(PATIENT_ID)!)
          .map((row) => [row.labels, row.status]),
        [[['42CFRPart2', 'PSY'], 'active']],
      );
    } else {
      assert.deepEqual(
        node.consent
          .grantsOf(node.pseudonyms.patientIdOf(PATIENT_ID)!)
          .map((grant) => [grant.grantee.id, grant.excludeLabels]),
        [
          ['demo-hospital', []],
          ['demo-practice', ['42CFRPart2', 'PSY']],
        ],
      );
      assert.deepEqual(node.consent.restrictionsOf(node.pseudonyms.patientIdOf(PATIENT_ID)!), []);
    }
  });
}
