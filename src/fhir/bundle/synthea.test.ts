/**
 * Planning the real Synthea Bundles in test/fixtures/synthea: legacy (2019) transactions
 * linked by urn:uuid, modern (2021) transactions that also use conditional references, and the
 * modern reference-data batches of conditional creates. Expectations come from the raw JSON,
 * scanned here independently of the planner.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { planBundle } from './plan.js';
import { applyResolvedReferences } from './resolve.js';
import { counterIds } from '../testonly/bundle-helpers.js';

const FIXTURES =
  process.env['CHARTCHAIN_FIXTURES'] === undefined
    ? fileURLToPath(new URL('../../../test/fixtures/synthea', import.meta.url))
    : join(process.env['CHARTCHAIN_FIXTURES'], 'synthea');
const REFERENCE_DATA = join(FIXTURES, 'reference-data');

interface Fixture {
  name: string;
  text: string;
  bundle: JsonObject & { entry: JsonObject[] };
}

function load(dir: string, prefix: string): Fixture[] {
  const names = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort();
  return names.map((name) => {
    const text = readFileSync(join(dir, name), 'utf8');
    return { name, text, bundle: JSON.parse(text) as Fixture['bundle'] };
  });
}

/** Counts of `"reference": "<match>` in the raw text, by the first capture group. */
function countReferences(text: string, pattern: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`"reference"\\s*:\\s*"${pattern}`, 'g')))
    counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  return counts;
}

/** fullUrl → 'Type/id-k' for the k-th POST, k from 1 in entry order: what counterIds() assigns. */
function expectedIds(bundle: Fixture['bundle']): Map<string, string> {
  const posts = bundle.entry.filter(
    (entry) => (entry['request'] as JsonObject)['method'] === 'POST',
  );
  return new Map(
    posts.map((entry, k) => [
      String(entry['fullUrl']),
      `${String((entry['resource'] as JsonObject)['resourceType'])}/id-${k + 1}`,
    ]),
  );
}

/** Walks `before` and `after` side by side, calling `visit` on each pair of string values under a 'reference' key. */
function pairReferences(
  before: JsonValue | undefined,
  after: JsonValue | undefined,
  visit: (before: string, after: unknown) => void,
): void {
  if (
    before === null ||
    typeof before !== 'object' ||
    after === null ||
    typeof after !== 'object' ||
    after === undefined
  )
    return;
  for (const [key, value] of Object.entries(before)) {
    const other = (after as Record<string, JsonValue>)[key];
    if (key === 'reference' && typeof value === 'string') visit(value, other);
    else pairReferences(value, other, visit);
  }
}

/** The value at a FHIRPath-ish path such as 'Bundle.entry[3].resource.a[0].b.reference'. */
function valueAt(bundle: JsonObject, path: string): unknown {
  let value: unknown = bundle;
  for (const [, key, index] of path
    .replace(/^Bundle/, '')
    .matchAll(/\.([A-Za-z]+)(?:\[(\d+)\])?/g)) {
    value = (value as Record<string, unknown>)[key!];
    if (index !== undefined) value = (value as unknown[])[Number(index)];
  }
  return value;
}

const legacy = load(FIXTURES, 'legacy2019-');
const modern = load(FIXTURES, 'modern2021-');
const referenceData = load(REFERENCE_DATA, 'modern2021-');

test('the fixtures are there: every Bundle the manifest lists, of each generation', () => {
  const manifest = readFileSync(join(FIXTURES, 'MANIFEST.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean);
  const listed = (generation: string, split: (file: string) => boolean) =>
    manifest.filter((line) => line.split('\t')[1] === generation && split(line.split('\t')[2]!))
      .length;
  assert.ok(legacy.length >= 2 && modern.length >= 2, 'at least two patients of each generation');
  assert.equal(
    legacy.length,
    listed('legacy2019', (file) => !file.startsWith('shared/')),
  );
  assert.equal(
    modern.length,
    listed('modern2021', (file) => !file.startsWith('shared/')),
  );
  assert.equal(
    referenceData.length,
    listed('modern2021', (file) => file.startsWith('shared/')),
  );
});

for (const fixture of [...legacy, ...modern]) {
  test(`${fixture.name}: every urn:uuid reference names the id assigned to its entry`, () => {
    const expected = expectedIds(fixture.bundle);
    const plan = planBundle(fixture.bundle, counterIds());
    assert.equal(plan.type, 'transaction');
    assert.deepEqual(plan.entryErrors, []);
    assert.deepEqual(
      plan.steps.map((step) => step.index),
      fixture.bundle.entry.map((_, index) => index),
      'all POST: order kept',
    );
    assert.deepEqual(new Map(plan.idMap), expected);
    let rewritten = 0;
    plan.steps.forEach((step, index) => {
      const entry = fixture.bundle.entry[index]!;
      assert.equal(`${step.type}/${step.id}`, expected.get(String(entry['fullUrl'])));
      assert.equal(step.resource!['id'], step.id);
      pairReferences(entry['resource'], step.resource, (before, after) => {
        if (!before.startsWith('urn:uuid:')) return assert.equal(after, before);
        assert.equal(after, expected.get(before));
        rewritten++;
      });
    });
    const urnCount = [...countReferences(fixture.text, '(urn:uuid:)').values()].reduce(
      (a, b) => a + b,
      0,
    );
    assert.ok(urnCount > 0);
    assert.equal(rewritten, urnCount);
    assert.doesNotMatch(JSON.stringify(plan.steps), /"reference":"urn:uuid:/);
  });
}

for (const fixture of modern) {
  test(`${fixture.name}: its conditional references are collected, and resolve`, () => {
    const expected = countReferences(fixture.text, '([A-Z][A-Za-z]*)\\?');
    const plan = planBundle(fixture.bundle, counterIds());
    const found = new Map<string, number>();
    for (const reference of plan.conditionalReferences) {
      found.set(reference.type, (found.get(reference.type) ?? 0) + 1);
      assert.equal(valueAt(fixture.bundle, reference.path), reference.reference, reference.path);
      assert.ok(reference.path.startsWith(`Bundle.entry[${reference.index}].resource.`));
    }
    assert.deepEqual(found, expected);
    assert.ok((expected.get('Organization') ?? 0) > 0 && (expected.get('Practitioner') ?? 0) > 0);

    const distinct = [
      ...new Set(plan.conditionalReferences.map((reference) => reference.reference)),
    ];
    const resolved = new Map(
      distinct.map((reference, i) => [reference, `${reference.split('?')[0]}/found-${i}`]),
    );
    const after = applyResolvedReferences(plan, resolved);
    assert.deepEqual(after.conditionalReferences, []);
    assert.doesNotMatch(JSON.stringify(after.steps), /"reference":"[A-Za-z]+\?/);
    for (const reference of plan.conditionalReferences) {
      const step = after.steps.find((candidate) => candidate.index === reference.index)!;
      const local = reference.path.replace(`Bundle.entry[${reference.index}].resource`, 'Bundle');
      assert.equal(valueAt(step.resource!, local), resolved.get(reference.reference));
    }
  });
}

test('the reference-data Bundles plan as batches of conditional creates', () => {
  for (const fixture of referenceData) {
    const plan = planBundle(fixture.bundle, () => assert.fail('a batch assigns no ids'));
    const ifNoneExist = fixture.bundle.entry.map(
      (entry) => (entry['request'] as JsonObject)['ifNoneExist'],
    );
    assert.equal(plan.type, 'batch');
    assert.deepEqual(plan.entryErrors, []);
    assert.equal(plan.idMap.size, 0);
    assert.equal(plan.steps.length, fixture.bundle.entry.length);
    assert.deepEqual(
      plan.steps.map((step) => step.ifNoneExist),
      ifNoneExist,
    );
    assert.ok(ifNoneExist.filter((value) => value !== undefined).length >= 142, fixture.name);
  }
});
