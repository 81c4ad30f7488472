import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from '../crypto/index.js';
import {
  ORGS,
  type AccessBasis,
  type AuditEntry,
  type ConsentModel,
  type GrantTerms,
  type Principal,
} from '../contracts/index.js';
import { hashLeaf, verifyInclusion, type JsonObject } from '../ledger/index.js';
import { commit, freshNetwork, type TestOrg } from './testonly/access-fixture.js';
import type { AccessResult } from './access-api.js';
import type { Orderer } from '../consensus/index.js';
import { ChartChainNode } from './node.js';
import { collectOrphanBlobs } from './blob-gc.js';
import { NoteUnavailableError } from './sealed-note.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };
const baseTerms = (orgId: string): GrantTerms => ({
  grantee: { kind: 'organisation', id: orgId },
  actions: ['read'],
  resourceTypes: [],
  recordIds: [],
  excludeLabels: [],
  purposes: ['TREAT'],
  period: { start: 0, end: null },
});

/** A restriction the patient signs after their grants, withholding from their home organisation. */
type Restriction = {
  resourceTypes?: string[];
  labels?: string[];
  practitionerIds?: string[];
  lifted?: boolean;
};

/**
 * Each consent state: the grant terms given to every organisation (none: no grant), whether it is
 * then revoked, and a restriction of the home organisation (org-a). `reason` is what a grant
 * decides; `restricted` marks the states where the home organisation is denied whatever grant
 * it holds.
 */
const CONSENT_STATES: Record<
  string,
  {
    terms?: (orgId: string) => GrantTerms;
    revoke?: boolean;
    labelled?: boolean;
    reason?: string;
    restriction?: Restriction;
    restricted?: boolean;
  }
> = {
  none: { reason: 'denied:no-consent' },
  active: { terms: baseTerms },
  expired: {
    terms: (orgId) => ({ ...baseTerms(orgId), period: { start: 0, end: 1000 } }),
    reason: 'denied:consent-expired',
  },
  revoked: { terms: baseTerms, revoke: true, reason: 'denied:consent-revoked' },
  'wrong-purpose': {
    terms: (orgId) => ({ ...baseTerms(orgId), purposes: ['HRESCH'] }),
    reason: 'denied:purpose-not-permitted',
  },
  'label-excluded': {
    terms: (orgId) => ({ ...baseTerms(orgId), excludeLabels: ['PSY'] }),
    labelled: true,
    reason: 'denied:label-excluded',
  },
  'not-in-scope': {
    terms: (orgId) => ({ ...baseTerms(orgId), resourceTypes: ['Condition'] }),
    reason: 'denied:out-of-scope',
  },
  'write-only': {
    terms: (orgId) => ({ ...baseTerms(orgId), actions: ['write'] }),
    reason: 'denied:action-not-permitted',
  },
  'restricted-type': {
    terms: baseTerms,
    restriction: { resourceTypes: ['Observation'] },
    restricted: true,
  },
  'restricted-label': {
    terms: baseTerms,
    labelled: true,
    restriction: { labels: ['PSY'] },
    restricted: true,
  },
  'restricted-practitioner': {
    terms: baseTerms,
    restriction: { practitionerIds: ['dr-a'] },
    restricted: true,
  },
  'restriction-lifted': {
    terms: baseTerms,
    restriction: { resourceTypes: ['Observation'], lifted: true },
  },
};

async function enrolPractitioner(
  node: ChartChainNode,
  org: TestOrg,
  practitionerId: string,
): Promise<void> {
  const keys = org.records.enrol('practitioner', practitionerId);
  assert.equal(
    await commit(node, org.sign('membership.register-practitioner', { practitionerId, ...keys })),
    'ok',
  );
}

async function enrolPatient(node: ChartChainNode, patientId: string): Promise<void> {
  const keys = node.records.enrol('patient', patientId);
  assert.equal(
    await commit(
      node,
      node.signAsOrg('membership.register-patient', { patientId, custody: 'custodial', ...keys }),
    ),
    'ok',
  );
}

/** The audit entry the access transaction `txId` left in `patientId`'s trail, once committed. */
async function loggedEntry(
  node: ChartChainNode,
  patientId: string,
  txId: string,
): Promise<AuditEntry> {
  assert.equal((await node.waitForTx(txId)).status, 'ok');
  const found = node.access.trail(patientId).find(({ entry }) => entry.txId === txId);
  assert.ok(found, `access ${txId} is in ${patientId}'s trail`);
  return found.entry;
}

/** What the home organisation's practitioner dr-a gets in `state`: in an opt-out network, no grant is needed, and a restriction denies in either. */
function ownOrgExpected(model: ConsentModel, state: string): string {
  const setup = CONSENT_STATES[state]!;
  if (setup.restricted === true) return 'denied:restricted-by-patient';
  return model === 'opt-out' ? 'permit' : (setup.reason ?? 'permit');
}

for (const model of ['opt-out', 'opt-in'] as const) {
  test(`authorization matrix (${model}): every role × consent state gets the right decision, logged with its reason and basis, and no unauthorised plaintext`, async (t) => {
    const { node, a, join } = await freshNetwork(t, { consentModel: model });
    try {
      const b = await join('org-b');
      const c = await join('org-c');
      await enrolPractitioner(node, a, 'dr-a');
      await enrolPractitioner(node, a, 'dr-s');
      await enrolPractitioner(node, b, 'dr-b');
      await enrolPractitioner(node, c, 'dr-c');
      assert.equal(
        await commit(node, a.sign('membership.suspend-practitioner', { practitionerId: 'dr-s' })),
        'ok',
      );
      const dsa = {
        agreementId: 'dsa-a-b',
        discloser: 'org-a',
        recipient: 'org-b',
        terms: {
          resourceTypes: [],
          excludeLabels: [],
          purposes: ['TREAT'],
          period: { start: 0, end: null },
          redisclosure: false,
        },
      };
      assert.equal(await commit(node, a.sign('agreements.propose', dsa)), 'ok');
      assert.equal(
        await commit(node, b.sign('agreements.countersign', { agreementId: 'dsa-a-b' })),
        'ok',
      );

      const recordOf = new Map<string, { recordId: string; resource: JsonObject }>();
      for (const [state, setup] of Object.entries(CONSENT_STATES)) {
        const patientId = `pt-${state}`;
        await enrolPatient(node, patientId);
        const resource = {
          resourceType: 'Observation',
          status: 'final',
          valueString: `SECRET-${patientId}`,
        };
        const write = await node.records.write({
          practitionerId: 'dr-a',
          patientId,
          resource,
          securityLabels: setup.labelled === true ? [PSY] : [],
        });
        assert.equal(await commit(node, write.tx), 'ok');
        recordOf.set(state, { recordId: write.recordId, resource });
        for (const orgId of setup.terms === undefined ? [] : ['org-a', 'org-b', 'org-c'])
          assert.equal(
            await node.consent.grant(patientId, `grant-${state}-${orgId}`, setup.terms!(orgId)),
            'ok',
          );
        if (setup.revoke === true)
          for (const orgId of ['org-a', 'org-b', 'org-c'])
            assert.equal(await node.consent.revoke(patientId, `grant-${state}-${orgId}`), 'ok');
        if (setup.restriction === undefined) continue;
        const {
          resourceTypes = [],
          labels = [],
          practitionerIds = [],
          lifted = false,
        } = setup.restriction;
        assert.equal(
          await node.consent.restrict(patientId, `restriction-${state}`, {
            resourceTypes,
            labels,
            practitionerIds,
          }),
          'ok',
        );
        if (lifted)
          assert.equal(await node.consent.liftRestriction(patientId, `restriction-${state}`), 'ok');
      }
      await node.consent.settled();

      const roles: {
        name: string;
        org: TestOrg;
        principal: (patientId: string) => Principal;
        expect: (state: string) => string;
        basis: AccessBasis['kind'];
      }[] = [
        {
          name: 'patient',
          org: a,
          principal: (id) => ({ kind: 'patient', id, org: 'org-a' }),
          expect: () => 'permit',
          basis: 'patient',
        },
        {
          name: 'own-org practitioner',
          org: a,
          principal: () => ({ kind: 'practitioner', id: 'dr-a', org: 'org-a' }),
          expect: (state) => ownOrgExpected(model, state),
          basis: model === 'opt-out' ? 'home-organisation' : 'consent',
        },
        {
          name: 'other-org practitioner with agreement',
          org: b,
          principal: () => ({ kind: 'practitioner', id: 'dr-b', org: 'org-b' }),
          expect: (state) => CONSENT_STATES[state]!.reason ?? 'permit',
          basis: 'consent',
        },
        {
          name: 'other-org practitioner without agreement',
          org: c,
          principal: () => ({ kind: 'practitioner', id: 'dr-c', org: 'org-c' }),
          expect: (state) => CONSENT_STATES[state]!.reason ?? 'denied:no-agreement',
          basis: 'consent',
        },
        {
          name: 'suspended practitioner',
          org: a,
          principal: () => ({ kind: 'practitioner', id: 'dr-s', org: 'org-a' }),
          expect: () => 'denied:practitioner-suspended',
          basis: 'consent',
        },
        {
          name: 'auditor',
          org: a,
          principal: () => ({ kind: 'auditor', id: 'auditor-1', org: 'org-a' }),
          expect: () => 'denied:auditor-reads-no-content',
          basis: 'consent',
        },
      ];
      let cells = 0;
      for (const role of roles) {
        for (const state of Object.keys(CONSENT_STATES)) {
          const patientId = `pt-${state}`;
          const { recordId, resource } = recordOf.get(state)!;
          const principal = role.principal(patientId);
          const expected = role.expect(state);
          const cell = `${model}: ${role.name} × ${state}`;
          const result: AccessResult = await role.org.access.read(principal, recordId, {
            purpose: 'TREAT',
          });
          const entry = await loggedEntry(node, patientId, result.txId);
          assert.deepEqual(
            entry.actor,
            { role: principal.kind, subject: principal.id, org: principal.org },
            cell,
          );
          assert.equal(entry.recordId, recordId, cell);
          assert.equal(entry.purpose, 'TREAT', cell);
          if (expected === 'permit') {
            assert.equal(result.outcome, 'permit', cell);
            assert.ok(
              result.outcome === 'permit' &&
                JSON.stringify(result.resource) === JSON.stringify(resource),
              `${cell}: the plaintext`,
            );
            assert.equal(entry.outcome, 'permit', cell);
            assert.equal(entry.released, true, cell);
            assert.equal(entry.basis?.kind, role.basis, cell);
            if (role.org === b) assert.equal(entry.basis?.agreementId, 'dsa-a-b', cell);
          } else {
            assert.deepEqual(result.outcome === 'deny' && result.reason, expected, cell);
            assert.ok(!JSON.stringify(result).includes('SECRET'), `${cell}: no plaintext released`);
            assert.equal(entry.outcome, 'deny', cell);
            assert.equal(entry.reason, expected, cell);
            assert.equal(entry.released, false, cell);
          }
          cells += 1;
        }
      }
      assert.equal(cells, roles.length * Object.keys(CONSENT_STATES).length);
      const restrictionTrail = node.access
        .trail('pt-restriction-lifted')
        .map(({ entry }) => entry.kind)
        .filter((kind) => kind.startsWith('restriction'));
      assert.deepEqual(
        restrictionTrail,
        ['restriction', 'restriction-lift'],
        "the patient's trail shows the restriction and its lifting",
      );
    } finally {
      await node.close();
    }
  });
}

test('a revoke takes effect at the next block, a suspension at once; the trail proves every step', async (t) => {
  // Opt-in, where dr-a of the patient's home organisation reads only under a grant.
  const { node, a } = await freshNetwork(t, { consentModel: 'opt-in' });
  try {
    await enrolPractitioner(node, a, 'dr-a');
    await enrolPatient(node, 'pt-1');
    const write = await node.records.write({
      practitionerId: 'dr-a',
      patientId: 'pt-1',
      resource: { resourceType: 'Observation', status: 'final' },
    });
    assert.equal(await commit(node, write.tx), 'ok');
    const drA: Principal = { kind: 'practitioner', id: 'dr-a', org: 'org-a' };
    assert.equal(
      await node.consent.grant('pt-1', 'grant-1', {
        ...baseTerms('org-a'),
        grantee: { kind: 'practitioner', id: 'dr-a' },
      }),
      'ok',
    );
    assert.equal(
      (await node.access.read(drA, write.recordId, { purpose: 'TREAT' })).outcome,
      'permit',
    );
    assert.equal(await node.consent.revoke('pt-1', 'grant-1'), 'ok');
    const afterRevoke = await node.access.read(drA, write.recordId, { purpose: 'TREAT' });
    assert.deepEqual(
      afterRevoke.outcome === 'deny' && afterRevoke.reason,
      'denied:consent-revoked',
    );
    assert.equal(
      await node.consent.grant('pt-1', 'grant-2', {
        ...baseTerms('org-a'),
        grantee: { kind: 'practitioner', id: 'dr-a' },
      }),
      'ok',
    );
    assert.equal(
      (await node.access.read(drA, write.recordId, { purpose: 'TREAT' })).outcome,
      'permit',
    );
    assert.equal(
      await commit(node, a.sign('membership.suspend-practitioner', { practitionerId: 'dr-a' })),
      'ok',
    );
    const afterSuspension = await node.access.read(drA, write.recordId, { purpose: 'TREAT' });
    assert.deepEqual(
      afterSuspension.outcome === 'deny' && afterSuspension.reason,
      'denied:practitioner-suspended',
    );
    await loggedEntry(node, 'pt-1', afterSuspension.txId);

    await node.consent.settled();
    const trail = node.access.trail('pt-1');
    // The first grant to dr-a made the home node share the record's key with them, once; the
    // second found the envelope already there.
    assert.equal(trail.filter(({ entry }) => entry.kind === 'key-share').length, 1);
    assert.deepEqual(
      trail
        .filter(({ entry }) => entry.kind !== 'key-share')
        .map(({ entry }) => [entry.kind, entry.outcome]),
      [
        ['grant', null],
        ['access', 'permit'],
        ['revoke', null],
        ['access', 'deny'],
        ['grant', null],
        ['access', 'permit'],
        ['access', 'deny'],
      ],
    );
    for (const { entry, proof } of trail) {
      assert.equal(proof.txId, entry.txId);
      verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        fromHex(proof.leafHash),
        proof.inclusionProof.map((hash) => fromHex(hash)),
        fromHex(proof.treeHead.logRoot),
      );
      assert.equal(
        toHex(hashLeaf(node.store.tx(proof.leafIndex)!.bytes)),
        proof.leafHash,
        `entry ${entry.seq}: the leaf is its transaction`,
      );
    }
  } finally {
    await node.close();
  }
});

/** dr-er in the emergency department and patient pt-1, whose allergy record they will need: the record's write. */
async function emergencyChart(node: ChartChainNode, a: TestOrg): Promise<{ recordId: string }> {
  await enrolPractitioner(node, a, 'dr-er');
  await enrolPatient(node, 'pt-1');
  const write = await node.records.write({
    practitionerId: 'dr-er',
    patientId: 'pt-1',
    resource: { resourceType: 'AllergyIntolerance', code: { text: 'penicillin' } },
  });
  assert.equal(await commit(node, write.tx), 'ok');
  return write;
}

test('break-the-glass: only with the patient opted in, for ETREAT/BTG, time-boxed; the patient is notified and the privacy officer reviews', async (t) => {
  const { node, a } = await freshNetwork(t);
  try {
    const write = await emergencyChart(node, a);
    const er: Principal = { kind: 'practitioner', id: 'dr-er', org: 'org-a' };
    const withoutConsent = await node.access.read(er, write.recordId, { purpose: 'ETREAT' });
    assert.deepEqual(
      withoutConsent.outcome === 'deny' && withoutConsent.reason,
      'denied:no-consent',
    );

    const optedOut = await node.breakTheGlass.request(er, 'pt-1', {
      purpose: 'ETREAT',
      reason: 'unconscious in ED, allergy history needed',
    });
    assert.deepEqual([optedOut.outcome, optedOut.denial], ['deny', 'denied:patient-opted-out']);
    assert.equal(await node.consent.setBreakTheGlass('pt-1', true), 'ok');
    const wrongPurpose = await node.breakTheGlass.request(er, 'pt-1', {
      purpose: 'TREAT',
      reason: 'routine',
    });
    assert.deepEqual(
      [wrongPurpose.outcome, wrongPurpose.denial],
      ['deny', 'denied:purpose-not-break-the-glass'],
    );
    await assert.rejects(
      node.breakTheGlass.request(er, 'pt-1', {
        purpose: 'ETREAT',
        reason: 'too long',
        minutes: 24 * 60,
      }),
      /invalid:bad-body/,
    );

    const granted = await node.breakTheGlass.request(er, 'pt-1', {
      purpose: 'ETREAT',
      reason: 'unconscious in ED, allergy history needed',
    });
    assert.equal(granted.outcome, 'permit');
    assert.equal(granted.end - granted.start, 60 * 60_000, 'the default window is 60 minutes');
    const read = await node.access.read(er, write.recordId, { purpose: 'ETREAT' });
    assert.equal(read.outcome, 'permit');
    assert.equal(read.outcome === 'permit' && read.basis.breakTheGlassId, granted.btgId);
    assert.equal((await loggedEntry(node, 'pt-1', read.txId)).basis?.kind, 'break-the-glass');

    const feed = node.access.notifications('pt-1');
    assert.deepEqual(
      feed.map(({ entry }) => [entry.kind, entry.outcome]),
      [
        ['break-the-glass', 'deny'],
        ['break-the-glass', 'deny'],
        ['break-the-glass', 'permit'],
      ],
    );
    assert.deepEqual(
      node.breakTheGlass.reviewQueue().map((row) => row.btgId),
      [granted.btgId],
    );
    await node.breakTheGlass.review(
      granted.btgId,
      false,
      'patient was conscious; should have asked',
    );
    await assert.rejects(node.breakTheGlass.review(granted.btgId, true), /denied:already-reviewed/);
    assert.deepEqual(node.breakTheGlass.reviewQueue(), []);
    const review = node.access.notifications('pt-1').at(-1)!.entry;
    assert.deepEqual(
      [review.kind, review.outcome, review.reason],
      ['break-the-glass-review', 'deny', 'not justified'],
    );
  } finally {
    await node.close();
  }
});

test('a break-the-glass window releases nothing once it has ended, however long ago the last block was cut, nor in its last moments', async (t) => {
  const { node, a } = await freshNetwork(t);
  try {
    const write = await emergencyChart(node, a);
    assert.equal(await node.consent.setBreakTheGlass('pt-1', true), 'ok');
    const er: Principal = { kind: 'practitioner', id: 'dr-er', org: 'org-a' };
    const granted = await node.breakTheGlass.request(er, 'pt-1', {
      purpose: 'ETREAT',
      reason: 'unconscious in ED, allergy history needed',
      minutes: 5,
    });
    assert.equal(granted.outcome, 'permit');
    const readAt = async (now: number) => {
      t.mock.timers.enable({ apis: ['Date'], now });
      try {
        const headTime = node.head()!.time;
        const read = await node.access.read(er, write.recordId, { purpose: 'ETREAT' });
        assert.ok(headTime < granted.end, 'no block was cut after the window ended');
        return read.outcome === 'permit'
          ? 'permit'
          : `${read.outcome}: ${read.reason} (${(await loggedEntry(node, 'pt-1', read.txId)).released === false ? 'not released' : 'released'})`;
      } finally {
        t.mock.timers.reset();
      }
    };
    assert.equal(await readAt(granted.start + 60_000), 'permit', 'within the window');
    assert.match(await readAt(granted.end - 500), /^deny/, 'half a second before it ends');
    const ended = await readAt(granted.end + 10 * 60_000);
    assert.match(ended, /^deny: .* \(not released\)$/, 'ten minutes after the window ended');
  } finally {
    await node.close();
  }
});

test('a new version is not wrapped to a grantee whose grant period has ended, however long ago the last block was cut', async (t) => {
  const { node, a, join } = await freshNetwork(t);
  try {
    await join('org-b');
    await enrolPractitioner(node, a, 'dr-a');
    await enrolPatient(node, 'pt-1');
    const end = Date.now() + 5 * 60_000;
    const granted = await node.consent.grant('pt-1', 'grant-b', {
      ...baseTerms('org-b'),
      period: { start: 0, end },
    });
    assert.equal(granted, 'ok');
    const orgB = ORGS.get(node.store.state, 'org-b')!.encryptionKey;
    const recipientsAt = async (now: number) => {
      t.mock.timers.enable({ apis: ['Date'], now });
      try {
        assert.ok(node.head()!.time < end, 'no block was cut after the grant ended');
        const write = await node.records.write({
          practitionerId: 'dr-a',
          patientId: 'pt-1',
          resource: { resourceType: 'Observation', status: 'final' },
        });
        const body = write.tx.body as { envelopes: { recipient: string }[] };
        return body.envelopes.map((envelope) => envelope.recipient);
      } finally {
        t.mock.timers.reset();
      }
    };
    assert.ok((await recipientsAt(end - 60_000)).includes(orgB), 'wrapped while the grant runs');
    assert.equal((await recipientsAt(end + 60_000)).includes(orgB), false, 'not once it has ended');
  } finally {
    await node.close();
  }
});

test('break-the-glass reasons and review notes are sealed: only the patient and the organisation open them, and no file holds them in the clear', async (t) => {
  const { node, a, dir } = await freshNetwork(t);
  try {
    await enrolPractitioner(node, a, 'dr-er');
    await enrolPatient(node, 'pt-1');
    await enrolPatient(node, 'pt-2');
    assert.equal(await node.consent.setBreakTheGlass('pt-1', true), 'ok');
    const er: Principal = { kind: 'practitioner', id: 'dr-er', org: 'org-a' };
    const reason = 'overdose suspected, unconscious; allergy history needed';
    const note = 'reviewed with the attending: justified, HIV status not read';
    const granted = await node.breakTheGlass.request(er, 'pt-1', { purpose: 'ETREAT', reason });
    await node.breakTheGlass.review(granted.btgId, true, note);

    assert.deepEqual(
      await node.breakTheGlass.texts(granted.btgId, { kind: 'patient', patientId: 'pt-1' }),
      { reason, reviewNote: note },
    );
    assert.deepEqual(await node.breakTheGlass.texts(granted.btgId, { kind: 'organisation' }), {
      reason,
      reviewNote: note,
    });
    await assert.rejects(
      node.breakTheGlass.texts(granted.btgId, { kind: 'patient', patientId: 'pt-2' }),
      (error: Error) => error instanceof NoteUnavailableError && error.reason === 'not-a-recipient',
    );
    await assert.rejects(
      node.breakTheGlass.texts('ab'.repeat(32), { kind: 'organisation' }),
      /no break-the-glass event/,
    );
    assert.deepEqual(
      collectOrphanBlobs(node, { graceMs: 0 }).deleted,
      0,
      "the collector keeps the notes' ciphertexts",
    );
    assert.deepEqual(
      await node.breakTheGlass.texts(granted.btgId, { kind: 'patient', patientId: 'pt-1' }),
      { reason, reviewNote: note },
    );

    await node.close();
    for (const file of filesUnder(dir)) {
      const bytes = readFileSync(file);
      assert.ok(
        !bytes.includes(reason) && !bytes.includes(note),
        `${file} holds a break-the-glass text in the clear`,
      );
    }
  } finally {
    await node.close();
  }
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

test('an access transaction made durable before release survives a restart that comes before its block', async (t) => {
  const { node, a, dir } = await freshNetwork(t);
  let txId = '';
  let recordId = '';
  try {
    await enrolPractitioner(node, a, 'dr-a');
    await enrolPatient(node, 'pt-1');
    const write = await node.records.write({
      practitionerId: 'dr-a',
      patientId: 'pt-1',
      resource: { resourceType: 'Observation', status: 'final' },
    });
    recordId = write.recordId;
    assert.equal(await commit(node, write.tx), 'ok');
    // Stop the orderer (reaching past the node's API: no operator should do this), so the access
    // transaction is durable in the queue but in no block when the node goes down.
    await (node as unknown as { orderer: Orderer }).orderer.stop();
    const result = await node.access.read({ kind: 'patient', id: 'pt-1', org: 'org-a' }, recordId, {
      purpose: 'PATRQT',
    });
    assert.equal(result.outcome, 'permit');
    txId = result.txId;
    assert.equal(node.lookupTx(txId)?.status, 'pending');
  } finally {
    await node.close();
  }
  const reopened = await ChartChainNode.open(`${dir}/a`, { verifyPoolSize: 1 });
  try {
    const entry = await loggedEntry(reopened, 'pt-1', txId);
    assert.deepEqual(
      [entry.kind, entry.recordId, entry.outcome, entry.released],
      ['access', recordId, 'permit', true],
    );
  } finally {
    await reopened.close();
  }
});

test("opt-out: a record another organisation writes into the patient's chart is wrapped for the home organisation, whose practitioner reads and decrypts it without a grant", async (t) => {
  const { node, a, join } = await freshNetwork(t);
  try {
    const b = await join('org-b');
    await enrolPractitioner(node, a, 'dr-a');
    await enrolPractitioner(node, b, 'dr-b');
    await enrolPatient(node, 'pt-1');
    assert.equal(
      await node.consent.grant('pt-1', 'grant-write-b', {
        ...baseTerms('org-b'),
        actions: ['write'],
      }),
      'ok',
    );
    const resource = {
      resourceType: 'Observation',
      status: 'final',
      valueString: 'SECRET-from-the-lab',
    };
    const write = await b.records.write({ practitionerId: 'dr-b', patientId: 'pt-1', resource });
    assert.equal(await commit(node, write.tx), 'ok');
    const read = await a.access.read(
      { kind: 'practitioner', id: 'dr-a', org: 'org-a' },
      write.recordId,
      { purpose: 'TREAT' },
    );
    assert.equal(read.outcome, 'permit');
    assert.ok(
      read.outcome === 'permit' && JSON.stringify(read.resource) === JSON.stringify(resource),
      "decrypted with the home organisation's own key",
    );
    assert.equal((await loggedEntry(node, 'pt-1', read.txId)).basis?.kind, 'home-organisation');
  } finally {
    await node.close();
  }
});
