import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultJournal } from './import.js';

test('the default import journal lives in the user state directory, one per node, never in the working directory', () => {
  const env = { XDG_STATE_HOME: '/var/state-home' };
  const practice = defaultJournal('http://127.0.0.1:8080/fhir', env);
  assert.equal(practice.startsWith(join('/var/state-home', 'chartchain', 'import-')), true);
  assert.equal(
    defaultJournal('http://127.0.0.1:8080/other', env),
    practice,
    'the path does not matter, only the node',
  );
  assert.notEqual(
    defaultJournal('http://127.0.0.1:9090', env),
    practice,
    'another node keeps its own journal',
  );
  assert.equal(
    defaultJournal('http://127.0.0.1:8080', {}).includes(join('.local', 'state', 'chartchain')),
    true,
  );
});
