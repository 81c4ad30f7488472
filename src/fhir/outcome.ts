/**
 * FHIR errors as OperationOutcome (R4 operationoutcome.html): every failure at the FHIR edge
 * is one of these, with an HTTP status, issue codes from the IssueType value set and FHIRPath
 * expressions. Diagnostics name fields and rules, never values, so no patient data leaks.
 */

/** R4 IssueType codes used here. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-supported'
  | 'not-found'
  | 'deleted'
  | 'conflict'
  | 'too-costly'
  | 'code-invalid'
  | 'processing'
  | 'business-rule'
  | 'exception'
  | 'throttled'
  | 'transient'
  | 'multiple-matches'
  | 'informational';

/** One OperationOutcome.issue. */
export interface OutcomeIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: IssueCode;
  diagnostics: string;
  expression?: string[];
}

/** An R4 OperationOutcome. */
export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: OutcomeIssue[];
}

/** A FHIR interaction that failed: the HTTP status and the OperationOutcome to send. */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly issues: readonly OutcomeIssue[],
    /** Response headers the error needs, such as WWW-Authenticate on a 401. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(issues.map((issue) => issue.diagnostics).join('; '));
    this.name = 'FhirError';
  }

  /** A one-issue error. */
  static of(
    status: number,
    code: IssueCode,
    diagnostics: string,
    expression?: string[],
  ): FhirError {
    return new FhirError(status, [
      { severity: 'error', code, diagnostics, ...(expression === undefined ? {} : { expression }) },
    ]);
  }

  get outcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }
}

/** An OperationOutcome carrying `issues`. */
export function operationOutcome(issues: readonly OutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues.map((issue) => ({ ...issue })) };
}
