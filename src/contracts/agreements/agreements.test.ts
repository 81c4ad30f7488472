import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { ORG_TABLE, type OrgRow, type StateReader } from '../index.js';
import { Actor, idOf, T0, TestChain, world } from '../records/test-fixture.js';
import { coveringAgreement, type AgreementRefusal, type DisclosureQuery } from './covering.js';
import {
  AGREEMENT_PAIR_TABLE,
  AGREEMENT_TABLE,
  type AgreementRow,
  type AgreementTerms,
} from './tables.js';
import { AGREEMENTS_PER_PAIR_MAX, AGREEMENT_TERM_ENTRY_MAX } from '../../ledger/index.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const without = (body: JsonObject, field: string): JsonObject =>
  Object.fromEntries(
    Object.keys(body)
      .filter((key) => key !== field)
      .map((key) => [key, body[key]!]),
  );
const letters = (i: number): string =>
  String.fromCharCode(97 + (i % 26)).repeat(1 + Math.floor(i / 26));

const TERMS: JsonObject = {
  resourceTypes: [],
  excludeLabels: ['42CFRPart2', 'PSY'],
  purposes: ['TREAT'],
  period: { start: T0, end: null },
  redisclosure: false,
};
const terms = (extra: JsonObject = {}): JsonObject => ({ ...TERMS, ...extra });
const proposal = (
  agreementId: string,
  discloser: Actor,
  recipient: Actor,
  extra: JsonObject = {},
): JsonObject => ({
  agreementId,
  discloser: discloser.id,
  recipient: recipient.id,
  terms: terms(extra),
});
const propose = (
  by: Actor,
  agreementId: string,
  discloser: Actor,
  recipient: Actor,
  extra: JsonObject = {},
): Transaction => by.tx('agreements.propose', proposal(agreementId, discloser, recipient, extra));
const countersign = (by: Actor, agreementId: string): Transaction =>
  by.tx('agreements.countersign', { agreementId });
const terminate = (by: Actor, agreementId: string): Transaction =>
  by.tx('agreements.terminate', { agreementId });
const agreement = (chain: TestChain, agreementId: string): AgreementRow | undefined =>
  chain.get(AGREEMENT_TABLE, agreementId) as AgreementRow | undefined;
const pair = (chain: TestChain, key: string): JsonValue | undefined =>
  chain.get(AGREEMENT_PAIR_TABLE, key);

/** Proposes an agreement from `discloser` to `recipient` (proposed by the discloser) and countersigns it, in two blocks. */
function activate(
  chain: TestChain,
  agreementId: string,
  discloser: Actor,
  recipient: Actor,
  extra: JsonObject = {},
): void {
  assert.deepEqual(chain.run(propose(discloser, agreementId, discloser, recipient, extra)), ['ok']);
  assert.deepEqual(chain.run(countersign(recipient, agreementId)), ['ok']);
}

describe('agreements.propose', () => {
  test('either party proposes: the agreement row, the pair index and an event', () => {
    const { chain, orgA, orgB } = world();
    const body = proposal('dsa-1', orgA, orgB);
    const time = chain.time;
    const execution = chain.execute([
      orgA.tx('agreements.propose', body),
      propose(orgB, 'dsa-0', orgA, orgB, { redisclosure: true }),
    ]);
    assert.deepEqual(execution.statuses, ['ok', 'ok']);
    assert.deepEqual(execution.events, [
      { type: 'agreements.proposed', subject: 'dsa-1' },
      { type: 'agreements.proposed', subject: 'dsa-0' },
    ]);
    assert.deepEqual(agreement(chain, 'dsa-1'), {
      agreementId: 'dsa-1',
      discloser: 'org-a',
      recipient: 'org-b',
      proposedBy: 'org-a',
      terms: body['terms'],
      status: 'proposed',
      proposedAt: time,
      activatedAt: null,
      terminatedAt: null,
      terminatedBy: null,
    });
    assert.equal(agreement(chain, 'dsa-0')?.proposedBy, 'org-b', 'the recipient may propose');
    assert.equal(agreement(chain, 'dsa-0')?.terms.redisclosure, true);
    assert.deepEqual(
      pair(chain, 'org-a>org-b'),
      { agreementIds: ['dsa-0', 'dsa-1'] },
      'ids are kept sorted',
    );
    assert.equal(pair(chain, 'org-b>org-a'), undefined, 'an agreement has a direction');
  });

  test('denials: not an organisation, not a party, not a member, id taken (also within one block), period over', () => {
    const { chain, orgA, orgB, orgC, drA, patient } = world();
    const time = chain.time;
    const statuses = chain.run(
      propose(drA, 'dsa-1', orgA, orgB),
      propose(patient, 'dsa-1', orgA, orgB),
      propose(orgC, 'dsa-1', orgA, orgB),
      propose(orgA, 'dsa-1', orgA, new Actor('org-x')),
      propose(orgA, 'dsa-1', new Actor('org-x'), orgA),
      propose(orgA, 'dsa-1', orgA, orgB),
      propose(orgA, 'dsa-1', orgA, orgC),
      propose(orgB, 'dsa-1', orgB, orgA),
      propose(orgA, 'dsa-2', orgA, orgB, { period: { start: T0, end: time } }),
      propose(orgA, 'dsa-3', orgA, orgB, { period: { start: T0, end: time + 1 } }),
    );
    assert.deepEqual(statuses, [
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:not-a-party',
      'denied:not-a-member',
      'denied:not-a-member',
      'ok',
      'denied:agreement-exists',
      'denied:agreement-exists',
      'denied:agreement-expired',
      'ok',
    ]);
    assert.equal(agreement(chain, 'dsa-1')?.recipient, 'org-b');
    assert.equal(agreement(chain, 'dsa-2'), undefined);
    assert.deepEqual(pair(chain, 'org-a>org-b'), { agreementIds: ['dsa-1', 'dsa-3'] });
  });

  test('a party proposing to itself is malformed, whoever signs: bad-body comes before party and membership checks', () => {
    const { chain, orgA, orgC, drA } = world();
    const outsider = new Actor('org-x');
    assert.deepEqual(
      chain.run(
        propose(orgC, 'dsa-1', orgA, orgA),
        propose(orgA, 'dsa-1', outsider, outsider),
        propose(drA, 'dsa-1', orgA, orgA),
      ),
      ['invalid:bad-body', 'invalid:bad-body', 'denied:not-an-organisation'],
    );
  });

  test('malformed bodies are invalid; every limit is inclusive', () => {
    const { chain, orgA, orgB } = world();
    const base = proposal('dsa-1', orgA, orgB);
    const withTerms = (extra: JsonObject): JsonObject => ({ ...base, terms: terms(extra) });
    const many = (make: (i: number) => string, n: number): string[] => range(n).map(make);
    const type = (i: number): string => `R${letters(i)}`;
    const code = (i: number): string => `c.${i}_x-Y`;
    const bad: JsonObject[] = [
      { ...base, note: 'x' },
      without(base, 'agreementId'),
      without(base, 'discloser'),
      without(base, 'recipient'),
      without(base, 'terms'),
      { ...base, agreementId: 'DSA-1' },
      { ...base, agreementId: 'a' },
      { ...base, agreementId: 'a'.repeat(65) },
      { ...base, agreementId: '-dsa' },
      { ...base, agreementId: 7 },
      { ...base, discloser: 'Org-A' },
      { ...base, recipient: 'org-a' },
      { ...base, recipient: null },
      { ...base, terms: null },
      { ...base, terms: [] },
      { ...base, terms: 'TREAT' },
      { ...base, terms: { ...TERMS, note: 1 } },
      ...Object.keys(TERMS).map((field) => ({ ...base, terms: without(TERMS, field) })),
      withTerms({ resourceTypes: 'Observation' }),
      withTerms({ resourceTypes: ['observation'] }),
      withTerms({ resourceTypes: ['Obs1'] }),
      withTerms({ resourceTypes: ['O'] }),
      withTerms({ resourceTypes: ['Observation', 'Observation'] }),
      withTerms({ resourceTypes: many(type, AGREEMENT_TERM_ENTRY_MAX + 1) }),
      withTerms({ resourceTypes: [1] }),
      withTerms({ excludeLabels: [''] }),
      withTerms({ excludeLabels: ['-PSY'] }),
      withTerms({ excludeLabels: ['P SY'] }),
      withTerms({ excludeLabels: ['x'.repeat(65)] }),
      withTerms({ excludeLabels: ['PSY', 'PSY'] }),
      withTerms({ excludeLabels: many(code, AGREEMENT_TERM_ENTRY_MAX + 1) }),
      withTerms({ excludeLabels: [null] }),
      withTerms({ excludeLabels: null }),
      withTerms({ purposes: [] }),
      withTerms({ purposes: 'TREAT' }),
      withTerms({ purposes: ['TREAT', 'TREAT'] }),
      withTerms({ purposes: ['TRE/AT'] }),
      withTerms({ purposes: many(code, AGREEMENT_TERM_ENTRY_MAX + 1) }),
      withTerms({ period: null }),
      withTerms({ period: { start: T0 } }),
      withTerms({ period: { end: null } }),
      withTerms({ period: { start: T0, end: null, zone: 'UTC' } }),
      withTerms({ period: { start: -1, end: null } }),
      withTerms({ period: { start: T0 + 0.5, end: null } }),
      withTerms({ period: { start: String(T0), end: null } }),
      withTerms({ period: { start: 2 ** 53, end: null } }),
      withTerms({ period: { start: T0, end: T0 } }),
      withTerms({ period: { start: T0, end: T0 - 1 } }),
      withTerms({ period: { start: T0, end: T0 + 1.5 } }),
      withTerms({ period: { start: T0, end: 'never' } }),
      withTerms({ redisclosure: 'no' }),
      withTerms({ redisclosure: 0 }),
      withTerms({ redisclosure: null }),
    ];
    assert.deepEqual(
      chain.run(...bad.map((body) => orgA.tx('agreements.propose', body))),
      bad.map(() => 'invalid:bad-body'),
    );
    const time = chain.time;
    const edge: JsonObject = {
      ...base,
      agreementId: `a${'-9'.repeat(31)}z`.slice(0, 64),
      terms: {
        resourceTypes: [...many(type, AGREEMENT_TERM_ENTRY_MAX - 1), `M${'e'.repeat(63)}`],
        excludeLabels: [...many(code, AGREEMENT_TERM_ENTRY_MAX - 1), `9${'_'.repeat(63)}`],
        purposes: many(code, AGREEMENT_TERM_ENTRY_MAX),
        period: { start: 0, end: Number.MAX_SAFE_INTEGER },
        redisclosure: true,
      },
    };
    const shortest = {
      ...base,
      agreementId: 'd1',
      terms: terms({ period: { start: time, end: time + 1 } }),
    };
    assert.deepEqual(
      chain.run(orgA.tx('agreements.propose', edge), orgA.tx('agreements.propose', shortest)),
      ['ok', 'ok'],
    );
    assert.equal((edge['agreementId'] as string).length, 64);
    assert.deepEqual(agreement(chain, edge['agreementId'] as string)?.terms, edge['terms']);
  });

  test(`a pair holds at most ${AGREEMENTS_PER_PAIR_MAX} agreements not yet terminated; terminating one frees a place`, () => {
    const { chain, orgA, orgB } = world();
    const ids = range(AGREEMENTS_PER_PAIR_MAX + 1).map((i) => `dsa-${String(i).padStart(2, '0')}`);
    const statuses = chain.run(
      ...ids.map((id) => propose(orgA, id, orgA, orgB)),
      propose(orgB, 'dsa-back', orgB, orgA),
    );
    assert.deepEqual(statuses, [
      ...ids.slice(0, -1).map(() => 'ok'),
      'denied:too-many-agreements',
      'ok',
    ]);
    assert.deepEqual(pair(chain, 'org-a>org-b'), { agreementIds: ids.slice(0, -1) });
    const last = ids.at(-1)!;
    assert.deepEqual(
      chain.run(countersign(orgB, 'dsa-07'), propose(orgA, last, orgA, orgB)),
      ['ok', 'denied:too-many-agreements'],
      'countersigning frees nothing',
    );
    assert.deepEqual(
      chain.run(
        terminate(orgB, 'dsa-07'),
        propose(orgA, last, orgA, orgB),
        propose(orgA, 'dsa-99', orgA, orgB),
      ),
      ['ok', 'ok', 'denied:too-many-agreements'],
    );
    assert.equal(
      (pair(chain, 'org-a>org-b') as { agreementIds: string[] }).agreementIds.length,
      AGREEMENTS_PER_PAIR_MAX,
    );
  });
});

describe('agreements.countersign', () => {
  test('the other party countersigns: proposed becomes active, with an event', () => {
    const { chain, orgA, orgB } = world();
    assert.deepEqual(
      chain.run(propose(orgA, 'dsa-1', orgA, orgB), propose(orgB, 'dsa-2', orgA, orgB)),
      ['ok', 'ok'],
    );
    const proposed = agreement(chain, 'dsa-1');
    const time = chain.time;
    const execution = chain.execute([countersign(orgB, 'dsa-1'), countersign(orgA, 'dsa-2')]);
    assert.deepEqual(execution.statuses, ['ok', 'ok']);
    assert.deepEqual(execution.events, [
      { type: 'agreements.active', subject: 'dsa-1' },
      { type: 'agreements.active', subject: 'dsa-2' },
    ]);
    assert.deepEqual(agreement(chain, 'dsa-1'), {
      ...proposed,
      status: 'active',
      activatedAt: time,
    });
    assert.equal(
      agreement(chain, 'dsa-2')?.status,
      'active',
      'the discloser countersigns what the recipient proposed',
    );
    assert.deepEqual(pair(chain, 'org-a>org-b'), { agreementIds: ['dsa-1', 'dsa-2'] });
  });

  test('denials: the proposer, a third organisation, a person, an unknown id, twice, after termination, after the period; malformed bodies', () => {
    const { chain, orgA, orgB, orgC, drB, patient } = world();
    const time = chain.time;
    const ends = { period: { start: T0, end: time + 2000 } };
    assert.deepEqual(
      chain.run(
        propose(orgA, 'dsa-1', orgA, orgB),
        propose(orgB, 'dsa-2', orgA, orgB),
        propose(orgA, 'dsa-3', orgA, orgB),
        propose(orgA, 'dsa-4', orgA, orgB, ends),
      ),
      ['ok', 'ok', 'ok', 'ok'],
    );
    const statuses = chain.run(
      countersign(orgA, 'dsa-1'),
      countersign(orgB, 'dsa-2'),
      countersign(orgC, 'dsa-1'),
      countersign(drB, 'dsa-1'),
      countersign(patient, 'dsa-1'),
      countersign(orgB, 'dsa-x'),
      ...(
        [
          {},
          { agreementId: 'dsa-1', note: 1 },
          { agreementId: 'DSA-1' },
          { agreementId: ['dsa-1'] },
        ] as JsonObject[]
      ).map((body) => orgB.tx('agreements.countersign', body)),
      countersign(orgB, 'dsa-1'),
      countersign(orgB, 'dsa-1'),
      countersign(orgA, 'dsa-1'),
      terminate(orgA, 'dsa-3'),
      countersign(orgB, 'dsa-3'),
    );
    assert.deepEqual(statuses, [
      'denied:proposer-cannot-countersign',
      'denied:proposer-cannot-countersign',
      'denied:not-a-party',
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:no-such-agreement',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'ok',
      'denied:agreement-active',
      'denied:agreement-active',
      'ok',
      'denied:agreement-terminated',
    ]);
    assert.equal(agreement(chain, 'dsa-2')?.status, 'proposed');
    assert.equal(chain.time, time + 2000, 'the period of dsa-4 is over at this block');
    assert.deepEqual(chain.run(countersign(orgB, 'dsa-4')), ['denied:agreement-expired']);
    assert.equal(agreement(chain, 'dsa-4')?.status, 'proposed');
  });

  test('after a party is removed from the consortium its proposals cannot be countersigned, and its partners still terminate', () => {
    const { chain, orgA, orgB, orgC } = world();
    assert.deepEqual(
      chain.run(
        propose(orgC, 'dsa-1', orgC, orgA),
        propose(orgA, 'dsa-2', orgA, orgC),
        propose(orgC, 'dsa-3', orgB, orgC),
      ),
      ['ok', 'ok', 'ok'],
    );
    const removal = orgA.tx('membership.propose', { action: 'remove', orgId: 'org-c' });
    assert.deepEqual(
      chain.run(removal, orgB.tx('membership.vote', { proposalId: idOf(removal), approve: true })),
      ['ok', 'ok'],
    );
    assert.equal((chain.get(ORG_TABLE, 'org-c') as OrgRow | undefined)?.status, 'removed');
    const statuses = chain.run(
      countersign(orgA, 'dsa-1'),
      countersign(orgC, 'dsa-2'),
      countersign(orgB, 'dsa-3'),
      propose(orgA, 'dsa-4', orgA, orgC),
      terminate(orgA, 'dsa-2'),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-member',
      'denied:signer-inactive',
      'denied:not-a-member',
      'denied:not-a-member',
      'ok',
    ]);
    assert.deepEqual(
      [
        agreement(chain, 'dsa-1')?.status,
        agreement(chain, 'dsa-2')?.status,
        agreement(chain, 'dsa-3')?.status,
      ],
      ['proposed', 'terminated', 'proposed'],
    );
  });
});

describe('agreements.terminate', () => {
  test('either party terminates a proposed or an active agreement; it leaves the pair index and stays on record', () => {
    const { chain, orgA, orgB } = world();
    assert.deepEqual(
      chain.run(
        propose(orgA, 'dsa-1', orgA, orgB),
        propose(orgA, 'dsa-2', orgA, orgB),
        propose(orgB, 'dsa-3', orgB, orgA),
      ),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(chain.run(countersign(orgB, 'dsa-1')), ['ok']);
    const active = agreement(chain, 'dsa-1');
    const proposed = agreement(chain, 'dsa-2');
    const time = chain.time;
    const execution = chain.execute([terminate(orgB, 'dsa-1'), terminate(orgA, 'dsa-2')]);
    assert.deepEqual(execution.statuses, ['ok', 'ok']);
    assert.deepEqual(execution.events, [
      { type: 'agreements.terminated', subject: 'dsa-1' },
      { type: 'agreements.terminated', subject: 'dsa-2' },
    ]);
    assert.deepEqual(agreement(chain, 'dsa-1'), {
      ...active,
      status: 'terminated',
      terminatedAt: time,
      terminatedBy: 'org-b',
    });
    assert.deepEqual(agreement(chain, 'dsa-2'), {
      ...proposed,
      status: 'terminated',
      terminatedAt: time,
      terminatedBy: 'org-a',
    });
    assert.ok(active?.activatedAt !== null && proposed?.activatedAt === null);
    assert.equal(pair(chain, 'org-a>org-b'), undefined, 'an empty index is deleted');
    assert.deepEqual(pair(chain, 'org-b>org-a'), { agreementIds: ['dsa-3'] });
  });

  test('denials: twice, a third organisation, a person, an unknown id; malformed bodies', () => {
    const { chain, orgA, orgB, orgC, drA, patient } = world();
    assert.deepEqual(chain.run(propose(orgA, 'dsa-1', orgA, orgB)), ['ok']);
    const statuses = chain.run(
      terminate(orgC, 'dsa-1'),
      terminate(drA, 'dsa-1'),
      terminate(patient, 'dsa-1'),
      terminate(orgA, 'dsa-x'),
      ...([{}, { agreementId: 'dsa-1', reason: 'x' }, { agreementId: 1 }] as JsonObject[]).map(
        (body) => orgA.tx('agreements.terminate', body),
      ),
      terminate(orgA, 'dsa-1'),
      terminate(orgA, 'dsa-1'),
      terminate(orgB, 'dsa-1'),
    );
    assert.deepEqual(statuses, [
      'denied:not-a-party',
      'denied:not-an-organisation',
      'denied:not-an-organisation',
      'denied:no-such-agreement',
      'invalid:bad-body',
      'invalid:bad-body',
      'invalid:bad-body',
      'ok',
      'denied:agreement-terminated',
      'denied:agreement-terminated',
    ]);
    assert.equal(agreement(chain, 'dsa-1')?.terminatedBy, 'org-a');
    assert.deepEqual(chain.run(orgA.tx('agreements.amend', { agreementId: 'dsa-1' })), [
      'invalid:unknown-type',
    ]);
  });

  test('replaying the same blocks on a fresh chain gives the same state and appHash', () => {
    const first = world();
    const { orgA, orgB, orgC } = first;
    const blocks = [
      [
        propose(orgA, 'dsa-1', orgA, orgB),
        propose(orgC, 'dsa-2', orgC, orgA),
        propose(orgB, 'dsa-3', orgA, orgB),
      ],
      [countersign(orgB, 'dsa-1'), countersign(orgA, 'dsa-2'), terminate(orgA, 'dsa-3')],
      [terminate(orgC, 'dsa-2'), countersign(orgA, 'dsa-3')],
    ];
    const executions = blocks.map((txs) => first.chain.execute(txs));
    assert.deepEqual(
      executions.flatMap((execution) => execution.statuses),
      ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'denied:agreement-terminated'],
    );
    const second = world();
    assert.deepEqual(
      blocks.map((txs) => second.chain.execute(txs)),
      executions,
    );
    assert.equal(second.chain.appHash, first.chain.appHash);
  });
});

describe('coveringAgreement', () => {
  const START = T0 + 100_000;
  const END = T0 + 200_000;

  test('each reason, from one agreement: none, not active, period, purpose, resource type, label; and direction', () => {
    const { chain, orgA, orgB } = world();
    const query = (extra: Partial<DisclosureQuery> = {}): DisclosureQuery => ({
      discloser: 'org-a',
      recipient: 'org-b',
      resourceType: 'Observation',
      labels: ['N'],
      purpose: 'TREAT',
      time: START + 5000,
      ...extra,
    });
    const reason = (extra: Partial<DisclosureQuery> = {}): string | undefined => {
      const decision = coveringAgreement(chain, query(extra));
      return 'reason' in decision ? decision.reason : `covered by ${decision.agreementId}`;
    };
    assert.equal(reason(), 'denied:no-agreement');
    const scope = {
      resourceTypes: ['Observation', 'Condition'],
      excludeLabels: ['PSY', 'HIV'],
      purposes: ['TREAT', 'ETREAT'],
      period: { start: START, end: END },
    };
    assert.deepEqual(chain.run(propose(orgA, 'dsa-1', orgA, orgB, scope)), ['ok']);
    assert.equal(reason(), 'denied:no-agreement', 'a proposed agreement covers nothing');
    assert.deepEqual(chain.run(countersign(orgB, 'dsa-1')), ['ok']);
    assert.deepEqual(coveringAgreement(chain, query()), { agreementId: 'dsa-1' });
    assert.equal(
      reason({ time: START, resourceType: 'Condition', purpose: 'ETREAT', labels: [] }),
      'covered by dsa-1',
    );
    assert.equal(reason({ time: END - 1 }), 'covered by dsa-1');
    assert.equal(reason({ time: START - 1 }), 'denied:agreement-expired', 'not started yet');
    assert.equal(reason({ time: END }), 'denied:agreement-expired');
    assert.equal(reason({ purpose: 'HPAYMT' }), 'denied:agreement-purpose');
    assert.equal(reason({ resourceType: 'MedicationRequest' }), 'denied:agreement-scope');
    assert.equal(reason({ labels: ['N', 'HIV'] }), 'denied:agreement-label');
    assert.equal(reason({ labels: ['hiv'] }), 'covered by dsa-1', 'codes compare exactly');
    assert.equal(
      reason({ time: END, purpose: 'HPAYMT', labels: ['PSY'] }),
      'denied:agreement-expired',
      'an agreement fails at its first failing check',
    );
    assert.equal(
      reason({ purpose: 'HPAYMT', resourceType: 'Patient' }),
      'denied:agreement-purpose',
    );
    assert.equal(reason({ resourceType: 'Patient', labels: ['PSY'] }), 'denied:agreement-scope');
    assert.equal(
      reason({ discloser: 'org-b', recipient: 'org-a' }),
      'denied:no-agreement',
      'an agreement has a direction',
    );
    assert.equal(reason({ recipient: 'org-c' }), 'denied:no-agreement');
    assert.deepEqual(chain.run(terminate(orgA, 'dsa-1')), ['ok']);
    assert.equal(reason(), 'denied:no-agreement', 'a terminated agreement covers nothing');
  });

  test('the first covering agreement by sorted id wins; otherwise the agreement that got furthest decides the reason', () => {
    const { chain, orgA, orgB } = world();
    const query: DisclosureQuery = {
      discloser: 'org-a',
      recipient: 'org-b',
      resourceType: 'Observation',
      labels: ['PSY'],
      purpose: 'TREAT',
      time: chain.time,
    };
    const decide = (extra: Partial<DisclosureQuery> = {}) =>
      coveringAgreement(chain, { ...query, ...extra });
    activate(chain, 'dsa-5', orgA, orgB, { purposes: ['HPAYMT'] });
    activate(chain, 'dsa-1', orgA, orgB, { period: { start: T0, end: chain.time + 2000 } });
    assert.deepEqual(
      decide({ time: chain.time }),
      { reason: 'denied:agreement-purpose' },
      'purpose beats period',
    );
    activate(chain, 'dsa-4', orgA, orgB, { resourceTypes: ['Condition'] });
    assert.deepEqual(
      decide({ time: chain.time }),
      { reason: 'denied:agreement-scope' },
      'resource type beats purpose',
    );
    activate(chain, 'dsa-3', orgA, orgB);
    assert.deepEqual(
      decide({ time: chain.time }),
      { reason: 'denied:agreement-label' },
      'label beats resource type; empty resourceTypes covers every type',
    );
    assert.deepEqual(decide({ time: chain.time, labels: [] }), { agreementId: 'dsa-3' });
    activate(chain, 'dsa-9', orgA, orgB, { excludeLabels: [] });
    activate(chain, 'dsa-7', orgA, orgB, { excludeLabels: ['HIV'] });
    assert.deepEqual(chain.run(propose(orgA, 'dsa-0', orgA, orgB, { excludeLabels: [] })), ['ok']);
    const time = chain.time;
    assert.deepEqual(
      decide({ time }),
      { agreementId: 'dsa-7' },
      'the lowest id that covers, proposed ones skipped',
    );
    assert.deepEqual(decide({ time, labels: ['PSY', 'HIV'] }), { agreementId: 'dsa-9' });
    assert.deepEqual(decide({ time, labels: ['HIV'] }), { agreementId: 'dsa-3' });
    assert.deepEqual(decide({ time, labels: [] }), { agreementId: 'dsa-3' });
    assert.deepEqual(decide({ time, purpose: 'HPAYMT', labels: [] }), { agreementId: 'dsa-5' });
    assert.deepEqual(decide({ time, purpose: 'HRESCH' }), { reason: 'denied:agreement-purpose' });
  });

  test('expiry is by block time: the agreement stays active on record, covers until its end, and no transaction is needed', () => {
    const { chain, orgA, orgB, orgC } = world();
    const end = chain.time + 5000;
    activate(chain, 'dsa-1', orgA, orgB, { period: { start: T0, end } });
    assert.deepEqual(
      chain.run(propose(orgA, 'dsa-2', orgA, orgC, { period: { start: T0, end } })),
      ['ok'],
    );
    const query = (time: number): DisclosureQuery => ({
      discloser: 'org-a',
      recipient: 'org-b',
      resourceType: 'Observation',
      labels: [],
      purpose: 'TREAT',
      time,
    });
    assert.deepEqual(coveringAgreement(chain, query(chain.time)), { agreementId: 'dsa-1' });
    while (chain.time < end) assert.deepEqual(chain.run(), []);
    assert.equal(chain.time, end);
    assert.deepEqual(coveringAgreement(chain, query(chain.time)), {
      reason: 'denied:agreement-expired',
    });
    assert.equal(agreement(chain, 'dsa-1')?.status, 'active');
    chain.time += 60_000;
    assert.deepEqual(
      chain.run(
        countersign(orgC, 'dsa-2'),
        propose(orgA, 'dsa-3', orgA, orgB, { period: { start: T0, end } }),
      ),
      ['denied:agreement-expired', 'denied:agreement-expired'],
    );
    assert.deepEqual(
      chain.run(terminate(orgB, 'dsa-1')),
      ['ok'],
      'an expired agreement may still be terminated',
    );
  });

  type Spec = {
    status: AgreementRow['status'];
    start: number;
    length: number | null;
    purposes: string[];
    resourceTypes: string[];
    excludeLabels: string[];
  };
  const subset = <T>(values: readonly T[]) => fc.subarray([...values]);
  const spec: fc.Arbitrary<Spec> = fc.record({
    status: fc.constantFrom('proposed', 'active', 'terminated'),
    start: fc.integer({ min: 0, max: 40 }),
    length: fc.option(fc.integer({ min: 1, max: 40 })),
    purposes: fc.subarray(['TREAT', 'HPAYMT'], { minLength: 1 }),
    resourceTypes: subset(['Observation', 'Condition']),
    excludeLabels: subset(['PSY', 'HIV']),
  });
  const queryOf: fc.Arbitrary<DisclosureQuery> = fc.record({
    discloser: fc.constant('org-a'),
    recipient: fc.constant('org-b'),
    resourceType: fc.constantFrom('Observation', 'Condition', 'Patient'),
    labels: subset(['PSY', 'HIV', 'N']),
    purpose: fc.constantFrom('TREAT', 'HPAYMT', 'HRESCH'),
    time: fc.integer({ min: 0, max: 90 }),
  });
  const rowOf = ({ status, start, length, ...scope }: Spec, i: number): AgreementRow => {
    const terms: AgreementTerms = {
      ...scope,
      period: { start, end: length === null ? null : start + length },
      redisclosure: false,
    };
    return {
      agreementId: `dsa-${i}`,
      discloser: 'org-a',
      recipient: 'org-b',
      proposedBy: 'org-a',
      terms,
      status,
      proposedAt: 0,
      activatedAt: null,
      terminatedAt: null,
      terminatedBy: null,
    };
  };
  /** A state holding `rows` as the agreements from org-a to org-b. */
  const stateOf = (rows: readonly AgreementRow[]): StateReader => ({
    get(table, key) {
      if (table === AGREEMENT_TABLE)
        return rows.find((row) => row.agreementId === key) as JsonValue | undefined;
      return table === AGREEMENT_PAIR_TABLE && key === 'org-a>org-b' && rows.length > 0
        ? { agreementIds: rows.map((row) => row.agreementId).sort() }
        : undefined;
    },
  });
  const ORDER: readonly AgreementRefusal[] = [
    'denied:no-agreement',
    'denied:agreement-expired',
    'denied:agreement-purpose',
    'denied:agreement-scope',
    'denied:agreement-label',
  ];

  test('over several agreements, the decision composes the decisions for each one alone', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 5 }), queryOf, (specs, query) => {
        const rows = specs.map(rowOf);
        const alone = rows.map((row) => coveringAgreement(stateOf([row]), query));
        const covering = alone
          .flatMap((decision) => ('agreementId' in decision ? [decision.agreementId] : []))
          .sort();
        const reasons = alone.flatMap((decision) =>
          'reason' in decision ? [ORDER.indexOf(decision.reason)] : [],
        );
        const expected =
          covering.length > 0
            ? { agreementId: covering[0]! }
            : { reason: ORDER[Math.max(0, ...reasons)]! };
        assert.deepEqual(coveringAgreement(stateOf(rows), query), expected);
      }),
      { numRuns: 300 },
    );
  });
});
