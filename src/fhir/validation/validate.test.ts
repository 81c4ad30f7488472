import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OperationOutcomeError, validateResource as medplumValidateResource } from '@medplum/core';
import fc from 'fast-check';
import {
  loadValidator,
  uncheckedRequiredValueSets,
  validateResource,
  type ValidationIssue,
} from './validate.js';
import { RESOURCE_NESTING_DEPTH_MAX } from '../../ledger/index.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const examples = `${fixtures}hl7-examples`;
const XHTML = 'http://www.w3.org/1999/xhtml';

type Json = { [key: string]: unknown };

function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}

function example(file: string): Json {
  return readJson(`${examples}/${file}`);
}

function errors(resource: unknown): ValidationIssue[] {
  return validateResource(resource).filter((issue) => issue.severity === 'error');
}

/** A deep copy of `resource` with the value at `path` replaced. */
function withValue(resource: Json, path: readonly (string | number)[], value: unknown): Json {
  const copy = structuredClone(resource);
  let parent: { [key: string | number]: unknown } = copy;
  for (const step of path.slice(0, -1))
    parent = parent[step] as { [key: string | number]: unknown };
  parent[path[path.length - 1]!] = value;
  return copy;
}

function patientWithNarrative(div: string): Json {
  return { resourceType: 'Patient', text: { status: 'generated', div } };
}

function narrative(body: string): string {
  return `<div xmlns="${XHTML}">${body}</div>`;
}

/** The one error `resource` has; fails when it has none or several. */
function onlyError(resource: unknown): ValidationIssue {
  const found = errors(resource);
  assert.equal(found.length, 1, JSON.stringify(found));
  return found[0]!;
}

loadValidator();

describe('HL7 R4 examples', () => {
  /** What medplum gets wrong and we keep: base64Binary with line breaks, which R4 allows (datatypes.html#base64Binary). */
  const KNOWN_FALSE_POSITIVES = {
    'DiagnosticReport-gingival-mass.json': [
      'DiagnosticReport.presentedForm[0].data: not a valid FHIR base64Binary',
    ],
  };

  test('every example validates with no error but the known medplum false positive', () => {
    const files = readdirSync(examples).filter(
      (file) => file.endsWith('.json') && file !== 'LICENSE-package.json',
    );
    assert.equal(files.length, 138);
    const failures: Record<string, string[]> = {};
    for (const file of files) {
      const found = errors(example(file));
      if (found.length > 0)
        failures[file] = found.map(
          (issue) => `${issue.expression.join(', ')}: ${issue.diagnostics}`,
        );
    }
    assert.deepEqual(failures, KNOWN_FALSE_POSITIVES);
  });

  test('every Synthea bundle validates with no error', () => {
    const folders = [`${fixtures}synthea`, `${fixtures}synthea/reference-data`];
    const files = folders.flatMap((folder) =>
      readdirSync(folder)
        .filter((file) => file.endsWith('.json'))
        .map((file) => `${folder}/${file}`),
    );
    const listed = readFileSync(`${fixtures}synthea/MANIFEST.tsv`, 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean).length;
    assert.equal(files.length, listed, 'every Bundle the manifest lists');
    const failures = files.filter((file) => errors(readJson(file)).length > 0);
    assert.deepEqual(failures, []);
  });
});

describe('required value-set bindings', () => {
  test('gender "robot" is refused at Patient.gender, and every administrative-gender code is accepted', () => {
    const issue = onlyError({ resourceType: 'Patient', gender: 'robot' });
    assert.equal(issue.code, 'code-invalid');
    assert.deepEqual(issue.expression, ['Patient.gender']);
    assert.match(issue.diagnostics, /http:\/\/hl7\.org\/fhir\/ValueSet\/administrative-gender/);
    for (const gender of ['male', 'female', 'other', 'unknown'])
      assert.deepEqual(errors({ resourceType: 'Patient', gender }), []);
  });

  const cases: [file: string, path: (string | number)[], expression: string][] = [
    ['Observation-example.json', ['status'], 'Observation.status'],
    ['Observation-example.json', ['valueQuantity', 'comparator'], 'Observation.value.comparator'],
    ['Condition-example.json', ['clinicalStatus', 'coding', 0, 'code'], 'Condition.clinicalStatus'],
    [
      'Condition-example.json',
      ['verificationStatus', 'coding', 0, 'code'],
      'Condition.verificationStatus',
    ],
    ['Encounter-example.json', ['status'], 'Encounter.status'],
    ['MedicationRequest-medrx0301.json', ['status'], 'MedicationRequest.status'],
    ['MedicationRequest-medrx0301.json', ['intent'], 'MedicationRequest.intent'],
    [
      'AllergyIntolerance-example.json',
      ['clinicalStatus', 'coding', 0, 'code'],
      'AllergyIntolerance.clinicalStatus',
    ],
    [
      'AllergyIntolerance-example.json',
      ['verificationStatus', 'coding', 0, 'code'],
      'AllergyIntolerance.verificationStatus',
    ],
    ['DiagnosticReport-102.json', ['status'], 'DiagnosticReport.status'],
    ['Procedure-biopsy.json', ['status'], 'Procedure.status'],
    ['Immunization-example.json', ['status'], 'Immunization.status'],
    ['Consent-consent-example-Out.json', ['status'], 'Consent.status'],
    ['Bundle-lipids.json', ['type'], 'Bundle.type'],
    [
      'Bundle-bundle-transaction.json',
      ['entry', 0, 'request', 'method'],
      'Bundle.entry[0].request.method',
    ],
    ['Patient-example.json', ['name', 0, 'use'], 'Patient.name[0].use'],
    ['Patient-example.json', ['telecom', 1, 'system'], 'Patient.telecom[1].system'],
    ['Patient-example.json', ['telecom', 1, 'use'], 'Patient.telecom[1].use'],
    ['Patient-example.json', ['address', 0, 'use'], 'Patient.address[0].use'],
    ['Patient-example.json', ['address', 0, 'type'], 'Patient.address[0].type'],
    ['Patient-example.json', ['identifier', 0, 'use'], 'Patient.identifier[0].use'],
    ['Patient-example.json', ['text', 'status'], 'Patient.text.status'],
  ];
  for (const [file, path, expression] of cases) {
    test(`a code outside the value set is refused at ${expression}`, () => {
      const original = example(file);
      assert.deepEqual(errors(original), []);
      const issue = onlyError(withValue(original, path, 'not-a-code'));
      assert.equal(issue.code, 'code-invalid');
      assert.deepEqual(issue.expression, [expression]);
    });
  }

  test('a CodeableConcept under a required binding needs a coding from the value set, not text alone or another system', () => {
    const condition = example('Condition-example.json');
    assert.deepEqual(
      onlyError(withValue(condition, ['clinicalStatus'], { text: 'active' })).expression,
      ['Condition.clinicalStatus'],
    );
    const otherSystem = withValue(
      condition,
      ['clinicalStatus', 'coding', 0, 'system'],
      'http://example.org/status',
    );
    assert.deepEqual(onlyError(otherSystem).expression, ['Condition.clinicalStatus']);
    const oneGoodCoding = withValue(
      condition,
      ['clinicalStatus', 'coding'],
      [
        { system: 'http://example.org/status', code: 'on' },
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'remission' },
      ],
    );
    assert.deepEqual(errors(oneGoodCoding), []);
  });

  test('bindings are checked inside datatypes, extensions, contained resources and Bundle entries', () => {
    const found = errors({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:3b5e6ab6-0c4d-4ad3-a8b6-3c2b4c1b2f6e',
          resource: {
            resourceType: 'Patient',
            contained: [{ resourceType: 'Observation', status: 'done', code: { text: 'x' } }],
            _birthDate: {
              extension: [{ url: 'http://example.org/name', valueHumanName: { use: 'alias' } }],
            },
          },
        },
      ],
    });
    assert.deepEqual(
      found.map((issue) => [issue.code, issue.expression[0]]),
      [
        ['code-invalid', 'Bundle.entry[0].resource.contained[0].status'],
        ['code-invalid', 'Bundle.entry[0].resource.birthDate.extension[0].value.use'],
      ],
    );
  });

  test('value sets that cannot be expanded offline are listed, and not checked', () => {
    assert.deepEqual(
      uncheckedRequiredValueSets()
        .map((valueSet) => valueSet.url)
        .sort(),
      [
        'http://hl7.org/fhir/ValueSet/characteristic-combination', // not in the bundle (an R5 element medplum carries)
        'http://hl7.org/fhir/ValueSet/currencies', // ISO 4217, not bundled
        'http://hl7.org/fhir/ValueSet/mimetypes', // BCP 13, not bundled
        'http://hl7.org/fhir/ValueSet/subscription-notification-type', // R4B SubscriptionStatus, which is refused anyway
        'http://hl7.org/fhir/ValueSet/ucum-units', // UCUM is a grammar, not a list
        'http://loinc.org/vs/LL379-9', // a LOINC answer list, not bundled
      ],
    );
    const attachment = {
      resourceType: 'DocumentReference',
      status: 'current',
      content: [{ attachment: { contentType: 'made/up' } }],
    };
    assert.deepEqual(errors(attachment), []);
  });
});

describe('choice elements', () => {
  test('two value[x] on an Observation are refused at Observation.value', () => {
    const issue = onlyError({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'weight' },
      valueString: '72 kg',
      valueBoolean: true,
    });
    assert.equal(issue.code, 'structure');
    assert.deepEqual(issue.expression, ['Observation.value']);
    assert.match(issue.diagnostics, /value\[x\] has values of 2 types \(boolean, string\)/);
  });

  test('two types are refused in a component, in an extension, and across a primitive and its _ element', () => {
    const found = errors({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'blood pressure' },
      component: [{ code: { text: 'systolic' }, valueQuantity: { value: 120 }, valueInteger: 120 }],
      extension: [{ url: 'http://example.org/e', valueString: 'a', valueCode: 'b' }],
      effectiveDateTime: '2024-01-01',
      _effectivePeriod: { id: 'p' },
    });
    assert.deepEqual(found.map((issue) => issue.expression[0]).sort(), [
      'Observation.component[0].value',
      'Observation.effective',
      'Observation.extension[0].value',
    ]);
  });

  test('one value and its own _ element is one type', () => {
    assert.deepEqual(
      errors({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueString: 'a',
        _valueString: { id: 'v' },
      }),
      [],
    );
  });
});

describe('narrative XHTML', () => {
  const unsafe: [name: string, div: string, code: ValidationIssue['code'], diagnostics: RegExp][] =
    [
      ['<script>', narrative('<script>alert(1)</script>'), 'security', /<script> element/],
      [
        '<SCRIPT> in capitals',
        narrative('<p><SCRIPT>alert(1)</SCRIPT></p>'),
        'security',
        /<script> element/,
      ],
      [
        '<iframe>',
        narrative('<iframe src="https://example.org"></iframe>'),
        'security',
        /<iframe> element/,
      ],
      ['<object>', narrative('<object data="x.swf"></object>'), 'security', /<object> element/],
      ['<embed>', narrative('<embed src="x.swf"/>'), 'security', /<embed> element/],
      [
        '<form>',
        narrative('<form action="https://example.org"><p>x</p></form>'),
        'security',
        /<form> element/,
      ],
      [
        '<style>',
        narrative('<style>p { color: red }</style><p>x</p>'),
        'security',
        /<style> element/,
      ],
      ['<svg>', narrative('<svg><p>x</p></svg>'), 'security', /<svg> element/],
      ['an event handler', narrative('<p onclick="alert(1)">x</p>'), 'security', /event handler/],
      [
        'an event handler in capitals',
        narrative('<img src="a.png" ONERROR="alert(1)"/>'),
        'security',
        /event handler/,
      ],
      [
        'a javascript: href',
        narrative('<a href="javascript:alert(1)">x</a>'),
        'security',
        /javascript: URL/,
      ],
      [
        'a javascript: href hidden by case, a tab and a leading space',
        narrative('<a href=" JaVa&#x09;Script:alert(1)">x</a>'),
        'security',
        /javascript: URL/,
      ],
      [
        'a javascript: href hidden by character references',
        narrative('<a href="&#106;&#97;vascript&#58;alert(1)">x</a>'),
        'security',
        /javascript: URL/,
      ],
      [
        'a javascript: href hidden by an HTML named reference',
        narrative('<a href="javascript&colon;alert(1)">x</a>'),
        'security',
        /named character reference/,
      ],
      [
        'a javascript: href behind an unknown reference named like an Object property',
        narrative('<a href="&constructor;javascript:alert(1)">x</a>'),
        'security',
        /named character reference/,
      ],
      [
        'a javascript: href hidden by a reference without its semicolon',
        narrative('<a href="&#106avascript:alert(1)">x</a>'),
        'structure',
        /not well-formed/,
      ],
      [
        'a vbscript: href',
        narrative('<a href="vbscript:msgbox(1)">x</a>'),
        'security',
        /vbscript: URL/,
      ],
      [
        'a data: src',
        narrative('<img src="data:image/svg+xml;base64,PHN2Zz4="/>'),
        'security',
        /data: URL/,
      ],
      [
        'an unlisted URL scheme',
        narrative('<a href="file:///etc/passwd">x</a>'),
        'security',
        /file: URL/,
      ],
      [
        'a style with an expression',
        narrative('<p style="width: expression(alert(1))">x</p>'),
        'security',
        /style attribute/,
      ],
      [
        'a style with a CSS escape',
        narrative('<p style="background: url(\\6a avascript:alert(1))">x</p>'),
        'security',
        /style attribute/,
      ],
      [
        'a CDATA section',
        narrative('<![CDATA[ > <script>alert(1)</script> ]]>'),
        'security',
        /CDATA/,
      ],
      [
        'a processing instruction',
        narrative('<?xml-stylesheet href="x"?><p>x</p>'),
        'security',
        /processing instruction/,
      ],
      [
        'a foreign namespace',
        narrative('<p xmlns:x="http://www.w3.org/2000/svg">x</p>'),
        'security',
        /namespace other than XHTML/,
      ],
      [
        'a root without the XHTML namespace',
        '<div><p>x</p></div>',
        'structure',
        /must be a <div xmlns=/,
      ],
      [
        'a root that is not a div',
        `<p xmlns="${XHTML}">x</p>`,
        'structure',
        /must be a <div xmlns=/,
      ],
      [
        'text outside the root',
        `${narrative('<p>x</p>')}<script>alert(1)</script>`,
        'structure',
        /more than one root|outside the root/,
      ],
      ['an unclosed element', narrative('<p>x'), 'structure', /not well-formed/],
      [
        'a comment HTML ends early',
        narrative('<!-- --!><script>alert(1)</script> --><p>x</p>'),
        'structure',
        /not well-formed/,
      ],
      ['an unquoted attribute', narrative('<a href=x>y</a>'), 'structure', /not well-formed/],
      ['a bare ampersand', narrative('<p>fish & chips</p>'), 'structure', /not well-formed/],
      [
        'an element FHIR does not allow',
        narrative('<font color="red">x</font>'),
        'invalid',
        /<font> element/,
      ],
      [
        'an attribute FHIR does not allow',
        narrative('<p hidden="hidden">x</p>'),
        'invalid',
        /attribute that is not allowed/,
      ],
      ['no content (txt-2)', narrative('<p> </p>'), 'invariant', /txt-2/],
    ];
  for (const [name, div, code, diagnostics] of unsafe) {
    test(`refuses ${name}`, () => {
      const found = errors(patientWithNarrative(div));
      assert.ok(found.length > 0, 'no error');
      assert.ok(
        found.some(
          (issue) =>
            issue.code === code &&
            diagnostics.test(issue.diagnostics) &&
            issue.expression[0] === 'Patient.text.div',
        ),
        JSON.stringify(found),
      );
    });
  }

  test('refuses unsafe narrative in contained resources, Bundle entries and Composition sections', () => {
    const script = narrative('<script>alert(1)</script>');
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:0b6c9a3e-5d1f-4d8e-9a55-6b8f7c2e1d01',
          resource: {
            resourceType: 'Patient',
            contained: [
              {
                resourceType: 'Organization',
                id: 'o',
                name: 'x',
                text: { status: 'generated', div: script },
              },
            ],
            managingOrganization: { reference: '#o' },
          },
        },
        {
          fullUrl: 'urn:uuid:0b6c9a3e-5d1f-4d8e-9a55-6b8f7c2e1d02',
          resource: {
            resourceType: 'Composition',
            status: 'final',
            type: { text: 'note' },
            date: '2024-01-01',
            author: [{ display: 'x' }],
            title: 'x',
            section: [{ title: 's', text: { status: 'generated', div: script } }],
          },
        },
      ],
    };
    assert.deepEqual(
      errors(bundle).map((issue) => [issue.code, issue.expression[0]]),
      [
        ['security', 'Bundle.entry[0].resource.contained[0].text.div'],
        ['security', 'Bundle.entry[1].resource.section[0].text.div'],
      ],
    );
  });

  test('accepts valid narratives', () => {
    const valid = [
      narrative('<p>Hello</p>'),
      narrative(
        '<table class="grid"><thead><tr><th colspan="2">Name</th></tr></thead><tbody><tr><td>Peter</td><td style="color: red; font-weight: bold">James</td></tr></tbody></table>',
      ),
      narrative(
        '<p>Fish &amp; chips &lt;3 &#169; &#x2014; &nbsp;</p><!-- generated --><br/><hr />',
      ),
      narrative(
        '<a href="https://example.org/a?b=1&amp;c=2">link</a> <a href="#section-1">local</a> <a href="mailto:x@example.org">mail</a> <a name="anchor">a</a>',
      ),
      narrative('<img src="Binary/photo" alt="caf&eacute; &quot;photo&quot;"/>'),
      narrative(
        '<ul><li><b>bold</b></li><li><i>italic</i> <span lang="en" xml:lang="en">span</span></li></ul>',
      ),
      `\n  <div xmlns="${XHTML}" xml:lang="en">\n<h1>Title</h1>\n</div>\n`,
    ];
    for (const div of valid) assert.deepEqual(errors(patientWithNarrative(div)), [], div);
  });
});

describe('diagnostics', () => {
  const MARKER = 'Qz7SECRET9x';

  /** A Patient whose every field that is wrong carries MARKER: no issue may repeat it. */
  const patient = {
    resourceType: 'Patient',
    id: `${MARKER}_1`,
    meta: { profile: [`http://example.org/${MARKER}`], project: MARKER },
    active: MARKER,
    gender: MARKER,
    birthDate: MARKER,
    name: [{ use: MARKER, family: MARKER, given: [MARKER, ''] }],
    telecom: [{ system: MARKER, value: MARKER }],
    maritalStatus: { coding: [{ system: MARKER, code: MARKER }] },
    managingOrganization: { reference: `${MARKER}/1` },
    generalPractitioner: [{ reference: `Observation/${MARKER}` }],
    multipleBirthInteger: 1.5,
    photo: [{ data: `${MARKER}=`, size: 3 }],
    extension: [{ url: MARKER, valueString: MARKER, valueInteger: 7 }],
    text: {
      status: MARKER,
      div: narrative(
        `<script>${MARKER}</script><a href="javascript:${MARKER}">${MARKER}</a><${MARKER}>x</${MARKER}>`,
      ),
    },
  };

  test('never quote the resource, though medplum does', () => {
    const medplum = (() => {
      try {
        return medplumValidateResource(patient as Parameters<typeof medplumValidateResource>[0]);
      } catch (caught) {
        assert.ok(caught instanceof OperationOutcomeError);
        return caught.outcome.issue ?? [];
      }
    })();
    assert.ok(
      JSON.stringify(medplum).includes(MARKER),
      'the test needs medplum to quote the marker',
    );
    const issues = validateResource(patient);
    assert.ok(issues.length >= 15, JSON.stringify(issues));
    for (const issue of issues) {
      assert.ok(!issue.diagnostics.includes(MARKER), issue.diagnostics);
      assert.ok(!issue.expression.join().includes(MARKER), issue.expression.join());
    }
  });

  test('never quote an unknown resource type or an exception', () => {
    for (const resource of [
      { resourceType: MARKER },
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: MARKER } }],
      },
    ]) {
      for (const issue of validateResource(resource))
        assert.ok(!JSON.stringify(issue).includes(MARKER));
    }
  });
});

describe('resource envelope and R4 rules medplum lacks', () => {
  test('refuses what is not a JSON object of an R4 resource type', () => {
    assert.deepEqual(validateResource([{ resourceType: 'Patient' }]), [
      {
        severity: 'error',
        code: 'structure',
        expression: ['Resource'],
        diagnostics: 'a resource must be a JSON object',
      },
    ]);
    assert.deepEqual(validateResource(null)[0]?.code, 'structure');
    assert.deepEqual(validateResource({ gender: 'male' })[0]?.code, 'required');
    assert.deepEqual(validateResource({ resourceType: 'Quantity' })[0]?.code, 'invalid');
    assert.deepEqual(
      validateResource({
        resourceType: 'SubscriptionStatus',
        status: 'active',
        type: 'heartbeat',
        subscription: { reference: 'Subscription/1' },
      })[0]?.code,
      'not-supported',
    );
    const nested = errors({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Project' } }],
    });
    assert.deepEqual(
      nested.map((issue) => [issue.code, issue.expression[0]]),
      [['invalid', 'Bundle.entry[0].resource']],
    );
  });

  test('refuses the elements medplum adds to Meta', () => {
    const found = errors({
      resourceType: 'Patient',
      meta: { versionId: '1', project: 'p', compartment: [{ reference: 'Patient/1' }] },
    });
    assert.deepEqual(
      found.map((issue) => issue.expression[0]),
      ['Patient.meta.project', 'Patient.meta.compartment'],
    );
  });

  test("refuses names found only on Object.prototype as unknown elements, at the top, nested, in primitives' _ elements and in contained resources", () => {
    const names = [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      '__defineGetter__',
      '__lookupSetter__',
    ];
    for (const name of names) {
      // JSON.parse makes `__proto__` an own property, as a request body does.
      const places: [json: string, expression: string][] = [
        [`{"resourceType":"Patient","${name}":{"a":1}}`, `Patient.${name}`],
        [
          `{"resourceType":"Patient","name":[{"family":"x","${name}":"y"}]}`,
          `Patient.name[0].${name}`,
        ],
        [
          `{"resourceType":"Observation","status":"final","code":{"text":"x"},"component":[{"code":{"text":"y"},"${name}":true}]}`,
          `Observation.component[0].${name}`,
        ],
        [
          `{"resourceType":"Patient","gender":"male","_gender":{"${name}":"y"}}`,
          `Patient.gender.${name}`,
        ],
        [
          `{"resourceType":"Patient","contained":[{"resourceType":"Practitioner","id":"p","${name}":1}]}`,
          `Patient.contained[0].${name}`,
        ],
      ];
      for (const [json, expression] of places) {
        const found = errors(JSON.parse(json));
        assert.ok(
          found.some(
            (issue) => issue.code === 'structure' && issue.expression.includes(expression),
          ),
          `${expression} is refused: ${JSON.stringify(found)}`,
        );
      }
    }
    assert.equal(
      validateResource(JSON.parse('{"resourceType":"Patient","foo":1}')).length,
      1,
      'an unknown element medplum also reports is reported once',
    );
  });

  test('refuses resource ids that are not R4 ids, at any depth', () => {
    assert.deepEqual(onlyError({ resourceType: 'Patient', id: 'a_b' }).expression, ['Patient.id']);
    assert.deepEqual(onlyError({ resourceType: 'Patient', id: 'x'.repeat(65) }).expression, [
      'Patient.id',
    ]);
    assert.deepEqual(
      onlyError({
        resourceType: 'Patient',
        contained: [{ resourceType: 'Organization', id: 'a/b', name: 'x' }],
      }).expression,
      ['Patient.contained[0].id'],
    );
    assert.deepEqual(errors({ resourceType: 'Patient', id: `A-z.0${'9'.repeat(59)}` }), []);
  });

  test('refuses a date, dateTime or instant naming a day its month does not have', () => {
    const observation = (effective: Json) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'weight' },
      ...effective,
    });
    for (const [effective, where] of [
      [{ effectiveDateTime: '2020-02-30' }, 'Observation.effective'],
      [{ effectiveDateTime: '2021-02-29T10:00:00Z' }, 'Observation.effective'],
      [{ issued: '2020-04-31T10:00:00.000Z' }, 'Observation.issued'],
      [{ effectivePeriod: { start: '1900-02-29' } }, 'Observation.effective.start'],
    ] as const) {
      const found = onlyError(observation(effective));
      assert.deepEqual(
        [found.code, found.expression],
        ['value', [where]],
        JSON.stringify(effective),
      );
    }
    assert.deepEqual(onlyError({ resourceType: 'Patient', birthDate: '2019-02-29' }).expression, [
      'Patient.birthDate',
    ]);
    for (const effective of ['2020-02-29', '2000-02-29T00:00:00Z', '2021-12-31', '2021-02', '2021'])
      assert.deepEqual(errors(observation({ effectiveDateTime: effective })), [], effective);
  });

  test('refuses empty arrays, relative Coding.system and Bundle.entry.fullUrl, and a wrong Attachment.size', () => {
    assert.deepEqual(onlyError({ resourceType: 'Patient', name: [] }).expression, ['Patient.name']);
    assert.deepEqual(
      onlyError({
        resourceType: 'Patient',
        maritalStatus: { coding: [{ system: 'marital', code: 'M' }] },
      }).expression,
      ['Patient.maritalStatus.coding[0].system'],
    );
    assert.deepEqual(
      onlyError({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ fullUrl: 'Patient/1', resource: { resourceType: 'Patient', id: '1' } }],
      }).expression,
      ['Bundle.entry[0].fullUrl'],
    );
    assert.deepEqual(
      onlyError({ resourceType: 'Patient', photo: [{ data: 'Zm9vYg==', size: 5 }] }).expression,
      ['Patient.photo[0].size'],
    );
    assert.deepEqual(
      errors({ resourceType: 'Patient', photo: [{ data: 'Zm9v\nYg==', size: 4 }] }).length,
      1,
      'medplum refuses the line break, but the size is right',
    );
  });

  test(`refuses nesting deeper than ${RESOURCE_NESTING_DEPTH_MAX} levels without recursing into it`, () => {
    let extension: Json[] = [{ url: 'http://example.org/leaf', valueString: 'x' }];
    for (let level = 0; level < 10_000; level++)
      extension = [{ url: 'http://example.org/node', extension }];
    const issue = onlyError({ resourceType: 'Patient', extension });
    assert.equal(issue.code, 'structure');
    assert.match(issue.diagnostics, /nests deeper than/);
  });

  test('never throws, and every issue is well formed, for arbitrary JSON in and around a resource', () => {
    const codes = new Set([
      'structure',
      'required',
      'value',
      'invariant',
      'code-invalid',
      'not-supported',
      'security',
      'invalid',
    ]);
    const keys = fc.constantFrom(
      'resourceType',
      'id',
      'gender',
      'name',
      'use',
      'text',
      'div',
      'status',
      'contained',
      'extension',
      'valueString',
      'valueInteger',
      '_gender',
      'coding',
      'system',
      'code',
      'entry',
      'resource',
      'meta',
      'x',
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('Patient', 'Bundle', 'robot', narrative('<p>x</p>'), '<div>'),
        tie('object'),
        fc.array(tie('value'), { maxLength: 3 }),
      ),
      object: fc.dictionary(keys, tie('value'), { maxKeys: 5 }),
    })).value;
    const resource = fc.oneof(
      json,
      fc
        .record({
          resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle'),
          rest: fc.dictionary(keys, json, { maxKeys: 6 }),
        })
        .map(({ resourceType, rest }) => ({ ...rest, resourceType })),
    );
    fc.assert(
      fc.property(resource, (candidate) => {
        for (const issue of validateResource(candidate)) {
          assert.ok(
            ['error', 'warning'].includes(issue.severity) &&
              codes.has(issue.code) &&
              issue.expression.length === 1 &&
              issue.diagnostics.length > 0,
            JSON.stringify(issue),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  test('reports medplum findings as FHIRPath with our codes', () => {
    const found = errors({
      resourceType: 'Observation',
      code: { text: 'x' },
      valueQuantity: { value: '72' },
      unknownElement: 1,
    });
    assert.deepEqual(found.map((issue) => [issue.code, issue.expression[0]]).sort(), [
      ['required', 'Observation.status'],
      ['structure', 'Observation.unknownElement'],
      ['value', 'Observation.value.value'],
    ]);
  });
});
