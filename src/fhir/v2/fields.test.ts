import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeV2, fhirDate, fhirDateTime, unescapeV2 } from './fields.js';

test('v2 escape sequences unescape; unknown ones are dropped, hex reads as UTF-8', () => {
  assert.equal(unescapeV2('Smith \\T\\ Sons\\F\\Ltd\\S\\x\\R\\y\\E\\z'), 'Smith & Sons|Ltd^x~y\\z');
  assert.equal(unescapeV2('caf\\XC3A9\\'), 'café');
  assert.equal(unescapeV2('line\\.br\\next \\H\\bold\\N\\'), 'line\nnext bold');
  assert.equal(unescapeV2('plain'), 'plain');
  assert.equal(escapeV2('a|b^c&d~e\\f'), 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
  assert.equal(unescapeV2(escapeV2('a|b^c&d~e\\f')), 'a|b^c&d~e\\f');
});

test('v2 dates and times become FHIR ones; a time without a zone is UTC; nonsense is undefined', () => {
  assert.equal(fhirDateTime('2026'), '2026');
  assert.equal(fhirDateTime('202612'), '2026-12');
  assert.equal(fhirDateTime('20261201'), '2026-12-01');
  assert.equal(fhirDateTime('202612010830'), '2026-12-01T08:30:00Z');
  assert.equal(fhirDateTime('20261201083015.123-0500'), '2026-12-01T08:30:15-05:00');
  assert.equal(fhirDateTime('yesterday'), undefined);
  assert.equal(fhirDateTime(''), undefined);
  assert.equal(fhirDate('19580312'), '1958-03-12');
  assert.equal(fhirDate('195803121200'), '1958-03-12');
  assert.equal(fhirDate('58-03-12'), undefined);
});
