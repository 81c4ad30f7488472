/**
 * Search semantics on small hand-made indexes, with expected answers worked out by hand from
 * R4 search.html: date prefixes against every precision, quantity prefixes and units, token
 * forms, modifiers, escaping, sort order of missing values, replacement, and strict errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { SearchIndex } from './search-index.js';

const NOW_MS = Date.UTC(2024, 0, 1);

/** An index of `resources` (id → resource body without resourceType and id) of one type. */
function indexOf(type: string, resources: Record<string, JsonObject>): SearchIndex {
  const index = new SearchIndex(':memory:', { now: () => NOW_MS });
  let lastUpdated = NOW_MS;
  for (const [id, body] of Object.entries(resources))
    index.put({ resourceType: type, id, ...body }, { patientId: null, lastUpdated: lastUpdated++ });
  return index;
}

function found(index: SearchIndex, type: string, query: string): string[] {
  return index.search(type, new URLSearchParams(`${query}&_count=1000`)).ids.sort();
}

function rejects(
  index: SearchIndex,
  type: string,
  query: string,
  code: string,
  mentions: string,
  hides?: string,
): void {
  assert.throws(
    () => index.search(type, new URLSearchParams(query)),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, query);
      assert.equal(error.status, 400, query);
      assert.equal(error.issues[0]!.code, code, query);
      assert.ok(
        error.message.includes(mentions),
        `${query}: '${error.message}' should name ${mentions}`,
      );
      if (hides !== undefined)
        assert.ok(
          !error.message.includes(hides),
          `${query}: '${error.message}' must not echo the value`,
        );
      return true;
    },
  );
}

test('date prefixes against the month 2020-03, over targets of every precision and open Periods', () => {
  const index = indexOf('Observation', {
    A: { effectiveDateTime: '2020-02-29T23:59:59Z' },
    B: { effectiveDateTime: '2020-03-01' },
    C: { effectiveDateTime: '2020-03-15T10:00:00+01:00' },
    D: { effectiveDateTime: '2020-03-31T23:59:59Z' },
    E: { effectiveDateTime: '2020-04-01T00:00:00Z' },
    F: { effectivePeriod: { start: '2020-02-15', end: '2020-03-10' } },
    G: { effectivePeriod: { start: '2020-03-20' } },
    H: { effectiveDateTime: '2020' },
    I: { effectivePeriod: { end: '2020-02-01' } },
    J: { effectiveDateTime: '2019-01-01' },
    K: { effectiveDateTime: '2020-06-15' },
    L: { status: 'final' },
  });
  const expected: Record<string, string> = {
    eq: 'BCD',
    ne: 'AEFGHIJK',
    gt: 'EGHK',
    lt: 'AFHIJ',
    ge: 'BCDEGHK',
    le: 'ABCDFHIJ',
    sa: 'EK',
    eb: 'AIJ',
    // 10% of the 1370 days from 2020-04-01 to now widens the month by about 137 days each way.
    ap: 'ABCDEFGHIK',
  };
  for (const [prefix, ids] of Object.entries(expected))
    assert.deepEqual(found(index, 'Observation', `date=${prefix}2020-03`), [...ids], prefix);
  assert.deepEqual(found(index, 'Observation', 'date=2020-03'), [...'BCD'], 'no prefix is eq');
  assert.deepEqual(found(index, 'Observation', 'date:missing=true'), ['L']);
  index.close();
});

test('the examples of R4 search.html#date', () => {
  const index = indexOf('Observation', {
    midnight: { effectiveDateTime: '2013-01-14T00:00:00Z' },
    ten: { effectiveDateTime: '2013-01-14T10:00:00Z' },
    nextDay: { effectiveDateTime: '2013-01-15T00:00:00Z' },
    wholeDay: { effectiveDateTime: '2013-01-14' },
    fromJanuary: { effectivePeriod: { start: '2013-01-21' } },
  });
  assert.deepEqual(found(index, 'Observation', 'date=eq2013-01-14'), [
    'midnight',
    'ten',
    'wholeDay',
  ]);
  assert.deepEqual(found(index, 'Observation', 'date=ne2013-01-14'), ['fromJanuary', 'nextDay']);
  assert.ok(found(index, 'Observation', 'date=lt2013-01-14T10:00').includes('wholeDay'));
  assert.ok(found(index, 'Observation', 'date=gt2013-01-14T10:00').includes('wholeDay'));
  assert.ok(found(index, 'Observation', 'date=ge2013-03-14').includes('fromJanuary'));
  assert.deepEqual(found(index, 'Observation', 'date=ge2013-01-14T10:00:00Z'), [
    'fromJanuary',
    'nextDay',
    'ten',
    'wholeDay',
  ]);
  assert.deepEqual(
    found(index, 'Observation', 'date=2013-01-14T10:00:00 00:00'),
    ['ten'],
    "a '+' the query string decoded to a space",
  );
  index.close();
});

test('ap near now widens by at least a day', () => {
  const index = indexOf('Observation', {
    today: { effectiveDateTime: '2024-01-01T12:00:00Z' },
    later: { effectiveDateTime: '2024-01-03T00:00:00Z' },
  });
  assert.deepEqual(found(index, 'Observation', 'date=ap2023-12-31'), ['today']);
  index.close();
});

test('quantity prefixes: eq by the precision of the number, gt/lt/ge/le against the number itself', () => {
  const values = { a: 5.34, b: 5.35, c: 5.4, d: 5.449, e: 5.45, f: 6 };
  const index = indexOf(
    'Observation',
    Object.fromEntries(
      Object.entries(values).map(([id, value]) => [
        id,
        {
          valueQuantity: {
            value,
            unit: 'mmol/L',
            system: 'http://unitsofmeasure.org',
            code: 'mmol/L',
          },
        },
      ]),
    ),
  );
  const expected: Record<string, string> = {
    eq: 'bcd',
    ne: 'aef',
    gt: 'def',
    lt: 'ab',
    ge: 'cdef',
    le: 'abc',
    sa: 'ef',
    eb: 'a',
    ap: 'abcde',
  };
  for (const [prefix, ids] of Object.entries(expected))
    assert.deepEqual(found(index, 'Observation', `value-quantity=${prefix}5.4`), [...ids], prefix);
  assert.deepEqual(
    found(index, 'Observation', 'value-quantity=5.40'),
    ['c'],
    '5.40 is [5.395, 5.405)',
  );
  assert.deepEqual(found(index, 'Observation', 'value-quantity=6e0'), ['f']);
  assert.deepEqual(
    found(index, 'Observation', 'value-quantity=5.4|http://unitsofmeasure.org|mmol/L'),
    [...'bcd'],
  );
  assert.deepEqual(found(index, 'Observation', 'value-quantity=5.4||mmol/L'), [...'bcd']);
  assert.deepEqual(
    found(index, 'Observation', 'value-quantity=5.4|http://unitsofmeasure.org|mg'),
    [],
  );
  assert.deepEqual(found(index, 'Observation', 'value-quantity=5.4|urn:other|mmol/L'), []);
  index.close();
});

test('token forms: code, system|code, |code, system|, :not and :missing', () => {
  const index = indexOf('Condition', {
    withSystem: { code: { coding: [{ system: 'urn:a', code: '1' }] } },
    withoutSystem: { code: { coding: [{ code: '1' }] } },
    other: { code: { coding: [{ system: 'urn:b', code: '2', display: 'Fièvre' }] } },
    textOnly: { code: { text: 'Fever of unknown origin' } },
    none: {},
  });
  assert.deepEqual(found(index, 'Condition', 'code=1'), ['withSystem', 'withoutSystem']);
  assert.deepEqual(found(index, 'Condition', 'code=urn:a|1'), ['withSystem']);
  assert.deepEqual(found(index, 'Condition', 'code=|1'), ['withoutSystem']);
  assert.deepEqual(found(index, 'Condition', 'code=urn:b|'), ['other']);
  assert.deepEqual(found(index, 'Condition', 'code:not=1'), ['none', 'other', 'textOnly']);
  assert.deepEqual(found(index, 'Condition', 'code:not=1,2'), ['none', 'textOnly']);
  assert.deepEqual(
    found(index, 'Condition', 'code:text=fiev'),
    ['other'],
    ':text folds accents, matches display',
  );
  assert.deepEqual(found(index, 'Condition', 'code:text=FEVER'), ['textOnly']);
  assert.deepEqual(found(index, 'Condition', 'code:missing=true'), ['none']);
  assert.deepEqual(found(index, 'Condition', 'code:missing=false'), [
    'other',
    'textOnly',
    'withSystem',
    'withoutSystem',
  ]);
  index.close();
});

test('string escapes: \\, is a comma in the value, a bare comma separates values', () => {
  const index = indexOf('Patient', {
    comma: { name: [{ family: 'Smith, Jr' }] },
    smith: { name: [{ family: 'Smithers' }] },
    jones: { name: [{ family: 'Jones' }] },
  });
  assert.deepEqual(found(index, 'Patient', 'family=smith\\, j'), ['comma']);
  assert.deepEqual(found(index, 'Patient', 'family=smith,jones'), ['comma', 'jones', 'smith']);
  assert.deepEqual(found(index, 'Patient', 'family:exact=Smith\\, Jr'), ['comma']);
  assert.deepEqual(found(index, 'Patient', 'family:contains=ITH'), ['comma', 'smith']);
  assert.deepEqual(
    found(index, 'Patient', 'family='),
    ['comma', 'jones', 'smith'],
    'an empty value is ignored',
  );
  index.close();
});

test('a resource without the sort value sorts last either way', () => {
  const index = indexOf('Patient', {
    b: { birthDate: '1990' },
    none: {},
    a: { birthDate: '1980' },
  });
  assert.deepEqual(index.search('Patient', new URLSearchParams('_sort=birthdate')).ids, [
    'a',
    'b',
    'none',
  ]);
  assert.deepEqual(index.search('Patient', new URLSearchParams('_sort=-birthdate')).ids, [
    'b',
    'a',
    'none',
  ]);
  index.close();
});

test('put replaces the earlier values of the same type and id, and only those', () => {
  const index = indexOf('Observation', { o1: { code: { coding: [{ code: 'old' }] } } });
  index.put(
    { resourceType: 'Condition', id: 'o1', code: { coding: [{ code: 'old' }] } },
    { patientId: null, lastUpdated: 1 },
  );
  const before = index.counts();
  index.put(
    { resourceType: 'Observation', id: 'o1', code: { coding: [{ code: 'new' }] } },
    { patientId: null, lastUpdated: 2 },
  );
  assert.deepEqual(found(index, 'Observation', 'code=old'), []);
  assert.deepEqual(found(index, 'Observation', 'code=new'), ['o1']);
  assert.deepEqual(found(index, 'Condition', 'code=old'), ['o1']);
  assert.deepEqual(index.counts(), before);
  assert.throws(
    () => index.put({ resourceType: 'Observation' }, { patientId: null, lastUpdated: 1 }),
    TypeError,
  );
  assert.throws(
    () =>
      index.put({ resourceType: 'Observation', id: 'x' }, { patientId: null, lastUpdated: 1.5 }),
    RangeError,
  );
  index.close();
});

test('strict handling: unknown parameters, modifiers and sort keys are 400 not-supported; bad values 400 value', () => {
  const index = indexOf('Patient', { p: { gender: 'male' } });
  rejects(
    index,
    'Patient',
    'secret-parameter=hidden-value',
    'not-supported',
    "'secret-parameter'",
    'hidden-value',
  );
  rejects(index, 'Patient', 'code=1', 'not-supported', "'code'");
  rejects(index, 'Organization', 'type=prov', 'not-supported', "'type'");
  rejects(index, 'Patient', 'family:below=x', 'not-supported', ':below');
  rejects(index, 'Patient', 'gender:exact=male', 'not-supported', "'gender'");
  rejects(index, 'Patient', 'birthdate:not=1970', 'not-supported', "'birthdate'");
  rejects(index, 'Patient', '_sort=shoe-size', 'not-supported', "'shoe-size'");
  rejects(index, 'Patient', '_sort=identifier', 'not-supported', "'identifier'");
  rejects(index, 'Patient', 'birthdate=ge1970-13-01', 'value', "'birthdate'", '1970-13-01');
  rejects(index, 'Patient', 'birthdate:missing=maybe', 'value', "'birthdate'", 'maybe');
  rejects(index, 'Patient', 'identifier=a|b|c', 'value', "'identifier'", 'a|b|c');
  rejects(index, 'Observation', 'value-quantity=lots', 'value', "'value-quantity'", 'lots');
  rejects(index, 'Observation', 'value-quantity=5|kg', 'value', "'value-quantity'");
  rejects(index, 'Patient', '_count=-1', 'value', '_count');
  rejects(index, 'Patient', '_offset=ten', 'value', '_offset');
  rejects(
    index,
    'Patient',
    `gender=${Array.from({ length: 101 }, () => 'male').join(',')}`,
    'too-costly',
    '100',
  );
  assert.deepEqual(
    found(index, 'Patient', '_total=accurate&_include=Patient:general-practitioner&gender=male'),
    ['p'],
  );
  assert.deepEqual(
    found(index, 'Organization', '_id=none'),
    [],
    'common parameters apply to any type',
  );
  index.close();
});
