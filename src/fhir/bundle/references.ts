/**
 * References inside a resource (R4 references.html, bundle.html#references): every object
 * property named 'reference' with a string value, at any depth, contained resources and
 * extensions included.
 */
import { CANONICAL_DEPTH_MAX, type JsonValue } from '../../crypto/index.js';
import { FhirError } from '../outcome.js';

/** A reference string and where it sits, for the visitor to read or replace. */
export interface ReferenceSite {
  readonly reference: string;
  /** FHIRPath-ish location, e.g. 'Bundle.entry[2].resource.contained[0].subject.reference'. */
  readonly path: string;
  /** Replaces the reference in place. */
  replace(reference: string): void;
}

/** Conditional reference syntax: a resource type, '?', then search parameters. */
const CONDITIONAL = /^([A-Z][A-Za-z]*)\?(.+)$/;

/**
 * Calls `visit` for each reference string inside `value`, whose own path is `path`. Nesting
 * deeper than the ledger accepts (CANONICAL_DEPTH_MAX) is a 400 'too-costly'.
 */
export function forEachReference(
  value: JsonValue,
  path: string,
  visit: (site: ReferenceSite) => void,
  depth = 0,
): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > CANONICAL_DEPTH_MAX)
    throw FhirError.of(
      400,
      'too-costly',
      `resource nesting exceeds ${CANONICAL_DEPTH_MAX} levels`,
      [path],
    );
  if (Array.isArray(value)) {
    value.forEach((item, i) => forEachReference(item, `${path}[${i}]`, visit, depth + 1));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    if (key === 'reference' && typeof child === 'string') {
      visit({
        reference: child,
        path: childPath,
        replace: (reference) => (value[key] = reference),
      });
    } else {
      forEachReference(child, childPath, visit, depth + 1);
    }
  }
}

/** The resource type a conditional reference searches, or undefined when `reference` is not one. */
export function conditionalType(reference: string): string | undefined {
  return CONDITIONAL.exec(reference)?.[1];
}

/** True for the URN forms (urn:uuid:, urn:oid:) that only name another entry of the same Bundle. */
export function isBundleLocalUrn(reference: string): boolean {
  return reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:');
}
