import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Pseudonyms } from './pseudonyms.js';

test('unknown: of sorted record ids, exactly those with no learnt FHIR id, whatever the mix', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }),
        { maxLength: 60 },
      ),
      fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      (ids, learnt) => {
        const pseudonyms = new Pseudonyms(':memory:');
        try {
          ids.forEach((recordId, i) => {
            if (learnt[i]) pseudonyms.learn('Observation', `obs-${i}`, recordId);
          });
          const sorted = [...ids].sort();
          assert.deepEqual(
            pseudonyms.unknown(sorted),
            sorted.filter((recordId) => pseudonyms.fhirIdOf(recordId) === undefined),
          );
        } finally {
          pseudonyms.close();
        }
      },
    ),
    { numRuns: 200 },
  );
});
