import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { includeTargets, parseInclude, searchRevinclude } from './include.js';
import { SearchIndex } from './search-index.js';
import { loadSynthea, syntheaFiles } from '../testonly/synthea-fixture.js';

const fixtures = loadSynthea(syntheaFiles('legacy2019-A'));
const index = new SearchIndex(':memory:');
index.putAll(fixtures);
after(() => index.close());

const resourcesOf = (type: string): JsonObject[] =>
  fixtures
    .map((fixture) => fixture.resource)
    .filter((resource) => resource['resourceType'] === type);
const referenceOf = (resource: JsonObject, element: string): string =>
  String((resource[element] as JsonObject)['reference']);

test('_include follows a reference parameter of the matches to Type/id targets, each once', () => {
  const observations = resourcesOf('Observation').slice(0, 300);
  const subjects = [
    ...new Set(observations.map((observation) => referenceOf(observation, 'subject'))),
  ];
  assert.ok(subjects.length > 1);
  assert.deepEqual(includeTargets('Observation', observations, ['Observation:subject']), subjects);
  assert.deepEqual(
    includeTargets('Observation', observations, ['Observation:patient:Patient']),
    subjects,
  );
  assert.deepEqual(includeTargets('Observation', observations, ['Observation:subject:Group']), []);
  assert.deepEqual(
    includeTargets('Observation', observations, ['Observation:*']),
    subjects,
    'subject and patient name the same Patients',
  );
  assert.deepEqual(
    includeTargets('Observation', observations, ['Encounter:subject']),
    [],
    'another source type adds nothing',
  );
  const encounters = resourcesOf('Encounter');
  assert.deepEqual(
    includeTargets('Encounter', encounters, ['Encounter:patient']).sort(),
    [...new Set(encounters.map((encounter) => referenceOf(encounter, 'subject')))].sort(),
  );
});

test('_revinclude finds the resources whose reference parameter points at the matches', () => {
  const patients = resourcesOf('Patient')
    .slice(0, 2)
    .map((patient) => `Patient/${String(patient['id'])}`);
  const expected = (type: string, element: string, targets = patients): string[] =>
    resourcesOf(type)
      .filter((resource) => targets.includes(referenceOf(resource, element)))
      .map((resource) => String(resource['id']))
      .sort();
  assert.ok(expected('Observation', 'subject').length > 0);
  assert.deepEqual(
    searchRevinclude(index, 'Observation:subject', patients),
    expected('Observation', 'subject'),
  );
  assert.deepEqual(
    searchRevinclude(index, 'Observation:patient', patients),
    expected('Observation', 'subject'),
  );
  assert.deepEqual(
    searchRevinclude(index, 'Immunization:patient', patients),
    expected('Immunization', 'patient'),
  );
  assert.deepEqual(searchRevinclude(index, 'Observation:subject:Group', patients), []);
  assert.deepEqual(searchRevinclude(index, 'Observation:subject', []), []);
  assert.deepEqual(
    searchRevinclude(index, 'Observation:subject', [
      `https://elsewhere.example/fhir/${patients[0]!}`,
    ]),
    expected('Observation', 'subject', [patients[0]!]),
  );
});

test('include values that name no reference parameter are refused', () => {
  const refused = (code: string) => (error: unknown) =>
    error instanceof FhirError && error.status === 400 && error.issues[0]!.code === code;
  assert.throws(() => parseInclude('Observation:code'), refused('not-supported'));
  assert.throws(() => parseInclude('Observation:nonsense'), refused('not-supported'));
  assert.throws(() => parseInclude('Observation'), refused('value'));
  assert.throws(() => parseInclude('observation:subject'), refused('value'));
  assert.throws(
    () => includeTargets('Observation', [], ['Observation:date']),
    refused('not-supported'),
  );
  assert.throws(
    () => searchRevinclude(index, 'Observation:status', ['Patient/x']),
    refused('not-supported'),
  );
  assert.equal(parseInclude('Observation:*').length, 2);
});
