import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../../contracts/index.js';
import type { PatientNames } from '../../node/index.js';
import { OAuthError } from './errors.js';
import { patientPrincipal } from './users.js';

const patient: Principal = { kind: 'patient', id: 'jane', org: 'practice-a' };

function names(known: Record<string, string>, complete: boolean): PatientNames {
  return {
    patientIdOf: (fhirId) => known[fhirId],
    fhirPatientIdOf: (id) => Object.keys(known).find((fhirId) => known[fhirId] === id),
    complete,
  };
}

test('a patient signs in under the pseudonym their FHIR Patient id has here', () => {
  assert.equal(patientPrincipal(patient, 'jane', names({ jane: 'p-1' }, true)).id, 'p-1');
  assert.equal(
    patientPrincipal(patient, 'jane', names({ jane: 'p-1' }, false)).id,
    'p-1',
    'a patient already relearnt signs in while others are still being relearnt',
  );
});

test('a patient this node does not know signs in as nobody, but while ids are relearnt is asked to come back (503)', () => {
  assert.equal(patientPrincipal(patient, 'jane', names({}, true)).id, 'no-patient.jane');
  assert.throws(
    () => patientPrincipal(patient, 'jane', names({}, false)),
    (error: unknown) =>
      error instanceof OAuthError &&
      error.code === 'temporarily_unavailable' &&
      error.statusCode === 503 &&
      error.retryAfterSeconds === 5,
  );
});
