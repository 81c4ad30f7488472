/** Shared by the bundle tests: FhirError assertions and small Bundle builders. */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../ledger/index.js';
import { FhirError, type IssueCode } from '../outcome.js';

/** Asserts `run` throws a FhirError with this status, issue code and expression. */
export function assertFhirError(
  run: () => unknown,
  status: number,
  code: IssueCode,
  expression: string,
): FhirError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  return assertIsFhirError(caught, status, code, expression);
}

/** Asserts `error` is a FhirError with this status, issue code and expression. */
export function assertIsFhirError(
  error: unknown,
  status: number,
  code: IssueCode,
  expression: string,
): FhirError {
  assert.ok(error instanceof FhirError, `expected a FhirError, got ${String(error)}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.issues[0]!.code, code, error.message);
  assert.deepEqual(error.issues[0]!.expression, [expression]);
  return error;
}

/** An id source yielding 'id-1', 'id-2', …. */
export function counterIds(): () => string {
  let next = 0;
  return () => `id-${++next}`;
}

/** A Bundle of `type` with these entries. */
export function bundleOf(type: string, entry: unknown[]): JsonObject {
  return { resourceType: 'Bundle', type, entry } as JsonObject;
}

/** A POST entry creating `resource` under `fullUrl`. */
export function post(fullUrl: string, resource: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    fullUrl,
    resource,
    request: { method: 'POST', url: String(resource['resourceType']), ...extra },
  };
}
