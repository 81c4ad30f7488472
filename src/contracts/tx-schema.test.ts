import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  CONSENT_GRANT,
  CONSENT_RESTRICT,
  CONSENT_REVOKE,
  CONSENT_SET_BREAK_THE_GLASS,
} from './consent/index.js';
import {
  constant,
  count,
  defineTx,
  hex32,
  id,
  nullable,
  oneOf,
  optional,
  stringSet,
  text,
} from './tx-schema.js';
import { ID_PATTERN } from './body.js';

const EXAMPLE = defineTx('example.do', {
  subjectId: id,
  key: hex32,
  note: text(10),
  times: count,
  mode: oneOf(['a', 'b'] as const),
  tags: stringSet(ID_PATTERN, 3),
});
const GOOD = {
  subjectId: 'pt-1',
  key: 'ab'.repeat(32),
  note: 'hello',
  times: 3,
  mode: 'a',
  tags: ['yy', 'xx', 'xx'],
};

test('defineTx parses a good body, normalising sets as body.ts does', () => {
  assert.equal(EXAMPLE.type, 'example.do');
  assert.deepEqual(EXAMPLE.parse(GOOD), { ...GOOD, tags: ['xx', 'yy'] });
});

test('defineTx refuses an unknown field, a wrong type and a missing field', () => {
  assert.equal(EXAMPLE.parse({ ...GOOD, extra: 1 }), undefined);
  assert.equal(EXAMPLE.parse({ ...GOOD, times: '3' }), undefined);
  assert.equal(EXAMPLE.parse({ ...GOOD, mode: 'c' }), undefined);
  assert.equal(EXAMPLE.parse({ ...GOOD, note: 'far too long a note' }), undefined);
  const { key: _key, ...missing } = GOOD;
  assert.equal(EXAMPLE.parse(missing), undefined);
});

test('a built body parses back to the same value', () => {
  const parsed = EXAMPLE.parse(GOOD)!;
  assert.deepEqual(EXAMPLE.parse(EXAMPLE.build(parsed)), parsed);
  assert.deepEqual(CONSENT_REVOKE.build({ grantId: 'g-1' }), { grantId: 'g-1' });
  assert.deepEqual(CONSENT_SET_BREAK_THE_GLASS.build({ optIn: true }), { optIn: true });
});

test('a grant built from any valid terms parses back to them, with exactly the fields the contract allows', () => {
  const ids = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,10}$/);
  const sorted = (arbitrary: fc.Arbitrary<string>, min: number) =>
    fc.uniqueArray(arbitrary, { minLength: min, maxLength: 4 }).map((items) => [...items].sort());
  const terms = fc.record({
    grantee: fc.record({
      kind: fc.constantFrom('practitioner' as const, 'organisation' as const),
      id: ids,
    }),
    actions: fc.constantFrom<('read' | 'write')[]>(['read'], ['write'], ['read', 'write']),
    resourceTypes: sorted(fc.constantFrom('Observation', 'Condition'), 0),
    recordIds: sorted(ids, 0),
    excludeLabels: sorted(fc.constantFrom('PSY', 'R'), 0),
    purposes: sorted(fc.constantFrom('TREAT', 'ETREAT'), 1),
    period: fc.record({
      start: fc.nat(1000),
      end: fc.option(fc.integer({ min: 1001, max: 5000 })),
    }),
  });
  fc.assert(
    fc.property(ids, terms, (grantId, grantTerms) => {
      const body = CONSENT_GRANT.build({ grantId, terms: grantTerms });
      assert.deepEqual(Object.keys(body).sort(), [...CONSENT_GRANT.fields].sort());
      assert.deepEqual(CONSENT_GRANT.parse(body), {
        grantId,
        terms: JSON.parse(JSON.stringify(grantTerms)),
      });
    }),
  );
});

test('a restriction body keeps its wire field names', () => {
  const body = CONSENT_RESTRICT.build({
    restrictionId: 'r-1',
    terms: { resourceTypes: ['Observation'], labels: [], practitionerIds: ['pr-1'] },
  });
  assert.deepEqual(body, {
    restrictionId: 'r-1',
    resourceTypes: ['Observation'],
    labels: [],
    practitionerIds: ['pr-1'],
  });
});

const OPTIONS = defineTx('example.options', {
  subjectId: nullable(id),
  step: constant(1),
  mode: optional(oneOf(['a', 'b'] as const)),
});

test('an optional part may be absent but not malformed; a nullable one takes null but not absence', () => {
  assert.deepEqual(OPTIONS.parse({ subjectId: null, step: 1 }), { subjectId: null, step: 1 });
  assert.deepEqual(OPTIONS.parse({ subjectId: 'pt-1', step: 1, mode: 'b' }), {
    subjectId: 'pt-1',
    step: 1,
    mode: 'b',
  });
  assert.equal(OPTIONS.parse({ subjectId: 'pt-1', step: 1, mode: null }), undefined);
  assert.equal(OPTIONS.parse({ step: 1 }), undefined);
  assert.equal(OPTIONS.parse({ subjectId: null, step: 2 }), undefined);
  assert.deepEqual(OPTIONS.build({ subjectId: null, step: 1 }), { subjectId: null, step: 1 });
  assert.deepEqual(OPTIONS.build({ subjectId: 'pt-1', step: 1, mode: 'a' }), {
    subjectId: 'pt-1',
    step: 1,
    mode: 'a',
  });
});

test('parseExcept leaves the named parts to the caller but still refuses unknown fields', () => {
  const { mode: _mode, ...rest } = { ...GOOD, tags: ['xx', 'yy'] };
  assert.deepEqual(EXAMPLE.parseExcept({ ...GOOD, mode: 'c' }, ['mode']), rest);
  assert.equal(EXAMPLE.parseExcept({ ...GOOD, mode: 'c', extra: 1 }, ['mode']), undefined);
  assert.equal(EXAMPLE.parseExcept({ ...GOOD, times: -1 }, ['mode']), undefined);
});
