/**
 * @medplum/core's validation issues, rewritten into ours. Medplum's messages can quote the
 * resource (a reference's type, a property name, an error thrown while evaluating FHIRPath), so
 * no message is passed on as it is: each known message is matched and re-worded from the parts
 * that come from the StructureDefinitions (cardinalities, constraint keys and texts, type and
 * slice names), and an unknown message becomes a generic one. Its expressions are made FHIRPath
 * ('Observation.value[x].unit' becomes 'Observation.value.unit').
 */
import { isObject, type ValidationIssue, type ValidationIssueCode } from './issue.js';

/** The parts of a medplum OperationOutcome.issue that are read. */
export interface MedplumIssue {
  severity?: string;
  code?: string;
  details?: { text?: string };
  expression?: string[];
}

/** What medplum's 'Unknown data type' becomes: it names no path, so element-checks.ts reports the same problem better. */
export const UNKNOWN_TYPE_DIAGNOSTICS =
  'a resource or element has a type that FHIR R4 does not define';

interface Rule {
  pattern: RegExp;
  code: ValidationIssueCode | ((match: RegExpExecArray) => ValidationIssueCode);
  /** The diagnostics, or undefined to drop the issue. */
  diagnostics: (match: RegExpExecArray, resourceTypes: ReadonlySet<string>) => string | undefined;
}

const RULES: readonly Rule[] = [
  {
    pattern: /^Missing required property$/,
    code: 'required',
    diagnostics: () => 'a required element is missing',
  },
  {
    pattern: /^Invalid number of values: expected (\d+)\.\.(\d+|\*), but found (\d+)$/,
    code: (match) => (Number(match[3]) < Number(match[1]) ? 'required' : 'structure'),
    diagnostics: (match) =>
      `the element allows ${match[1]}..${match[2]} values but has ${match[3]}`,
  },
  {
    pattern: /^Invalid additional property "/,
    code: 'structure',
    diagnostics: () => 'the element is not defined in FHIR R4 here',
  },
  {
    pattern:
      /^Invalid JSON type: expected (string|number|boolean), but got (string|number|boolean|object|undefined|bigint|symbol|function)$/,
    code: 'value',
    diagnostics: (match) => `expected a JSON ${match[1]}, but found a JSON ${match[2]}`,
  },
  {
    pattern: /^Invalid JSON type: ([A-Za-z]+) is not a valid FHIR type$/,
    code: 'structure',
    diagnostics: () => 'the element has a type that FHIR R4 does not define',
  },
  {
    pattern: /^Invalid ([A-Za-z0-9]+) format$/,
    code: 'value',
    diagnostics: (match) => `not a valid FHIR ${match[1]}`,
  },
  {
    pattern: /^String must contain non-whitespace content$/,
    code: 'value',
    diagnostics: () => 'a string must contain non-whitespace content',
  },
  {
    pattern: /^String cannot be larger than 1 MB$/,
    code: 'value',
    diagnostics: () => 'a string cannot be larger than 1 MB',
  },
  { pattern: /^Invalid numeric value$/, code: 'value', diagnostics: () => 'not a finite number' },
  {
    pattern: /^Expected number to be (an integer|positive|non-negative)$/,
    code: 'value',
    diagnostics: (match) => `the number must be ${match[1]}`,
  },
  {
    pattern: /^Invalid (null|undefined) value$/,
    code: 'structure',
    diagnostics: (match) => `${match[1]} is not a FHIR value`,
  },
  {
    pattern: /^Invalid empty (?:non-primitive )?value$/,
    code: 'structure',
    diagnostics: () => 'an element must not be empty',
  },
  {
    pattern: /^Expected array of values for property$/,
    code: 'structure',
    diagnostics: () => 'the element repeats, so its JSON value must be an array',
  },
  {
    pattern: /^Expected single value for property$/,
    code: 'structure',
    diagnostics: () => 'the element does not repeat, so its JSON value must not be an array',
  },
  {
    pattern: /^Value did not match expected pattern$/,
    code: 'value',
    diagnostics: () =>
      'the value does not match the fixed value or pattern of the StructureDefinition',
  },
  {
    pattern:
      /^Incorrect number of values provided for slice '([A-Za-z0-9_.-]*)': expected (\d+)\.\.(\d+|\*), but found (\d+)$/,
    code: 'structure',
    diagnostics: (match) =>
      `slice ${match[1]} allows ${match[2]}..${match[3]} values but has ${match[4]}`,
  },
  {
    pattern: /^Constraint ([A-Za-z0-9.-]+) not met: ([\s\S]*)$/,
    code: 'invariant',
    diagnostics: (match) => `constraint ${match[1]} failed: ${match[2]}`,
  },
  {
    pattern: /^Error evaluating invariant expression$/,
    code: 'invariant',
    diagnostics: () => 'an invariant could not be evaluated',
  },
  { pattern: /^Unknown data type: /, code: 'invalid', diagnostics: () => UNKNOWN_TYPE_DIAGNOSTICS },
  // Medplum reads the type of an absolute or urn:uuid reference as its scheme; only a relative reference's type is checked.
  {
    pattern: /^Invalid reference: got "([^"]*)", expected "(.*)"$/,
    code: 'invalid',
    diagnostics: (match, resourceTypes) =>
      resourceTypes.has(match[1]!)
        ? `a reference to ${match[1]} is not allowed here; allowed: ${targetTypes(match[2]!)}`
        : undefined,
  },
  // element-checks.ts reports these as errors, at the choice element.
  {
    pattern: /^Conflicting choice of type properties/,
    code: 'structure',
    diagnostics: () => undefined,
  },
  {
    pattern: /^Type of primitive extension does not match/,
    code: 'structure',
    diagnostics: () => undefined,
  },
];

const ISSUE_CODES = new Set<string>([
  'structure',
  'required',
  'value',
  'invariant',
  'code-invalid',
  'not-supported',
  'security',
  'invalid',
]);
/** A FHIRPath step: an element name with an optional index, as medplum writes them. */
const PATH_STEP = /^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\[x\])?(?:\[\d{1,9}\])?$/;

/**
 * Our issues for medplum's. `root` is the resource type, the expression for issues that have
 * none; `resourceTypes` are the R4 resource types, the only reference types a diagnostic names.
 */
export function fromMedplumIssues(
  issues: readonly unknown[],
  root: string,
  resourceTypes: ReadonlySet<string>,
): ValidationIssue[] {
  const converted: ValidationIssue[] = [];
  for (const issue of issues) {
    if (!isObject(issue)) continue;
    const medplum = issue as MedplumIssue;
    const severity =
      medplum.severity === 'error' || medplum.severity === 'fatal'
        ? 'error'
        : medplum.severity === 'warning'
          ? 'warning'
          : undefined;
    if (severity === undefined) continue;
    const text = typeof medplum.details?.text === 'string' ? medplum.details.text : '';
    const rewritten = rewrite(text, medplum.code, resourceTypes);
    if (rewritten === undefined) continue;
    const expression =
      Array.isArray(medplum.expression) && typeof medplum.expression[0] === 'string'
        ? fhirPath(medplum.expression[0], root)
        : root;
    converted.push({
      severity,
      code: rewritten.code,
      expression: [expression],
      diagnostics: rewritten.diagnostics,
    });
  }
  return converted;
}

function rewrite(
  text: string,
  code: string | undefined,
  resourceTypes: ReadonlySet<string>,
): { code: ValidationIssueCode; diagnostics: string } | undefined {
  for (const rule of RULES) {
    const match = rule.pattern.exec(text);
    if (match === null) continue;
    const diagnostics = rule.diagnostics(match, resourceTypes);
    if (diagnostics === undefined) return undefined;
    return { code: typeof rule.code === 'function' ? rule.code(match) : rule.code, diagnostics };
  }
  const fallback =
    code !== undefined && ISSUE_CODES.has(code) ? (code as ValidationIssueCode) : 'invalid';
  return {
    code: fallback,
    diagnostics: 'the resource does not conform to its FHIR R4 StructureDefinition',
  };
}

/** 'http://hl7.org/fhir/StructureDefinition/Patient", "…/Group' → 'Patient, Group'. */
function targetTypes(profiles: string): string {
  return profiles
    .split('", "')
    .map((profile) => /\/StructureDefinition\/([A-Za-z]+)$/.exec(profile)?.[1] ?? 'a profiled type')
    .join(', ');
}

/**
 * Medplum's path as FHIRPath: choice elements lose their '[x]' (FHIRPath names them without a
 * type), and the path stops before any step that is not an element name, since such a step
 * is an unknown JSON property and could carry anything.
 */
export function fhirPath(path: string, root: string): string {
  const steps = path.split('.');
  if (steps.length === 0 || steps[0] !== root) return root;
  const kept: string[] = [];
  for (const step of steps) {
    if (!PATH_STEP.test(step)) break;
    kept.push(step.replace('[x]', ''));
  }
  return kept.length === 0 ? root : kept.join('.');
}
