/**
 * The search index over the twenty legacy2019 Synthea patients, checked against plain
 * TypeScript scans of the same resources: each query's matches must be exactly the ids the scan
 * picks, and every scan must pick some resources but not all, so no check passes vacuously.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { JsonObject } from '../../ledger/index.js';
import { FhirError } from '../outcome.js';
import { SearchIndex } from './search-index.js';
import { loadSynthea, syntheaFiles, type FixtureResource } from '../testonly/synthea-fixture.js';

const fixtures = dedupe(loadSynthea(syntheaFiles('legacy2019')));
const index = new SearchIndex(':memory:');
index.putAll(fixtures);
after(() => index.close());

/** Organizations and Practitioners recur across bundles; the index keeps the last, and so does this. */
function dedupe(all: FixtureResource[]): FixtureResource[] {
  return [
    ...new Map(
      all.map((fixture) => [
        `${String(fixture.resource['resourceType'])}/${String(fixture.resource['id'])}`,
        fixture,
      ]),
    ).values(),
  ];
}

type Predicate = (resource: Record<string, any>) => boolean;

function ofType(type: string): FixtureResource[] {
  return fixtures.filter((fixture) => fixture.resource['resourceType'] === type);
}

function idsWhere(type: string, predicate: Predicate): string[] {
  return ofType(type)
    .filter((fixture) => predicate(fixture.resource))
    .map((fixture) => String(fixture.resource['id']))
    .sort();
}

/** Every match of `query`, page by page, in result order. */
function searchAll(type: string, query: string): string[] {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = index.search(type, new URLSearchParams(`${query}&_count=1000&_offset=${offset}`));
    ids.push(...page.ids);
    if (page.ids.length < 1000) {
      assert.equal(ids.length, page.total, `${type}?${query}: total`);
      return ids;
    }
  }
}

/** Asserts `type?query` finds exactly what `predicate` picks, and that the predicate picks some but not all. */
function assertMatches(type: string, query: string, predicate: Predicate): string[] {
  const expected = idsWhere(type, predicate);
  assert.ok(
    expected.length > 0 && expected.length < ofType(type).length,
    `${type}?${query}: the scan picks ${expected.length} of ${ofType(type).length}`,
  );
  assert.deepEqual([...searchAll(type, query)].sort(), expected, `${type}?${query}`);
  return expected;
}

// Plain readings of FHIR data types, written apart from extract.ts.
const fold = (text: string): string =>
  text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
const codingsOf = (concepts: any): { system?: string; code?: string; display?: string }[] =>
  [concepts ?? []].flat().flatMap((concept: any) => concept.coding ?? []);
const hasCode = (concepts: any, code: string, system?: string): boolean =>
  codingsOf(concepts).some(
    (coding) => coding.code === code && (system === undefined || coding.system === system),
  );
const familiesOf = (patient: any): string[] =>
  (patient.name ?? []).map((name: any) => name.family).filter(Boolean);
const ms = (text: string): number => Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);

const abdul = ofType('Patient').find((fixture) => familiesOf(fixture.resource).includes('Koepp'))!
  .resource['id'] as string;

test('the fixtures index: 20 patients and thousands of resources', () => {
  assert.equal(ofType('Patient').length, 20);
  assert.equal(index.counts().resources, fixtures.length);
  assert.ok(fixtures.length > 4000);
});

test('Patient: string parameters start with the value, ignoring case and accents', () => {
  assert.equal(
    assertMatches('Patient', 'family=scha', (p) =>
      familiesOf(p).some((family) => fold(family).startsWith('scha')),
    ).length,
    2,
  );
  assert.deepEqual(
    searchAll('Patient', 'family=SCHA').sort(),
    searchAll('Patient', 'family=scha').sort(),
  );
  assertMatches('Patient', 'name=ali', (p) =>
    p.name.some((name: any) =>
      [name.family, ...(name.given ?? []), ...(name.prefix ?? []), ...(name.suffix ?? [])].some(
        (part) => fold(part).startsWith('ali'),
      ),
    ),
  );
  assertMatches('Patient', 'name=mrs', (p) =>
    p.name.some((name: any) => (name.prefix ?? []).includes('Mrs.')),
  );
  assertMatches('Patient', 'given:contains=DA', (p) =>
    p.name.some((name: any) => name.given.some((given: string) => fold(given).includes('da'))),
  );
});

test('Patient: :exact is the whole string with its case and accents; the default folds them', () => {
  const adan = idsWhere('Patient', (p) => p.name[0].given[0] === 'Adán');
  assert.equal(adan.length, 1);
  for (const query of [
    'given=adan',
    'given=Adán',
    'given=ADÁN',
    'given=adán',
    'given:exact=Adán',
    'given:contains=dán',
  ])
    assert.deepEqual(searchAll('Patient', query), adan, query);
  for (const query of ['given:exact=Adan', 'given:exact=adán', 'given:exact=Adá', 'given=adanx'])
    assert.deepEqual(searchAll('Patient', query), [], query);
});

test('Patient: gender, birthdate ranges and identifier tokens', () => {
  assertMatches('Patient', 'gender=female', (p) => p.gender === 'female');
  assertMatches('Patient', 'gender:not=female', (p) => p.gender !== 'female');
  assertMatches(
    'Patient',
    'birthdate=ge1950&birthdate=lt1970',
    (p) => p.birthDate >= '1950-01-01' && p.birthDate < '1970-01-01',
  );
  assertMatches('Patient', 'birthdate=1963', (p) => p.birthDate.startsWith('1963'));
  assertMatches('Patient', 'birthdate=eb1950-01-01', (p) => p.birthDate < '1950-01-01');
  assertMatches('Patient', 'birthdate=sa2000-12', (p) => p.birthDate >= '2001-01-01');
  assert.deepEqual(searchAll('Patient', 'identifier=http://hl7.org/fhir/sid/us-ssn|999-22-1962'), [
    abdul,
  ]);
  assert.deepEqual(searchAll('Patient', 'identifier=999-22-1962'), [abdul]);
  assert.deepEqual(
    searchAll('Patient', 'identifier=http://hl7.org/fhir/sid/us-npi|999-22-1962'),
    [],
  );
  assertMatches('Patient', 'identifier:text=driver', (p) =>
    p.identifier.some((identifier: any) => fold(identifier.type?.text ?? '').startsWith('driver')),
  );
});

test('Observation: code as system|code or code alone, OR across commas, AND across parameters', () => {
  const height = assertMatches('Observation', 'code=http://loinc.org|8302-2', (o) =>
    hasCode(o.code, '8302-2', 'http://loinc.org'),
  );
  assert.deepEqual(searchAll('Observation', 'code=8302-2').sort(), height);
  assert.deepEqual(searchAll('Observation', 'code=http://snomed.info/sct|8302-2'), []);
  assert.deepEqual(searchAll('Observation', 'code=|8302-2'), [], 'every coding here has a system');
  assertMatches(
    'Observation',
    'code=8302-2,29463-7',
    (o) => hasCode(o.code, '8302-2') || hasCode(o.code, '29463-7'),
  );
  assertMatches(
    'Observation',
    'code=8302-2&date=ge2015-01-01',
    (o) => hasCode(o.code, '8302-2') && ms(o.effectiveDateTime) >= ms('2015-01-01'),
  );
  assertMatches(
    'Observation',
    'date=ge2015-01-01&date=lt2016-01-01',
    (o) =>
      ms(o.effectiveDateTime) >= ms('2015-01-01') && ms(o.effectiveDateTime) < ms('2016-01-01'),
  );
  assert.deepEqual(
    searchAll('Observation', 'code=8302-2&code=29463-7'),
    [],
    'repeated parameters AND: no Observation has both codes',
  );
  assertMatches('Observation', 'code=8302-2,29463-7&code=29463-7', (o) =>
    hasCode(o.code, '29463-7'),
  );
});

test('Observation: value-quantity prefixes with and without units', () => {
  const quantity = (o: any) => o.valueQuantity;
  assertMatches(
    'Observation',
    'value-quantity=gt170|http://unitsofmeasure.org|cm',
    (o) =>
      quantity(o)?.value > 170 &&
      quantity(o).system === 'http://unitsofmeasure.org' &&
      quantity(o).code === 'cm',
  );
  assertMatches('Observation', 'value-quantity=gt170', (o) => quantity(o)?.value > 170);
  assertMatches(
    'Observation',
    'value-quantity=le50||kg',
    (o) => quantity(o)?.value <= 50 && (quantity(o).code === 'kg' || quantity(o).unit === 'kg'),
  );
  assertMatches(
    'Observation',
    'value-quantity=80',
    (o) => quantity(o)?.value >= 79.5 && quantity(o).value < 80.5,
  );
  assertMatches('Observation', 'value-quantity:missing=true', (o) => quantity(o) === undefined);
  assertMatches('Observation', 'value-quantity:missing=false', (o) => quantity(o) !== undefined);
});

test('Observation: category, status, :text on codes, and references in every form', () => {
  assertMatches('Observation', 'category=vital-signs', (o) => hasCode(o.category, 'vital-signs'));
  assertMatches(
    'Observation',
    'category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
    (o) => hasCode(o.category, 'laboratory'),
  );
  assertMatches(
    'Observation',
    'code:text=body hei',
    (o) =>
      fold(o.code.text ?? '').startsWith('body hei') ||
      codingsOf(o.code).some((coding) => fold(coding.display ?? '').startsWith('body hei')),
  );
  assert.equal(searchAll('Observation', 'status=final').length, ofType('Observation').length);
  const own = idsWhere('Observation', (o) => o.subject.reference === `Patient/${abdul}`);
  assert.ok(own.length > 0);
  for (const query of [
    `subject=Patient/${abdul}`,
    `patient=${abdul}`,
    `subject:Patient=${abdul}`,
    `patient=https://elsewhere.example/fhir/Patient/${abdul}`,
    `subject=${abdul}`,
  ]) {
    assert.deepEqual(searchAll('Observation', query).sort(), own, query);
  }
  assert.deepEqual(searchAll('Observation', `subject:Group=${abdul}`), []);
  assertMatches(
    'Observation',
    `patient=Patient/${abdul},Patient/${ofType('Patient')[1]!.resource['id'] as string}`,
    (o) =>
      [abdul, ofType('Patient')[1]!.resource['id']].some(
        (id) => o.subject.reference === `Patient/${String(id)}`,
      ),
  );
});

test('Condition: clinical-status with :not, onset-date, code and patient', () => {
  const clinical = (c: any): string | undefined => codingsOf(c.clinicalStatus)[0]?.code;
  assertMatches('Condition', 'clinical-status=active', (c) => clinical(c) === 'active');
  assertMatches(
    'Condition',
    'clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|resolved',
    (c) => clinical(c) === 'resolved',
  );
  assertMatches('Condition', 'clinical-status:not=active', (c) => clinical(c) !== 'active');
  assertMatches('Condition', 'onset-date=lt2000', (c) => ms(c.onsetDateTime) < ms('2000-01-01'));
  assertMatches('Condition', 'code=http://snomed.info/sct|162864005', (c) =>
    hasCode(c.code, '162864005'),
  );
  assertMatches(
    'Condition',
    `patient=${abdul}&clinical-status=active`,
    (c) => c.subject.reference === `Patient/${abdul}` && clinical(c) === 'active',
  );
});

test('Encounter: date over Period, class, type, status', () => {
  const start = (e: any): number => ms(e.period.start);
  const end = (e: any): number => ms(e.period.end) + 1000;
  assertMatches(
    'Encounter',
    'date=2015',
    (e) => start(e) >= ms('2015-01-01') && end(e) <= ms('2016-01-01'),
  );
  const [sl, sh] = [ms('2015-06-01'), ms('2015-06-02')];
  assertMatches(
    'Encounter',
    'date=ge2015-06-01',
    (e) => end(e) > sh || (start(e) >= sl && end(e) <= sh),
  );
  assertMatches('Encounter', 'date=lt2010-01-01T00:00:00Z', (e) => start(e) < ms('2010-01-01'));
  assertMatches('Encounter', 'class=AMB', (e) => e.class.code === 'AMB');
  assertMatches(
    'Encounter',
    'class=http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER,IMP',
    (e) => ['EMER', 'IMP'].includes(e.class.code),
  );
  assertMatches('Encounter', 'type=185349003', (e) => hasCode(e.type, '185349003'));
  assertMatches(
    'Encounter',
    `subject=Patient/${abdul}&status=finished`,
    (e) => e.subject.reference === `Patient/${abdul}` && e.status === 'finished',
  );
});

test('MedicationRequest, AllergyIntolerance, DiagnosticReport, Procedure and Immunization parameters', () => {
  assertMatches(
    'MedicationRequest',
    'intent=order&status=stopped',
    (m) => m.intent === 'order' && m.status === 'stopped',
  );
  assertMatches(
    'MedicationRequest',
    'authoredon=ge2010',
    (m) => ms(m.authoredOn) >= ms('2010-01-01'),
  );
  assertMatches(
    'MedicationRequest',
    'code=http://www.nlm.nih.gov/research/umls/rxnorm|310965',
    (m) => hasCode(m.medicationCodeableConcept, '310965'),
  );
  const allergic = ofType('AllergyIntolerance')[0]!.resource['patient'] as JsonObject;
  assertMatches(
    'AllergyIntolerance',
    `patient=${String(allergic['reference'])}`,
    (a) => a.patient.reference === allergic['reference'],
  );
  assertMatches('AllergyIntolerance', 'date=lt1990', (a) => ms(a.recordedDate) < ms('1990-01-01'));
  assertMatches(
    'AllergyIntolerance',
    'code=419474003,91935009',
    (a) => hasCode(a.code, '419474003') || hasCode(a.code, '91935009'),
  );
  assertMatches(
    'DiagnosticReport',
    'category=LAB&date=ge2015',
    (d) => hasCode(d.category, 'LAB') && ms(d.effectiveDateTime) >= ms('2015-01-01'),
  );
  assertMatches('DiagnosticReport', 'code=57698-3', (d) => hasCode(d.code, '57698-3'));
  assertMatches(
    'Procedure',
    'date=ge2015',
    (p) =>
      ms(p.performedPeriod.end) + 1000 > ms('2016-01-01') ||
      ms(p.performedPeriod.start) >= ms('2015-01-01'),
  );
  assertMatches(
    'Procedure',
    'code=73761001&status=completed',
    (p) => hasCode(p.code, '73761001') && p.status === 'completed',
  );
  assertMatches('Immunization', 'vaccine-code=http://hl7.org/fhir/sid/cvx|140', (i) =>
    hasCode(i.vaccineCode, '140'),
  );
  assertMatches('Immunization', 'date=2015', (i) => i.occurrenceDateTime.startsWith('2015'));
});

test('_id and _lastUpdated work on every type', () => {
  const [first, second] = ofType('Organization').map((fixture) => String(fixture.resource['id']));
  assert.deepEqual(
    searchAll('Organization', `_id=${first!},${second!}`).sort(),
    [first!, second!].sort(),
  );
  const cutoff = ms('2024-01-01T00:10:00Z');
  const expected = ofType('Observation')
    .filter((fixture) => fixture.meta.lastUpdated >= cutoff)
    .map((fixture) => String(fixture.resource['id']))
    .sort();
  assert.ok(expected.length > 0 && expected.length < ofType('Observation').length);
  assert.deepEqual(
    searchAll('Observation', '_lastUpdated=ge2024-01-01T00:10:00Z').sort(),
    expected,
  );
  assert.deepEqual(
    searchAll('Observation', '_lastUpdated=2024-01-01T00:10').length,
    ofType('Observation').filter(
      (fixture) => fixture.meta.lastUpdated >= cutoff && fixture.meta.lastUpdated < cutoff + 60_000,
    ).length,
  );
});

/** The ids of `type` sorted by `key` (nulls last) then id, as _sort promises. */
function sortedBy<T extends number | string>(
  type: string,
  key: (fixture: FixtureResource) => T,
  descending = false,
): string[] {
  const sign = descending ? -1 : 1;
  return [...ofType(type)]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      if (ka !== kb) return (ka < kb ? -1 : 1) * sign;
      return String(a.resource['id']) < String(b.resource['id']) ? -1 : 1;
    })
    .map((fixture) => String(fixture.resource['id']));
}

test('sorting: default _lastUpdated descending then _id, and _sort by _id, dates and strings either way', () => {
  const lastUpdated = (fixture: FixtureResource): number => fixture.meta.lastUpdated;
  assert.deepEqual(searchAll('Observation', ''), sortedBy('Observation', lastUpdated, true));
  assert.deepEqual(
    searchAll('Observation', '_sort=-_lastUpdated,_id'),
    sortedBy('Observation', lastUpdated, true),
  );
  assert.deepEqual(
    searchAll('Observation', '_sort=_lastUpdated'),
    sortedBy('Observation', lastUpdated),
  );
  assert.deepEqual(
    searchAll('Observation', '_sort=_id'),
    ofType('Observation')
      .map((fixture) => String(fixture.resource['id']))
      .sort(),
  );
  const effective = (fixture: FixtureResource): number =>
    ms(fixture.resource['effectiveDateTime'] as string);
  assert.deepEqual(searchAll('Observation', '_sort=date'), sortedBy('Observation', effective));
  assert.deepEqual(
    searchAll('Observation', '_sort=-date'),
    sortedBy('Observation', effective, true),
  );
  const families = (fixture: FixtureResource): string[] =>
    familiesOf(fixture.resource).map(fold).sort();
  assert.deepEqual(
    searchAll('Patient', '_sort=family'),
    sortedBy('Patient', (fixture) => families(fixture)[0]!),
  );
  assert.deepEqual(
    searchAll('Patient', '_sort=-family'),
    sortedBy('Patient', (fixture) => families(fixture).at(-1)!, true),
  );
  const birthDate = (fixture: FixtureResource): string => fixture.resource['birthDate'] as string;
  assert.deepEqual(searchAll('Patient', '_sort=-birthdate'), sortedBy('Patient', birthDate, true));
  assert.throws(
    () => searchAll('Patient', '_sort=birthdate,gender'),
    (error: FhirError) => error.status === 400 && error.issues[0]!.code === 'not-supported',
  );
});

test('paging with _count and _offset covers the result set exactly once, in order', () => {
  const query = 'category=vital-signs&_sort=date';
  const all = searchAll('Observation', query);
  const pages: string[][] = [];
  for (let offset = 0; ; offset += 37) {
    const page = index.search(
      'Observation',
      new URLSearchParams(`${query}&_count=37&_offset=${offset}`),
    );
    assert.equal(page.total, all.length);
    if (page.ids.length === 0) break;
    pages.push(page.ids);
  }
  assert.equal(pages.length, Math.ceil(all.length / 37));
  assert.ok(pages.slice(0, -1).every((page) => page.length === 37));
  assert.deepEqual(pages.flat(), all);
  assert.equal(new Set(pages.flat()).size, all.length);
  assert.equal(
    index.search('Observation', new URLSearchParams('')).ids.length,
    50,
    '_count defaults to 50',
  );
  assert.equal(
    index.search('Observation', new URLSearchParams('_count=5000')).ids.length,
    1000,
    '_count is capped at 1000',
  );
  assert.deepEqual(index.search('Observation', new URLSearchParams('code=8302-2&_count=0')), {
    ids: [],
    total: idsWhere('Observation', (o) => hasCode(o.code, '8302-2')).length,
  });
});

test('searchIds pages agree with search() whether it walks the order (many match) or lists matches (few do)', () => {
  const observations = ofType('Observation').length;
  assert.ok(observations > 1000, 'more Observations than a walk may test for one page');
  const patient = String(ofType('Patient')[0]!.resource['id']);
  const queries = [
    'category=vital-signs',
    'code=http://loinc.org|8302-2',
    `patient=${patient}`,
    'status:not=final',
    'value-quantity:missing=true',
    'value-quantity:missing=false&_sort=_id',
    'code=http://loinc.org|8302-2,http://loinc.org|29463-7&_sort=-_lastUpdated',
    '_sort=_lastUpdated',
    'date=ge2015-01-01&_sort=-_id',
  ];
  let dense = 0;
  let sparse = 0;
  for (const query of queries) {
    const params = new URLSearchParams(`${query}&_count=1000`);
    const all = index.search('Observation', params).ids;
    if (all.length >= 64) dense += 1;
    if (all.length < 16) sparse += 1;
    for (const [start, limit] of [
      [0, 16],
      [16, 16],
      [40, 100],
    ] as const)
      assert.deepEqual(
        index.searchIds('Observation', params, start, limit),
        all.slice(start, start + limit),
        `${query} from ${start}`,
      );
  }
  assert.ok(dense >= 3 && sparse >= 1, `${dense} dense and ${sparse} sparse queries`);
});

test('a keyset page walks from its id, and only continues a search sorted by _id', () => {
  const all = index.search('Observation', new URLSearchParams('_sort=_id&_count=1000')).ids;
  assert.ok(all.length > 600, 'deep enough that a walk from the start would miss the page');
  const after = all[500]!;
  assert.deepEqual(
    index.searchIds('Observation', new URLSearchParams('_sort=_id'), 0, 16, [], after),
    all.slice(501, 517),
  );
  assert.throws(
    () => index.searchIds('Observation', new URLSearchParams(''), 0, 16, [], after),
    /keyset page continues a search sorted by _id alone/,
  );
});
