/** ETags of versioned resources (R4 http.html#versioning): W/"<versionId>". */
import { FhirError } from './outcome.js';

/** The ETag of version `versionId`. */
export function etagOf(versionId: number): string {
  return `W/"${versionId}"`;
}

/** The version an If-Match ETag (W/"3", or "3") names; undefined when there is none. Throws FhirError 400 for anything else. */
export function etagVersion(etag: string | undefined): number | undefined {
  if (etag === undefined) return undefined;
  const match = /^(?:W\/)?"([0-9]{1,10})"$/.exec(etag.trim());
  if (match === null) throw FhirError.of(400, 'value', 'If-Match must be an ETag such as W/"3"');
  return Number(match[1]);
}
