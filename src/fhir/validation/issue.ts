/**
 * The issue every validation check reports: an OperationOutcome.issue (R4 operationoutcome.html)
 * without the OperationOutcome around it, so the FHIR API can send the list as it is.
 */

/** R4 IssueType codes that validation uses. */
export type ValidationIssueCode =
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'code-invalid'
  | 'not-supported'
  | 'security'
  | 'invalid';

/** One problem found in a resource. Only errors make a resource invalid; warnings are advice. */
export interface ValidationIssue {
  severity: 'error' | 'warning';
  code: ValidationIssueCode;
  /** FHIRPath of the offending element, e.g. ['Patient.gender'] or ['Bundle.entry[0].resource.text.div']. */
  expression: string[];
  /** Why, in words. Names elements, rules and value sets, never a value from the resource, so never patient data. */
  diagnostics: string;
}

/** A JSON object as JSON.parse returns it. */
export type Json = { [key: string]: unknown };

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function error(
  code: ValidationIssueCode,
  expression: string,
  diagnostics: string,
): ValidationIssue {
  return { severity: 'error', code, expression: [expression], diagnostics };
}
