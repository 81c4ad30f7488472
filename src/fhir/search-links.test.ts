import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveLinks, type LinkHost } from './search-links.js';

/** A host that reads only what `readable` lists, recording what it was asked. */
function host(readable: Record<string, string[]>, references: Record<string, string[]> = {}) {
  const asked: string[] = [];
  const fake: LinkHost = {
    readable: (type, query, limit) => {
      asked.push(`${type}?${query.toString()} (${limit})`);
      return readable[type] ?? [];
    },
    referencesFrom: (type, param, ids) =>
      ids.flatMap((id) => references[`${type}/${id}.${param}`] ?? []),
  };
  return { fake, asked };
}

test('a chain resolves to the readable targets only; plain parameters pass through', () => {
  const { fake, asked } = host({ Patient: ['Patient/a'] });
  const { plain, links } = resolveLinks(
    'Observation',
    new URLSearchParams('subject.name=x&status=final'),
    fake,
  );
  assert.equal(plain.toString(), 'status=final');
  // Every target type of subject with a name parameter is searched: Patient, and Location.
  assert.deepEqual(asked, ['Patient?name=x (1001)', 'Location?name=x (1001)']);
  assert.equal(links.length, 1);
  assert.deepEqual(links[0]!.args, ['Observation.subject', '["Patient/a"]']);
});

test('_has resolves the readable sources, then the targets of the named type they reference', () => {
  const { fake } = host(
    { Observation: ['Observation/o1', 'Observation/o2'] },
    {
      'Observation/o1.subject': ['Patient/p1'],
      'Observation/o2.subject': ['Group/g1', 'Patient/p2'],
    },
  );
  const { links } = resolveLinks(
    'Patient',
    new URLSearchParams('_has:Observation:subject:code=1'),
    fake,
  );
  assert.deepEqual(links[0]!.args, ['["p1","p2"]']);
});

test('a link matching more than the bound is refused, not cut short', () => {
  const many = Array.from({ length: 1001 }, (_, i) => `Patient/p${i}`);
  const { fake } = host({ Patient: many });
  assert.throws(
    () => resolveLinks('Observation', new URLSearchParams('subject.name=x'), fake),
    (error: unknown) => error instanceof Error && /at most 1000/.test(error.message),
  );
});
