import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hl7Message } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { observationOf } from './results.js';

/** The value[x] of an OBX of value type `type` whose OBX-5 is `value`, in mg/dL. */
function valueOf(type: string, value: string): JsonObject {
  const message = Hl7Message.parse(
    [
      'MSH|^~\\&|LAB|FAC|CC|DEMO|20261202101500||ORU^R01|V-1|P|2.5.1',
      `OBX|1|${type}|2345-7^Glucose^LN||${value}|mg/dL^mg/dL^UCUM`,
    ].join('\r'),
  );
  const observation = observationOf(message.getSegment('OBX')!, undefined, 'urn:uuid:p', {
    value: 'x',
  });
  return Object.fromEntries(Object.entries(observation).filter(([key]) => key.startsWith('value')));
}

test('an SN is a Quantity only when it is one number, with its comparator; anything else keeps every component as written', () => {
  assert.deepEqual(valueOf('SN', '>^5'), {
    valueQuantity: {
      value: 5,
      comparator: '>',
      unit: 'mg/dL',
      system: 'http://unitsofmeasure.org',
      code: 'mg/dL',
    },
  });
  assert.deepEqual(valueOf('SN', '>^abc'), { valueString: '>^abc' }, 'not its comparator alone');
  assert.deepEqual(valueOf('SN', '^1^:^128'), { valueString: '^1^:^128' }, 'a ratio, not 1');
  assert.deepEqual(valueOf('SN', '^2^-^5'), { valueString: '^2^-^5' }, 'a range, not 2');
  assert.deepEqual(valueOf('NM', '7.5').valueQuantity, {
    value: 7.5,
    unit: 'mg/dL',
    system: 'http://unitsofmeasure.org',
    code: 'mg/dL',
  });
});
