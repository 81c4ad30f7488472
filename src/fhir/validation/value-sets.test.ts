import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalUrl, expandValueSet, indexTerminology } from './value-sets.js';

const SYSTEM = 'http://example.org/cs';

function terminology(valueSet: object, codeSystem?: object) {
  const entries = [
    { resource: { resourceType: 'ValueSet', url: 'http://example.org/vs', ...valueSet } },
  ];
  if (codeSystem !== undefined)
    entries.push({ resource: { resourceType: 'CodeSystem', url: SYSTEM, ...codeSystem } });
  return indexTerminology([{ resourceType: 'Bundle', entry: entries }]);
}

test('expands explicit concepts and whole complete code systems, nested concepts included', () => {
  const explicit = expandValueSet(
    'http://example.org/vs|1.0',
    terminology({
      compose: { include: [{ system: SYSTEM, concept: [{ code: 'a' }, { code: 'b' }] }] },
    }),
  );
  assert.ok(explicit.ok);
  assert.deepEqual([...explicit.valueSet.codes], ['a', 'b']);
  assert.deepEqual([...explicit.valueSet.codings], [`${SYSTEM}|a`, `${SYSTEM}|b`]);
  const whole = expandValueSet(
    'http://example.org/vs',
    terminology(
      { compose: { include: [{ system: SYSTEM }] } },
      { content: 'complete', concept: [{ code: 'x', concept: [{ code: 'y' }] }] },
    ),
  );
  assert.ok(whole.ok);
  assert.deepEqual([...whole.valueSet.codes], ['x', 'y']);
});

test('skips, with a reason, what cannot be enumerated exactly', () => {
  const cases: [object, object | undefined, RegExp][] = [
    [
      {
        compose: {
          include: [{ system: SYSTEM, filter: [{ property: 'concept', op: 'is-a', value: 'x' }] }],
        },
      },
      undefined,
      /filter/,
    ],
    [
      { compose: { include: [{ valueSet: ['http://example.org/other'] }] } },
      undefined,
      /imports value sets/,
    ],
    [
      {
        compose: {
          include: [{ system: SYSTEM }],
          exclude: [{ system: SYSTEM, concept: [{ code: 'x' }] }],
        },
      },
      undefined,
      /excludes/,
    ],
    [{ compose: { include: [{ system: SYSTEM }] } }, undefined, /not bundled/],
    [
      { compose: { include: [{ system: SYSTEM }] } },
      { content: 'fragment', concept: [{ code: 'x' }] },
      /not bundled complete/,
    ],
    [{ expansion: { contains: [] } }, undefined, /no compose/],
  ];
  for (const [valueSet, codeSystem, reason] of cases) {
    const expansion = expandValueSet('http://example.org/vs', terminology(valueSet, codeSystem));
    assert.ok(!expansion.ok && reason.test(expansion.reason), JSON.stringify(expansion));
  }
  const missing = expandValueSet('http://example.org/absent', terminology({}));
  assert.ok(!missing.ok && /value set is not bundled/.test(missing.reason));
});

test('canonicalUrl drops the version', () => {
  assert.equal(
    canonicalUrl('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1'),
    'http://hl7.org/fhir/ValueSet/administrative-gender',
  );
  assert.equal(
    canonicalUrl('http://hl7.org/fhir/ValueSet/administrative-gender'),
    'http://hl7.org/fhir/ValueSet/administrative-gender',
  );
});
