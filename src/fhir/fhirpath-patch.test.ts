import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../ledger/index.js';
import { applyFhirPathPatch } from './fhirpath-patch.js';
import { FhirError } from './outcome.js';

const patient: JsonObject = {
  resourceType: 'Patient',
  name: [
    { use: 'official', family: 'Lovelace', given: ['Ada'] },
    { use: 'nickname', given: ['Countess', 'Ada'] },
  ],
};
const observation: JsonObject = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  valueQuantity: { value: 72, unit: '/min' },
};

/** A FHIRPath Patch of one operation of `type` on `path`, with more parts as given. */
function patch(type: string, path: string, more: JsonObject[] = []): JsonObject {
  return {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'operation',
        part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...more],
      },
    ],
  };
}

test('FHIRPath paths name what FHIRPath selects: one item of a list, a choice element, a step through a list', () => {
  const replaced = applyFhirPathPatch(
    patch('replace', "Patient.name.where(use = 'official').given", [
      { name: 'value', valueString: 'Augusta' },
    ]),
    'Patient',
    patient,
  ) as { name: JsonObject[] };
  assert.deepEqual(replaced.name[0]!['given'], ['Augusta'], 'the one given name, not the list');

  const inserted = applyFhirPathPatch(
    patch('insert', "Patient.name.where(use = 'official').given", [
      { name: 'index', valueInteger: 0 },
      { name: 'value', valueString: 'Augusta' },
    ]),
    'Patient',
    patient,
  ) as { name: JsonObject[] };
  assert.deepEqual(inserted.name[0]!['given'], ['Augusta', 'Ada']);

  const withoutValue = applyFhirPathPatch(
    patch('delete', "Observation.where(status = 'final').value"),
    'Observation',
    observation,
  ) as JsonObject;
  assert.equal(withoutValue['valueQuantity'], undefined, 'value is valueQuantity here');

  const withoutCode = applyFhirPathPatch(
    patch('delete', 'Observation.code.coding.code'),
    'Observation',
    observation,
  ) as { code: { coding: JsonObject[] } };
  assert.deepEqual(withoutCode.code.coding, [{ system: 'http://loinc.org' }]);
});

test('a FHIRPath path selecting several elements is refused; selecting none deletes nothing', () => {
  assert.throws(
    () =>
      applyFhirPathPatch(
        patch('replace', 'Patient.name.given', [{ name: 'value', valueString: 'x' }]),
        'Patient',
        patient,
      ),
    (error: unknown) => error instanceof FhirError && error.status === 422,
  );
  assert.deepEqual(
    applyFhirPathPatch(patch('delete', "Patient.name.where(use = 'maiden')"), 'Patient', patient),
    patient,
  );
});
