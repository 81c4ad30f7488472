/** FHIR JSON at the /fhir edge: reading a request's resource and sending one. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../fhir/index.js';
import type { JsonObject } from '../ledger/index.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The body as a JSON resource of `type`; 415 for another content type, 400 for bad JSON or another type. */
export function jsonBody(request: FastifyRequest, type: string): JsonObject {
  const contentType = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/fhir+json' && contentType !== 'application/json')
    throw FhirError.of(415, 'not-supported', 'send application/fhir+json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(request.body as Uint8Array).toString('utf8'));
  } catch {
    throw FhirError.of(400, 'structure', 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw FhirError.of(400, 'structure', 'the body must be a JSON object');
  const resource = parsed as JsonObject;
  if (resource['resourceType'] !== type)
    throw FhirError.of(400, 'invalid', `the body must be a ${type}`, ['resourceType']);
  return resource;
}

/** `body` as FHIR JSON with `status`. */
export function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('Content-Type', FHIR_JSON).send(JSON.stringify(body));
}
