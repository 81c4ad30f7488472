import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SearchIndex } from './search-index.js';

const patient = (id: string, family: string) => ({
  resourceType: 'Patient',
  id,
  name: [{ family }],
});

test('putSoon batches puts into one transaction per turn, and a search in the same turn already sees them', async () => {
  const index = new SearchIndex(':memory:');
  try {
    index.putSoon(patient('p1', 'Okafor'), { patientId: 'p1', lastUpdated: 1 });
    index.putSoon(patient('p2', 'Okonkwo'), { patientId: 'p2', lastUpdated: 2 });
    assert.deepEqual(
      index.search('Patient', new URLSearchParams('family=oko&_sort=_id')).ids,
      ['p2'],
      'flushed before the search',
    );
    index.putSoon(patient('p3', 'Okoye'), { patientId: 'p3', lastUpdated: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(index.counts().resources, 3, 'flushed at the end of the turn');
    index.putSoon(patient('p4', 'Okeke'), { patientId: 'p4', lastUpdated: 4 });
    assert.equal(index.remove('Patient', 'p4'), true, 'a removal sees the pending put first');
  } finally {
    index.close();
  }
});
