import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { DATE_HIGH_MAX, DATE_LOW_MIN } from './date-range.js';
import { extractValues, valuesAt, type IndexRow } from './extract.js';
import { foldString, normaliseReference } from './normalise.js';

function rows(resource: JsonObject, param: string): Omit<IndexRow, 'param'>[] {
  return extractValues(resource)
    .filter((row) => row.param === param)
    .map(({ param: _param, ...rest }) => rest);
}

const patient: JsonObject = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2024-05-01T09:30:00.000Z' },
  name: [
    {
      family: 'Núñez',
      given: ['José', 'María'],
      prefix: ['Sr.'],
      suffix: ['Jr'],
      text: 'José María Núñez',
    },
    { family: 'Ølsen' },
  ],
  gender: 'male',
  birthDate: '1970-06',
  identifier: [
    { system: 'urn:mrn', value: 'MRN-1', type: { text: 'Medical Record Number' } },
    { system: 'urn:empty' },
  ],
};

test('foldString drops case and accents, and folds letters without combining marks', () => {
  assert.equal(foldString('Adán'), 'adan');
  assert.equal(foldString('ADAN'), 'adan');
  assert.equal(foldString('Ølsen Straße'), 'olsen strasse');
  assert.equal(foldString('ﬁnn Çelik'), 'finn celik');
  assert.equal(foldString('İzmir'), 'izmir');
});

test('Patient names: name covers family, given, prefix, suffix and text; family and given only theirs', () => {
  const name = extractValues(patient).flatMap((row) =>
    row.param === 'name' && row.kind === 'string' ? [row.value] : [],
  );
  assert.deepEqual(
    name.sort(),
    ['jose', 'jose maria nunez', 'jr', 'maria', 'nunez', 'olsen', 'sr.'].sort(),
  );
  assert.deepEqual(rows(patient, 'family'), [
    { kind: 'string', value: 'nunez', exact: 'Núñez' },
    { kind: 'string', value: 'olsen', exact: 'Ølsen' },
  ]);
  assert.equal(rows(patient, 'given').length, 2);
});

test('Patient tokens, birthdate and the common parameters', () => {
  assert.deepEqual(rows(patient, 'gender'), [
    { kind: 'token', system: null, code: 'male', text: null },
  ]);
  assert.deepEqual(rows(patient, 'identifier'), [
    { kind: 'token', system: 'urn:mrn', code: 'MRN-1', text: 'medical record number' },
  ]);
  assert.deepEqual(rows(patient, 'birthdate'), [
    {
      kind: 'date',
      low: Date.parse('1970-06-01T00:00:00Z'),
      high: Date.parse('1970-07-01T00:00:00Z'),
    },
  ]);
  assert.deepEqual(rows(patient, '_id'), [{ kind: 'token', system: null, code: 'p1', text: null }]);
  const instant = Date.parse('2024-05-01T09:30:00.000Z');
  assert.deepEqual(rows(patient, '_lastUpdated'), [
    { kind: 'date', low: instant, high: instant + 1 },
  ]);
});

test('Observation: codings and text, effective[x] as Period, value-quantity, subject and patient', () => {
  const observation: JsonObject = {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: {
      coding: [
        { system: 'http://loinc.org', code: '8302-2', display: 'Body Height' },
        { display: 'no code here' },
      ],
      text: 'Größe',
    },
    effectivePeriod: { start: '2020-03-01' },
    valueQuantity: { value: 176.5, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
    subject: { reference: 'https://other.example/fhir/Patient/p1/_history/3' },
  };
  assert.deepEqual(rows(observation, 'code'), [
    { kind: 'token', system: 'http://loinc.org', code: '8302-2', text: 'body height' },
    { kind: 'token', system: null, code: null, text: 'no code here' },
    { kind: 'token', system: null, code: null, text: 'grosse' },
  ]);
  assert.deepEqual(rows(observation, 'date'), [
    { kind: 'date', low: Date.parse('2020-03-01T00:00:00Z'), high: DATE_HIGH_MAX },
  ]);
  assert.deepEqual(rows(observation, 'value-quantity'), [
    { kind: 'quantity', value: 176.5, system: 'http://unitsofmeasure.org', code: 'cm', unit: 'cm' },
  ]);
  assert.deepEqual(rows(observation, 'subject'), [
    { kind: 'reference', reference: 'Patient/p1', type: 'Patient', id: 'p1' },
  ]);
  assert.deepEqual(rows(observation, 'patient'), rows(observation, 'subject'));
});

test('patient is the subject only when the subject is a Patient', () => {
  const ofGroup: JsonObject = {
    resourceType: 'Observation',
    id: 'o2',
    subject: { reference: 'Group/g1' },
    effectivePeriod: { end: '2020' },
  };
  assert.equal(rows(ofGroup, 'subject').length, 1);
  assert.deepEqual(rows(ofGroup, 'patient'), []);
  assert.deepEqual(rows(ofGroup, 'date'), [
    { kind: 'date', low: DATE_LOW_MIN, high: Date.parse('2021-01-01T00:00:00Z') },
  ]);
  const unresolved: JsonObject = {
    resourceType: 'Observation',
    id: 'o3',
    subject: { reference: 'urn:uuid:0b1c' },
  };
  assert.deepEqual(
    rows(unresolved, 'subject'),
    [],
    'a reference naming no Type/id is no subject a target list allows',
  );
});

test('values of the wrong shape for their parameter are skipped', () => {
  const condition: JsonObject = {
    resourceType: 'Condition',
    id: 'c1',
    onsetString: 'in childhood',
    clinicalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
      ],
    },
    subject: { display: 'no reference' },
  };
  assert.deepEqual(rows(condition, 'onset-date'), []);
  assert.deepEqual(rows(condition, 'subject'), []);
  assert.equal(rows(condition, 'clinical-status').length, 1);
  const badPeriod: JsonObject = {
    resourceType: 'Encounter',
    id: 'e1',
    period: { start: 'yesterday', end: '2020' },
  };
  assert.deepEqual(rows(badPeriod, 'date'), []);
});

test('valuesAt flattens arrays and matches choice elements by their type suffix only', () => {
  const resource: JsonObject = {
    a: [{ b: [1, 2] }, { b: 3 }],
    valueQuantity: { value: 1 },
    valueString: 'x',
    valuesExtra: 'not a choice',
  };
  assert.deepEqual(valuesAt(resource, 'a.b'), [1, 2, 3]);
  assert.deepEqual(valuesAt(resource, 'value[x]'), [{ value: 1 }, 'x']);
  assert.deepEqual(valuesAt(resource, 'missing.path'), []);
});

test('extractValues refuses a resource without a resourceType', () => {
  assert.throws(() => extractValues({ id: 'x' }), TypeError);
});

test('normaliseReference reduces URLs and history to Type/id and keeps the rest literal', () => {
  assert.deepEqual(normaliseReference('Patient/123'), {
    reference: 'Patient/123',
    type: 'Patient',
    id: '123',
  });
  assert.deepEqual(normaliseReference('http://x.org/fhir/Patient/123/_history/2'), {
    reference: 'Patient/123',
    type: 'Patient',
    id: '123',
  });
  for (const literal of [
    'urn:uuid:7f1c',
    'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|99',
    '#contained',
    '123',
  ]) {
    assert.deepEqual(
      normaliseReference(literal),
      { reference: literal, type: null, id: null },
      literal,
    );
  }
});
