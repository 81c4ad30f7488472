/**
 * How often validateResource agrees with the HL7 reference (Java) validator on whether a
 * resource is valid, over the R4 cases of FHIR/fhir-test-cases (validator/manifest.json, as
 * filtered into a folder holding index.json and cases/). A case agrees when both find errors
 * or both find none; the number of errors is not compared, since the two validators word and
 * split their findings differently. Used by agreement.test.ts and
 * bench/fhir-validator-agreement.ts, never by the server.
 *
 * Cases are skipped, before validating, by rules that look only at index.json:
 * - tx: true: the reference run used a terminology server, so its verdict may rest on
 *   terminology content (LOINC, SNOMED CT displays) that is not available offline;
 * - a file already listed: index.json names some files twice, from manifest entries that ran
 *   them under settings it does not record (contained-resource.json is expected both invalid
 *   and valid); only a file's first entry counts;
 * - JSON that does not parse, or a resourceType that is not R4, which cannot be validated
 *   standalone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadR4Definitions } from './definitions.js';
import { isObject } from './issue.js';
import { validateResource } from './validate.js';

/** One entry of index.json. */
export interface ReferenceCase {
  case: string;
  module: string;
  jsonParses: boolean;
  expectedErrors: number;
  firstError: string | null;
  tx: boolean;
}

/** The outcome of one case that was run. */
export interface CaseResult {
  case: string;
  module: string;
  /** Errors the reference validator reports. */
  expectedErrors: number;
  /** Errors validateResource reports. */
  errors: number;
  agree: boolean;
  /** The reference validator's first error, as index.json gives it. */
  firstExpectedError: string | null;
  /** Our first error, as 'expression: diagnostics'. */
  firstError: string | null;
}

export interface SkippedCase {
  case: string;
  reason: string;
}

export interface AgreementReport {
  /** Cases run. */
  cases: number;
  /** Cases where both validators call the resource valid, or both call it invalid. */
  agree: number;
  /** agree / cases. */
  agreementRate: number;
  results: CaseResult[];
  skipped: SkippedCase[];
}

/** Runs every case of `directory` (which holds index.json and cases/) through validateResource. */
export function measureAgreement(directory: string): AgreementReport {
  const index: unknown = JSON.parse(readFileSync(join(directory, 'index.json'), 'utf8'));
  assert(isObject(index) && Array.isArray(index.cases), 'index.json has no cases list');
  const resourceTypes = loadR4Definitions().resourceTypes;
  const results: CaseResult[] = [];
  const skipped: SkippedCase[] = [];
  const seen = new Map<string, number>();
  for (const entry of index.cases) {
    const referenceCase = readCase(entry);
    const skip = skipReason(referenceCase, seen.get(referenceCase.case));
    if (!seen.has(referenceCase.case)) seen.set(referenceCase.case, referenceCase.expectedErrors);
    if (skip !== undefined) {
      skipped.push({ case: referenceCase.case, reason: skip });
      continue;
    }
    const resource: unknown = JSON.parse(
      readFileSync(join(directory, 'cases', referenceCase.case), 'utf8'),
    );
    if (
      !isObject(resource) ||
      typeof resource.resourceType !== 'string' ||
      !resourceTypes.has(resource.resourceType)
    ) {
      skipped.push({ case: referenceCase.case, reason: 'not an R4 resource' });
      continue;
    }
    results.push(runCase(referenceCase, resource));
  }
  const agree = results.filter((result) => result.agree).length;
  return {
    cases: results.length,
    agree,
    agreementRate: results.length === 0 ? 0 : agree / results.length,
    results,
    skipped,
  };
}

function readCase(entry: unknown): ReferenceCase {
  assert(
    isObject(entry) && typeof entry.case === 'string' && typeof entry.expectedErrors === 'number',
    'an index.json case lacks case or expectedErrors',
  );
  return {
    case: entry.case,
    module: typeof entry.module === 'string' ? entry.module : '',
    jsonParses: entry.jsonParses !== false,
    expectedErrors: entry.expectedErrors,
    firstError: typeof entry.firstError === 'string' ? entry.firstError : null,
    tx: entry.tx === true,
  };
}

/** Why a case is not run, from index.json alone; `earlierExpectedErrors` when its file was listed before. */
function skipReason(
  referenceCase: ReferenceCase,
  earlierExpectedErrors: number | undefined,
): string | undefined {
  if (!referenceCase.jsonParses) return 'the case is not valid JSON';
  if (earlierExpectedErrors !== undefined) {
    const contradicts = earlierExpectedErrors > 0 !== referenceCase.expectedErrors > 0;
    return `the file is listed again, under a manifest setting index.json does not record${contradicts ? ', with the opposite verdict' : ''}; only its first entry counts`;
  }
  if (referenceCase.tx)
    return 'the reference used a terminology server (tx: true), so its verdict may rest on terminology not available offline';
  return undefined;
}

function runCase(referenceCase: ReferenceCase, resource: unknown): CaseResult {
  const errors = validateResource(resource).filter((issue) => issue.severity === 'error');
  const first = errors[0];
  return {
    case: referenceCase.case,
    module: referenceCase.module,
    expectedErrors: referenceCase.expectedErrors,
    errors: errors.length,
    agree: errors.length > 0 === referenceCase.expectedErrors > 0,
    firstExpectedError: referenceCase.firstError,
    firstError: first === undefined ? null : `${first.expression.join(', ')}: ${first.diagnostics}`,
  };
}
