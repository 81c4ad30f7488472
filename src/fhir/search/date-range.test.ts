import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateRange } from './date-range.js';

const utc = (text: string): number => Date.parse(text);

test('a date covers its whole year, month or day (R4 search.html#date)', () => {
  assert.deepEqual(dateRange('2020'), {
    low: utc('2020-01-01T00:00:00Z'),
    high: utc('2021-01-01T00:00:00Z'),
  });
  assert.deepEqual(dateRange('2020-02'), {
    low: utc('2020-02-01T00:00:00Z'),
    high: utc('2020-03-01T00:00:00Z'),
  });
  assert.deepEqual(dateRange('2020-12'), {
    low: utc('2020-12-01T00:00:00Z'),
    high: utc('2021-01-01T00:00:00Z'),
  });
  assert.deepEqual(dateRange('2020-02-29'), {
    low: utc('2020-02-29T00:00:00Z'),
    high: utc('2020-03-01T00:00:00Z'),
  });
  assert.deepEqual(dateRange('2020-12-31'), {
    low: utc('2020-12-31T00:00:00Z'),
    high: utc('2021-01-01T00:00:00Z'),
  });
});

test('a time covers its minute, second or fraction, in UTC', () => {
  assert.deepEqual(dateRange('2020-03-05T10:00'), {
    low: utc('2020-03-05T10:00:00Z'),
    high: utc('2020-03-05T10:01:00Z'),
  });
  assert.deepEqual(dateRange('2020-03-05T10:00:30+02:00'), {
    low: utc('2020-03-05T08:00:30Z'),
    high: utc('2020-03-05T08:00:31Z'),
  });
  assert.deepEqual(dateRange('2020-03-05T10:00:30-05:30'), {
    low: utc('2020-03-05T15:30:30Z'),
    high: utc('2020-03-05T15:30:31Z'),
  });
  assert.deepEqual(dateRange('2020-03-05T10:00:30.25Z'), {
    low: utc('2020-03-05T10:00:30.250Z'),
    high: utc('2020-03-05T10:00:30.260Z'),
  });
  assert.deepEqual(dateRange('2020-03-05T10:00:30.123456Z'), {
    low: utc('2020-03-05T10:00:30.123Z'),
    high: utc('2020-03-05T10:00:30.124Z'),
  });
  assert.deepEqual(
    dateRange('2020-03-05T10:00Z'),
    dateRange('2020-03-05T10:00'),
    'no zone means UTC',
  );
});

test('years below 100 stay in the first century', () => {
  const range = dateRange('0099-03');
  assert.ok(range !== undefined);
  assert.equal(new Date(range.low).getUTCFullYear(), 99);
});

test('what is not a real FHIR date has no range', () => {
  for (const text of [
    '',
    '20',
    '2020-2',
    '2020-13',
    '2020-02-30',
    '2021-02-29',
    '2020-03-05T24:00',
    '2020-03-05T10',
    '2020-03-05T10:60',
    '2020-03-05T10:00:60Z',
    '2020-03-05T10:00+15:00',
    '2020-03-05 10:00',
    'ge2020',
  ]) {
    assert.equal(dateRange(text), undefined, text);
  }
});
