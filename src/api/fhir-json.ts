/** FHIR JSON at the /fhir edge: reading a request's resource and sending one. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromUtf8, type JsonValue } from '../crypto/index.js';
import {
  applyFhirPathPatch,
  applyPatch,
  FhirError,
  JsonPatchError,
  parsePatch,
} from '../fhir/index.js';
import type { JsonObject } from '../ledger/index.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The body as a JSON resource of `type`; 415 for another content type, 400 for bad JSON or another type. */
export function jsonBody(request: FastifyRequest, type: string): JsonObject {
  const contentType = mediaType(request);
  if (contentType !== 'application/fhir+json' && contentType !== 'application/json')
    throw FhirError.of(415, 'not-supported', 'send application/fhir+json');
  const parsed = parsedBody(request);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw FhirError.of(400, 'structure', 'the body must be a JSON object');
  const resource = parsed as JsonObject;
  if (resource['resourceType'] !== type)
    throw FhirError.of(400, 'invalid', `the body must be a ${type}`, ['resourceType']);
  return resource;
}

/**
 * The body of a PATCH of a `type` resource, as the JSON Patch operations it asks of the current
 * resource: a JSON Patch (RFC 6902, application/json-patch+json) or a FHIRPath Patch (a
 * Parameters resource, application/fhir+json). 415 for another content type, 400 for a
 * document that is neither.
 */
export function patchBody(
  request: FastifyRequest,
  type: string,
): (current: JsonObject) => JsonValue {
  const contentType = mediaType(request);
  if (contentType === 'application/fhir+json' || contentType === 'application/json') {
    const parameters = jsonBody(request, 'Parameters');
    return (current) => applyFhirPathPatch(parameters, type, current);
  }
  if (contentType !== 'application/json-patch+json')
    throw FhirError.of(
      415,
      'not-supported',
      'send a JSON Patch (application/json-patch+json) or a FHIRPath Patch (application/fhir+json)',
    );
  try {
    const operations = parsePatch(parsedBody(request));
    return (current) => applyPatch(current, operations);
  } catch (error) {
    if (error instanceof JsonPatchError) throw FhirError.of(400, 'structure', error.message);
    throw error;
  }
}

function mediaType(request: FastifyRequest): string {
  return String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/**
 * The body parsed as JSON: 400 for bytes that are not UTF-8 (never silently replaced), for
 * text that is not JSON, and for a string holding a lone UTF-16 surrogate, which JSON's \u
 * escapes can spell but no Unicode text (nor a signed transaction) can hold.
 */
function parsedBody(request: FastifyRequest): unknown {
  let text: string;
  try {
    text = fromUtf8(request.body as Uint8Array);
  } catch {
    throw FhirError.of(400, 'structure', 'the body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw FhirError.of(400, 'structure', 'the body is not valid JSON');
  }
  if (ESCAPED_SURROGATE.test(text) && !isWellFormed(parsed))
    throw FhirError.of(
      400,
      'structure',
      'the body holds a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair)',
    );
  return parsed;
}

/** A \u escape of a surrogate: the only way a string parsed from UTF-8 text can hold a lone one. */
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when no string in `value`, member names included, holds a lone surrogate. Iterative: the depth is the client's. */
function isWellFormed(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (LONE_SURROGATE.test(next)) return false;
    } else if (Array.isArray(next)) for (const item of next) pending.push(item);
    else if (next !== null && typeof next === 'object')
      for (const [name, member] of Object.entries(next)) pending.push(name, member);
  }
  return true;
}

/** `body` as FHIR JSON with `status`. */
export function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}
