/** FHIR JSON at the /fhir edge: reading a request's resource and sending one. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JsonValue } from '../crypto/index.js';
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

function parsedBody(request: FastifyRequest): unknown {
  try {
    return JSON.parse(Buffer.from(request.body as Uint8Array).toString('utf8'));
  } catch {
    throw FhirError.of(400, 'structure', 'the body is not valid JSON');
  }
}

/** `body` as FHIR JSON with `status`. */
export function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}
