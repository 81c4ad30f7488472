import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { sha256, signingKeyFromSeed, toHex } from '../../crypto/index.js';
import {
  type JsonObject,
  MEMBER_COUNT_MAX,
  signTransaction,
  type Transaction,
} from '../../ledger/index.js';
import {
  BlockState,
  canonicalWriteSet,
  nextAppHash,
  NONCE_TABLE,
  TX_TABLE,
  type BlockExecution,
  type Write,
} from '../index.js';
import { idOf, TestChain as BaseTestChain } from '../test-chain.js';
import { consentModelOf } from './consent-model.js';
import {
  CONSORTIUM_KEY,
  CONSORTIUM_TABLE,
  KEY_TABLE,
  ORG_TABLE,
  PRACTITIONER_TABLE,
  PROPOSAL_LIFETIME_MS,
  PROPOSAL_TABLE,
  type ConsortiumRow,
  type KeyRow,
  type ProposalRow,
} from './tables.js';

/** A key holder with a deterministic key (seeded by its name) and its own nonce counter. */
class Actor {
  readonly key;
  nonce = 0;
  constructor(readonly id: string) {
    this.key = signingKeyFromSeed(sha256(`seed:${id}`));
  }
  get publicKey(): string {
    return toHex(this.key.publicKey);
  }
  tx(type: string, body: JsonObject, nonce = (this.nonce += 1)): Transaction {
    return signTransaction({ type: `membership.${type}`, nonce, body }, this.key);
  }
}

/** The shared test chain, with membership lookups. */
class TestChain extends BaseTestChain {
  members(): string[] {
    return (
      (this.get(CONSORTIUM_TABLE, CONSORTIUM_KEY) as unknown as ConsortiumRow | undefined)
        ?.members ?? []
    );
  }

  proposal(propose: Transaction): ProposalRow['status'] | undefined {
    return (this.get(PROPOSAL_TABLE, idOf(propose)) as unknown as ProposalRow | undefined)?.status;
  }
}

const orgEntry = (org: Actor): JsonObject => ({
  orgId: org.id,
  name: `Org ${org.id}`,
  signingKey: org.publicKey,
  encryptionKey: '11'.repeat(32),
});
const genesisBody = (orgs: readonly Actor[]): JsonObject => ({
  network: 'test',
  orgs: orgs.map(orgEntry),
});
const enrol = (idName: string, person: Actor, extra: JsonObject = {}): JsonObject => ({
  [idName]: person.id,
  signingKey: person.publicKey,
  encryptionKey: '22'.repeat(32),
  ...extra,
});
const admit = (org: Actor): JsonObject => ({ action: 'admit', ...orgEntry(org) });
const vote = (propose: Transaction, approve: boolean): JsonObject => ({
  proposalId: idOf(propose),
  approve,
});

/** A chain after a genesis block, signed by the first founder, founding `ids`. */
function founded<const Ids extends string[]>(
  ...ids: Ids
): { chain: TestChain; orgs: { [K in keyof Ids]: Actor } } {
  const chain = new TestChain();
  const orgs = ids.map((id) => new Actor(id));
  assert.deepEqual(chain.run(orgs[0]!.tx('genesis', genesisBody(orgs))), ['ok']);
  return { chain, orgs: orgs as { [K in keyof Ids]: Actor } };
}
const THREE = ['org-a', 'org-b', 'org-c'] as const;

describe('genesis', () => {
  test('founds the consortium from any founder, and only once, at height 0', () => {
    const [a, b, c] = ['org-a', 'org-b', 'org-c'].map((id) => new Actor(id)) as [
      Actor,
      Actor,
      Actor,
    ];
    const chain = new TestChain();
    assert.deepEqual(
      chain.run(b.tx('genesis', genesisBody([c, a, b])), a.tx('genesis', genesisBody([a]))),
      ['ok', 'denied:genesis-closed'],
    );
    assert.deepEqual(chain.members(), ['org-a', 'org-b', 'org-c']);
    for (const org of [a, b, c]) {
      assert.equal((chain.get(ORG_TABLE, org.id) as { status: string }).status, 'active');
      assert.deepEqual(chain.get(KEY_TABLE, org.key.keyId), {
        publicKey: org.publicKey,
        role: 'org',
        subject: org.id,
        org: org.id,
      });
    }
    assert.deepEqual(chain.run(c.tx('genesis', genesisBody([c]))), ['denied:genesis-closed']);
    const outsider = new Actor('org-x');
    assert.deepEqual(chain.run(outsider.tx('genesis', genesisBody([outsider]))), [
      'invalid:unknown-signer',
    ]);
  });

  test('a signer not among the founders, or a malformed founder list, is an unknown signer', () => {
    const [a, b, x] = ['org-a', 'org-b', 'org-x'].map((id) => new Actor(id)) as [
      Actor,
      Actor,
      Actor,
    ];
    const chain = new TestChain();
    const duplicateIds = {
      network: 'test',
      orgs: [orgEntry(a), { ...orgEntry(b), orgId: 'org-a' }],
    };
    const extraOrgField = { network: 'test', orgs: [{ ...orgEntry(a), admin: true }] };
    assert.deepEqual(
      chain.run(
        x.tx('genesis', genesisBody([a, b])),
        a.tx('genesis', duplicateIds),
        a.tx('genesis', extraOrgField),
        a.tx('genesis', { ...genesisBody([a]), memo: 'x' }),
      ),
      [
        'invalid:unknown-signer',
        'invalid:unknown-signer',
        'invalid:unknown-signer',
        'invalid:bad-body',
      ],
    );
    assert.deepEqual(chain.members(), []);
    // Block 0 is past: the network can no longer be founded.
    assert.deepEqual(chain.run(a.tx('genesis', genesisBody([a, b]))), ['invalid:unknown-signer']);
  });
});

describe('the consent model, a network setting in genesis', () => {
  test('genesis may name opt-in or opt-out; one without it is opt-in and keeps the row it always had; votes keep the setting', () => {
    const [a, b] = ['org-a', 'org-b'].map((id) => new Actor(id)) as [Actor, Actor];
    const legacy = new TestChain();
    assert.deepEqual(legacy.run(a.tx('genesis', genesisBody([a, b]))), ['ok']);
    assert.deepEqual(
      legacy.get(CONSORTIUM_TABLE, CONSORTIUM_KEY),
      { network: 'test', members: ['org-a', 'org-b'] },
      'no field: the state root of older chains is unchanged',
    );
    assert.equal(consentModelOf(legacy), 'opt-in');
    for (const consentModel of ['opt-in', 'opt-out'] as const) {
      const chain = new TestChain();
      assert.deepEqual(chain.run(a.tx('genesis', { ...genesisBody([a, b]), consentModel })), [
        'ok',
      ]);
      assert.equal(consentModelOf(chain), consentModel);
      const propose = a.tx('propose', admit(new Actor('org-c')));
      assert.deepEqual(chain.run(propose, b.tx('vote', vote(propose, true))), ['ok', 'ok']);
      assert.deepEqual(chain.get(CONSORTIUM_TABLE, CONSORTIUM_KEY), {
        network: 'test',
        members: ['org-a', 'org-b', 'org-c'],
        consentModel,
      });
    }
    const propose = a.tx('propose', admit(new Actor('org-c')));
    assert.deepEqual(legacy.run(propose, b.tx('vote', vote(propose, true))), ['ok', 'ok']);
    assert.deepEqual(
      legacy.get(CONSORTIUM_TABLE, CONSORTIUM_KEY),
      { network: 'test', members: ['org-a', 'org-b', 'org-c'] },
      'an admission adds no setting either',
    );
    const bad = [
      { consentModel: 'opt-maybe' },
      { consentModel: null },
      { consentModel: ['opt-in'] },
    ];
    for (const extra of bad)
      assert.deepEqual(
        new TestChain().run(a.tx('genesis', { ...genesisBody([a]), ...extra })),
        ['invalid:bad-body'],
        JSON.stringify(extra),
      );
  });
});

describe('organisations join and leave by majority vote', () => {
  test('admission: one yes of three stays open, the second passes, and the new org can then sign', () => {
    const {
      chain,
      orgs: [a, b, c],
    } = founded(...THREE);
    const d = new Actor('org-d');
    const propose = a.tx('propose', admit(d));
    assert.deepEqual(chain.run(propose), ['ok']);
    assert.equal(chain.proposal(propose), 'open');
    assert.deepEqual(
      chain.run(
        d.tx('register-patient', enrol('patientId', new Actor('patient-1'), { custody: 'self' })),
      ),
      ['invalid:unknown-signer'],
    );
    assert.deepEqual(chain.run(b.tx('vote', vote(propose, true))), ['ok']);
    assert.equal(chain.proposal(propose), 'passed');
    assert.deepEqual(chain.members(), ['org-a', 'org-b', 'org-c', 'org-d']);
    assert.deepEqual(
      chain.run(d.tx('register-practitioner', enrol('practitionerId', new Actor('dr-d')))),
      ['ok'],
    );
    assert.deepEqual(chain.run(c.tx('vote', vote(propose, true)), a.tx('propose', admit(d))), [
      'denied:proposal-closed',
      'denied:org-exists',
    ]);
  });

  test('removal: a majority makes the org and its practitioners inactive, and the removed org stays out', () => {
    const {
      chain,
      orgs: [a, b, c],
    } = founded(...THREE);
    const doctor = new Actor('dr-c');
    assert.deepEqual(chain.run(c.tx('register-practitioner', enrol('practitionerId', doctor))), [
      'ok',
    ]);
    const propose = a.tx('propose', { action: 'remove', orgId: 'org-c' });
    assert.deepEqual(chain.run(propose), ['ok']);
    assert.equal(chain.proposal(propose), 'open');
    assert.deepEqual(chain.run(b.tx('vote', vote(propose, true))), ['ok']);
    assert.equal(chain.proposal(propose), 'passed');
    assert.deepEqual(chain.members(), ['org-a', 'org-b']);
    assert.equal((chain.get(ORG_TABLE, 'org-c') as { status: string }).status, 'removed');
    const late = c.tx('propose', { action: 'remove', orgId: 'org-a' });
    assert.deepEqual(chain.run(late, doctor.tx('propose', { action: 'remove', orgId: 'org-a' })), [
      'denied:signer-inactive',
      'denied:signer-inactive',
    ]);
    assert.equal(
      chain.get(NONCE_TABLE, c.key.keyId),
      late.nonce,
      'an inactive signer still spends its nonce',
    );
    assert.deepEqual(
      chain.run(a.tx('propose', admit(c)), a.tx('propose', { action: 'remove', orgId: 'org-c' })),
      ['denied:org-exists', 'denied:not-a-member'],
    );
  });

  test('votes of a removed org no longer count, and it cannot vote again', () => {
    const {
      chain,
      orgs: [a, b, c, d],
    } = founded('org-a', 'org-b', 'org-c', 'org-d');
    const admitE = a.tx('propose', admit(new Actor('org-e')));
    const removeC = a.tx('propose', { action: 'remove', orgId: 'org-c' });
    assert.deepEqual(
      chain.run(
        admitE,
        c.tx('vote', vote(admitE, true)),
        removeC,
        b.tx('vote', vote(removeC, true)),
        d.tx('vote', vote(removeC, true)),
      ),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
    assert.deepEqual(chain.members(), ['org-a', 'org-b', 'org-d']);
    // Counting org-c's yes, a and c of a, b, d would be a majority; without it one yes and one no stay open.
    assert.deepEqual(chain.run(d.tx('vote', vote(admitE, false))), ['ok']);
    assert.equal(chain.proposal(admitE), 'open');
    assert.deepEqual(
      chain.run(c.tx('vote', vote(admitE, true)), b.tx('vote', vote(admitE, true))),
      ['denied:signer-inactive', 'ok'],
    );
    assert.equal(chain.proposal(admitE), 'passed');
  });

  test('already voted, expiry after PROPOSAL_LIFETIME_MS of block time, and rejection once a majority is impossible', () => {
    const {
      chain,
      orgs: [a, b, c, d],
    } = founded('org-a', 'org-b', 'org-c', 'org-d');
    const openedAt = chain.time;
    const propose = a.tx('propose', admit(new Actor('org-e')));
    assert.deepEqual(
      chain.run(propose, a.tx('vote', vote(propose, true)), a.tx('vote', vote(propose, false))),
      ['ok', 'denied:already-voted', 'denied:already-voted'],
    );
    chain.time = openedAt + PROPOSAL_LIFETIME_MS;
    assert.deepEqual(
      chain.run(b.tx('vote', vote(propose, true))),
      ['ok'],
      'the last millisecond of the lifetime still counts',
    );
    assert.equal(chain.time, openedAt + PROPOSAL_LIFETIME_MS + 1000);
    assert.deepEqual(chain.run(c.tx('vote', vote(propose, true))), ['denied:proposal-expired']);
    assert.equal(chain.proposal(propose), 'open');
    const reject = b.tx('propose', { action: 'remove', orgId: 'org-d' });
    assert.deepEqual(
      chain.run(reject, c.tx('vote', vote(reject, false)), d.tx('vote', vote(reject, false))),
      ['ok', 'ok', 'ok'],
    );
    assert.equal(chain.proposal(reject), 'rejected', 'two noes of four leave no majority of three');
    assert.deepEqual(
      chain.run(
        a.tx('vote', vote(reject, true)),
        a.tx('vote', { proposalId: 'ab'.repeat(32), approve: true }),
      ),
      ['denied:proposal-closed', 'denied:no-such-proposal'],
    );
    assert.deepEqual(chain.members(), ['org-a', 'org-b', 'org-c', 'org-d']);
  });

  test('the last member cannot be removed', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded('org-a', 'org-b');
    const removeB = a.tx('propose', { action: 'remove', orgId: 'org-b' });
    assert.deepEqual(
      chain.run(
        removeB,
        b.tx('vote', vote(removeB, true)),
        a.tx('propose', { action: 'remove', orgId: 'org-a' }),
      ),
      ['ok', 'ok', 'denied:last-member'],
    );
    assert.deepEqual(chain.members(), ['org-a']);
  });

  test('an org whose id names an Object.prototype member can vote', () => {
    const {
      chain,
      orgs: [b, ctor],
    } = founded('org-b', 'constructor', 'org-c');
    const propose = b.tx('propose', admit(new Actor('org-d')));
    assert.deepEqual(chain.run(propose, ctor.tx('vote', vote(propose, true))), ['ok', 'ok']);
    assert.equal(chain.proposal(propose), 'passed');
  });

  test('a key registered while an admission was open is not taken over when it passes', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const d = new Actor('org-d');
    const propose = a.tx('propose', admit(d));
    const twin = a.tx('propose', { ...admit(d), orgId: 'org-twin' });
    assert.deepEqual(
      chain.run(
        propose,
        twin,
        a.tx('register-practitioner', {
          ...enrol('practitionerId', new Actor('dr-x')),
          signingKey: d.publicKey,
        }),
      ),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(chain.run(b.tx('vote', vote(propose, true)), b.tx('vote', vote(twin, true))), [
      'denied:key-in-use',
      'denied:key-in-use',
    ]);
    assert.equal((chain.get(KEY_TABLE, d.key.keyId) as unknown as KeyRow).subject, 'dr-x');
    assert.deepEqual(chain.members(), ['org-a', 'org-b', 'org-c']);
  });

  test(`admissions open at the same time cannot grow the consortium past MEMBER_COUNT_MAX (${MEMBER_COUNT_MAX})`, () => {
    const { chain, orgs } = founded(
      ...Array.from({ length: MEMBER_COUNT_MAX - 1 }, (_, i) => `org-${i}`),
    );
    const first = orgs[0]!.tx('propose', admit(new Actor('org-new-1')));
    const second = orgs[1]!.tx('propose', admit(new Actor('org-new-2')));
    assert.deepEqual(chain.run(first, second), ['ok', 'ok']);
    const statuses = chain.run(
      ...orgs
        .slice(2)
        .flatMap((org) => [org.tx('vote', vote(first, true)), org.tx('vote', vote(second, true))]),
    );
    assert.equal(chain.proposal(first), 'passed');
    assert.ok(
      statuses.includes('denied:consortium-full'),
      'the second admission is refused when it would pass',
    );
    assert.equal(chain.members().length, MEMBER_COUNT_MAX);
  });
});

describe('encryption key rotation', () => {
  test('only an organisation rotates its own key, to a well-formed key that differs from the current one', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const doctor = new Actor('dr-a');
    assert.deepEqual(chain.run(a.tx('register-practitioner', enrol('practitionerId', doctor))), [
      'ok',
    ]);
    const fresh = '33'.repeat(32);
    assert.deepEqual(
      chain.run(
        doctor.tx('rotate-encryption-key', { encryptionKey: fresh }),
        a.tx('rotate-encryption-key', { encryptionKey: 'not hex' }),
        a.tx('rotate-encryption-key', { encryptionKey: fresh, orgId: 'org-b' }),
        a.tx('rotate-encryption-key', { encryptionKey: '11'.repeat(32) }),
        a.tx('rotate-encryption-key', { encryptionKey: fresh }),
      ),
      [
        'denied:not-an-organisation',
        'invalid:bad-body',
        'invalid:bad-body',
        'denied:key-unchanged',
        'ok',
      ],
    );
    assert.equal((chain.get(ORG_TABLE, 'org-a') as { encryptionKey: string }).encryptionKey, fresh);
    assert.equal(
      (chain.get(ORG_TABLE, b.id) as { encryptionKey: string }).encryptionKey,
      '11'.repeat(32),
    );
  });
});

describe('practitioners and patients', () => {
  test('only their own org registers, suspends and reinstates a practitioner; a suspended one is inactive', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const doctor = new Actor('dr-a');
    const register = a.tx('register-practitioner', enrol('practitionerId', doctor));
    assert.deepEqual(
      chain.run(
        register,
        b.tx('register-practitioner', {
          ...enrol('practitionerId', new Actor('dr-b')),
          practitionerId: 'dr-a',
        }),
        b.tx('register-practitioner', {
          ...enrol('practitionerId', new Actor('dr-b')),
          signingKey: a.publicKey,
        }),
      ),
      ['ok', 'denied:practitioner-exists', 'denied:key-in-use'],
    );
    assert.deepEqual(chain.get(KEY_TABLE, doctor.key.keyId), {
      publicKey: doctor.publicKey,
      role: 'practitioner',
      subject: 'dr-a',
      org: 'org-a',
    });
    assert.deepEqual(
      chain.run(
        b.tx('suspend-practitioner', { practitionerId: 'dr-a' }),
        a.tx('suspend-practitioner', { practitionerId: 'dr-nobody' }),
      ),
      ['denied:not-your-practitioner', 'denied:not-your-practitioner'],
    );
    assert.deepEqual(
      chain.run(doctor.tx('propose', admit(new Actor('org-z')))),
      ['denied:not-an-organisation'],
      'an active practitioner reaches the contract',
    );
    assert.deepEqual(
      chain.run(
        a.tx('suspend-practitioner', { practitionerId: 'dr-a' }),
        a.tx('suspend-practitioner', { practitionerId: 'dr-a' }),
      ),
      ['ok', 'denied:already-suspended'],
    );
    assert.deepEqual(chain.run(doctor.tx('propose', admit(new Actor('org-z')))), [
      'denied:signer-inactive',
    ]);
    assert.deepEqual(
      chain.run(
        b.tx('reinstate-practitioner', { practitionerId: 'dr-a' }),
        a.tx('reinstate-practitioner', { practitionerId: 'dr-a' }),
        a.tx('reinstate-practitioner', { practitionerId: 'dr-a' }),
      ),
      ['denied:not-your-practitioner', 'ok', 'denied:already-active'],
    );
    assert.equal((chain.get(PRACTITIONER_TABLE, 'dr-a') as { status: string }).status, 'active');
    assert.deepEqual(chain.run(doctor.tx('vote', { proposalId: 'ab'.repeat(32), approve: true })), [
      'denied:not-an-organisation',
    ]);
  });

  test('patients are registered with the keys they supply; ids and keys are never reused', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const patient = new Actor('patient-0001');
    assert.deepEqual(
      chain.run(a.tx('register-patient', enrol('patientId', patient, { custody: 'self' }))),
      ['ok'],
    );
    assert.deepEqual(chain.get(KEY_TABLE, patient.key.keyId), {
      publicKey: patient.publicKey,
      role: 'patient',
      subject: 'patient-0001',
      org: 'org-a',
    });
    const other = new Actor('patient-0002');
    assert.deepEqual(
      chain.run(
        b.tx('register-patient', {
          ...enrol('patientId', other, { custody: 'custodial' }),
          patientId: 'patient-0001',
        }),
        b.tx('register-patient', {
          ...enrol('patientId', other, { custody: 'self' }),
          signingKey: patient.publicKey,
        }),
        b.tx('register-patient', {
          ...enrol('patientId', other, { custody: 'self' }),
          signingKey: a.publicKey,
        }),
        b.tx('register-patient', enrol('patientId', other, { custody: 'shared' })),
        b.tx('register-patient', {
          patientId: 'patient-0002',
          signingKey: other.publicKey,
          custody: 'self',
        }),
        patient.tx('register-patient', enrol('patientId', other, { custody: 'self' })),
      ),
      [
        'denied:patient-exists',
        'denied:key-in-use',
        'denied:key-in-use',
        'invalid:bad-body',
        'invalid:bad-body',
        'denied:not-an-organisation',
      ],
    );
  });

  test('a patient whose signing key is taken is refused for the key before a bad or missing custody', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const other = new Actor('patient-0002');
    const { custody: _custody, ...noCustody } = enrol('patientId', other, { custody: 'self' });
    assert.deepEqual(
      chain.run(
        b.tx('register-patient', {
          ...enrol('patientId', other, { custody: 'shared' }),
          signingKey: a.publicKey,
        }),
        b.tx('register-patient', { ...noCustody, signingKey: a.publicKey }),
        b.tx('register-patient', {
          ...enrol('patientId', other, { custody: 'shared' }),
          signingKey: a.publicKey,
          extra: 1,
        }),
        b.tx('register-patient', noCustody),
      ),
      ['denied:key-in-use', 'denied:key-in-use', 'invalid:bad-body', 'invalid:bad-body'],
    );
  });

  test('a proposal body is an admission or a removal, never a mix of the two', () => {
    const {
      chain,
      orgs: [a],
    } = founded(...THREE);
    const d = new Actor('org-d');
    assert.deepEqual(
      chain.run(
        a.tx('propose', { ...admit(d), action: 'remove' }),
        a.tx('propose', { action: 'admit', orgId: 'org-d' }),
        a.tx('propose', { orgId: 'org-b' }),
        a.tx('propose', { action: 'remove', orgId: 'org-z' }),
      ),
      ['invalid:bad-body', 'invalid:bad-body', 'invalid:bad-body', 'denied:not-a-member'],
    );
  });

  test('unknown fields in any body are refused, not ignored', () => {
    const {
      chain,
      orgs: [a],
    } = founded(...THREE);
    const register = a.tx('register-practitioner', enrol('practitionerId', new Actor('dr-1')));
    const propose = a.tx('propose', admit(new Actor('org-d')));
    assert.deepEqual(chain.run(register, propose), ['ok', 'ok']);
    const bodies: [string, JsonObject][] = [
      ['propose', { ...admit(new Actor('org-e')), website: 'x' }],
      ['propose', { action: 'remove', orgId: 'org-b', reason: 'x' }],
      ['propose', { action: 'merge', orgId: 'org-b' }],
      ['vote', { ...vote(propose, true), weight: 2 }],
      ['register-practitioner', enrol('practitionerId', new Actor('dr-2'), { role: 'admin' })],
      ['suspend-practitioner', { practitionerId: 'dr-1', until: 5 }],
      ['reinstate-practitioner', { practitionerId: 'dr-1', note: '' }],
      [
        'register-patient',
        enrol('patientId', new Actor('patient-1'), { custody: 'self', name: 'Jane' }),
      ],
    ];
    const statuses = chain.run(...bodies.map(([type, body]) => a.tx(type, body)));
    assert.deepEqual(
      statuses,
      bodies.map(() => 'invalid:bad-body'),
    );
  });
});

describe('the executor: nonces, replays, signatures and the state commitment', () => {
  test('nonces must increase; gaps are allowed; a denied tx spends its nonce but a forged one does not', () => {
    const {
      chain,
      orgs: [a, b],
    } = founded(...THREE);
    const suspend = { practitionerId: 'dr-none' };
    assert.deepEqual(
      chain.run(
        a.tx('suspend-practitioner', suspend, 5),
        a.tx('suspend-practitioner', { practitionerId: 'dr-x' }, 5),
        a.tx('suspend-practitioner', suspend, 4),
      ),
      ['denied:not-your-practitioner', 'invalid:stale-nonce', 'invalid:stale-nonce'],
    );
    assert.equal(chain.get(NONCE_TABLE, a.key.keyId), 5);
    const forged = {
      ...b.tx('register-practitioner', enrol('practitionerId', new Actor('dr-b')), 9),
      body: enrol('practitionerId', new Actor('dr-evil')),
    };
    const wrongKey = {
      ...b.tx('register-practitioner', enrol('practitionerId', new Actor('dr-b')), 9),
      signer: a.key.keyId,
    };
    assert.deepEqual(
      chain.run(
        forged,
        wrongKey,
        b.tx('register-practitioner', enrol('practitionerId', new Actor('dr-b')), 9),
      ),
      ['invalid:bad-signature', 'invalid:bad-signature', 'ok'],
    );
    assert.equal(chain.get(NONCE_TABLE, b.key.keyId), 9);
    assert.deepEqual(
      chain.run(
        signTransaction({ type: 'records.teleport', nonce: 10, body: {} }, b.key),
        new Actor('org-x').tx('vote', vote(forged, true)),
      ),
      ['invalid:unknown-type', 'invalid:unknown-signer'],
    );
  });

  test('a txId seen before, in this block or an earlier one, is a duplicate', () => {
    const {
      chain,
      orgs: [a],
    } = founded(...THREE);
    const tx = a.tx(
      'register-patient',
      enrol('patientId', new Actor('patient-1'), { custody: 'self' }),
    );
    const denied = a.tx('suspend-practitioner', { practitionerId: 'dr-none' });
    assert.deepEqual(chain.run(tx, tx, denied, denied), [
      'ok',
      'invalid:duplicate-txid',
      'denied:not-your-practitioner',
      'invalid:duplicate-txid',
    ]);
    assert.deepEqual(chain.run(tx, denied), ['invalid:duplicate-txid', 'invalid:duplicate-txid']);
    assert.deepEqual(chain.get(TX_TABLE, idOf(tx)), { height: 1, leafIndex: 1, status: 'ok' });
  });

  test('determinism: the same blocks on two fresh states give the same statuses, write-sets and appHash', () => {
    const script = (): BlockExecution[] => {
      const a = new Actor('org-a'),
        b = new Actor('org-b'),
        doctor = new Actor('dr-a');
      const chain = new TestChain();
      const genesis = a.tx('genesis', genesisBody([b, a]));
      const register = a.tx('register-practitioner', enrol('practitionerId', doctor));
      const propose = a.tx('propose', admit(new Actor('org-c')));
      return [
        [genesis],
        [register, propose, doctor.tx('vote', vote(propose, true))],
        [
          b.tx('vote', vote(propose, false)),
          a.tx('suspend-practitioner', { practitionerId: 'dr-a' }),
          doctor.tx('vote', vote(propose, true)),
        ],
        [],
      ].map((txs) => chain.execute(txs));
    };
    const [first, second] = [script(), script()];
    assert.deepEqual(first, second);
    assert.equal(
      new Set(first.map((block) => block.appHash)).size,
      first.length,
      'every block moves the appHash on',
    );
    assert.deepEqual(
      first.flatMap((block) => block.statuses),
      ['ok', 'ok', 'ok', 'denied:not-an-organisation', 'ok', 'ok', 'denied:signer-inactive'],
    );
  });

  test('for a fixed prevAppHash, appHash changes iff the write-set changes, whatever the order of writes', () => {
    const write = fc.record({
      table: fc.constantFrom('t1', 't2'),
      key: fc.constantFrom('k1', 'k2', 'k3'),
      value: fc.constantFrom(null, 1, 'v', { x: [1] }),
    });
    const writeSetOf = (writes: readonly Write[]) => {
      const state = new BlockState({ get: () => undefined });
      state.apply(writes);
      return canonicalWriteSet(state.writeSet()).json;
    };
    fc.assert(
      fc.property(
        fc.array(write, { maxLength: 6 }),
        fc.array(write, { maxLength: 6 }),
        fc.constantFrom('00'.repeat(32), 'ff'.repeat(32)),
        (left, right, prev) => {
          const [l, r] = [writeSetOf(left), writeSetOf(right)];
          assert.equal(nextAppHash(prev, l) === nextAppHash(prev, r), l === r, `${l} vs ${r}`);
          assert.equal(
            nextAppHash(prev, l),
            nextAppHash(
              prev,
              writeSetOf(
                [...left]
                  .reverse()
                  .filter(
                    (w, i, all) =>
                      all.findIndex((o) => o.table === w.table && o.key === w.key) === i,
                  ),
              ),
            ),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
