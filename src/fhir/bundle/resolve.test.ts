import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBundle } from './plan.js';
import { applyResolvedReferences } from './resolve.js';
import {
  assertFhirError,
  assertIsFhirError,
  bundleOf,
  counterIds,
  post,
} from '../testonly/bundle-helpers.js';

const ORG = 'Organization?identifier=https://github.com/synthetichealth/synthea|abc';
const NPI = 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999';

function encounter(type: 'batch' | 'transaction') {
  return bundleOf(type, [
    { request: { method: 'GET', url: 'Patient/a' } },
    post('urn:uuid:e', {
      resourceType: 'Encounter',
      serviceProvider: { reference: ORG },
      participant: [{ individual: { reference: NPI } }, { individual: { reference: NPI } }],
      contained: [{ resourceType: 'Provenance', agent: [{ who: { reference: ORG } }] }],
    }),
  ]);
}

test('conditional references become the Type/id they resolved to, in a copy of the plan', () => {
  const plan = planBundle(encounter('transaction'), counterIds());
  assert.equal(plan.conditionalReferences.length, 4);
  const resolved = applyResolvedReferences(
    plan,
    new Map([
      [ORG, 'Organization/o1'],
      [NPI, 'Practitioner/p1'],
    ]),
  );
  const resource = resolved.steps.find((step) => step.index === 1)!.resource!;
  assert.deepEqual(resource['serviceProvider'], { reference: 'Organization/o1' });
  assert.deepEqual(resource['participant'], [
    { individual: { reference: 'Practitioner/p1' } },
    { individual: { reference: 'Practitioner/p1' } },
  ]);
  assert.match(JSON.stringify(resource['contained']), /"reference":"Organization\/o1"/);
  assert.deepEqual(resolved.conditionalReferences, []);
  assert.deepEqual(
    resolved.steps.map((step) => step.index),
    plan.steps.map((step) => step.index),
  );
  assert.equal(
    plan.steps[0]!.resource!['serviceProvider'] !== undefined &&
      JSON.stringify(plan.steps).includes(ORG),
    true,
    'the input plan is unchanged',
  );
});

test('an unresolved conditional reference fails a transaction with 422, naming the entry', () => {
  const plan = planBundle(encounter('transaction'), counterIds());
  const error = assertFhirError(
    () => applyResolvedReferences(plan, new Map([[ORG, 'Organization/o1']])),
    422,
    'processing',
    'Bundle.entry[1].resource.participant[0].individual.reference',
  );
  assert.match(error.message, /Bundle\.entry\[1\]/);
});

test("in a batch, an unresolved conditional reference becomes the entry's 422", () => {
  const plan = planBundle(encounter('batch'), counterIds());
  const resolved = applyResolvedReferences(plan, new Map([[NPI, 'Practitioner/p1']]));
  assert.deepEqual(
    resolved.steps.map((step) => step.index),
    [0],
  );
  assert.equal(resolved.entryErrors.length, 1);
  assert.equal(resolved.entryErrors[0]!.index, 1);
  assertIsFhirError(
    resolved.entryErrors[0]!.error,
    422,
    'processing',
    'Bundle.entry[1].resource.serviceProvider.reference',
  );
});

test('a resolution that is not Type/id of the searched type is a server bug', () => {
  const plan = planBundle(encounter('transaction'), counterIds());
  for (const wrong of [
    'Location/o1',
    'Organization',
    'Organization/o1/_history/2',
    'Organization/bad id',
  ]) {
    assert.throws(
      () =>
        applyResolvedReferences(
          plan,
          new Map([
            [ORG, wrong],
            [NPI, 'Practitioner/p1'],
          ]),
        ),
      (error) => !(error instanceof Error && error.name === 'FhirError'),
    );
  }
});
