/**
 * The Bulk Data export routes (Bulk Data Access IG 2.0): kick-off at `GET /fhir/Patient/$export`
 * and `GET /fhir/Group/[id]/$export` (the Group read like any read, checked and logged), status at `/fhir/$export-status/[job]` (DELETE cancels), files at `/fhir/$export-file/[job]/[type]`.
 * Only system clients export, and only the types their `system/…rs` scopes read; status and
 * files answer only the client that started the job.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  EXPORT_TYPES,
  FhirError,
  groupPatients,
  type ExportRequest,
  type FhirBulkExport,
  type SearchCaller,
} from '../fhir/index.js';
import type { JsonObject } from '../ledger/index.js';
import { send } from './fhir-json.js';
import type { FhirCaller } from './fhir-routes.js';

const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
/** Seconds a client should wait before polling a running job again. */
const POLL_AFTER_SECONDS = 2;

/** How the routes learn who is asking, as /fhir authenticated them. */
export interface ExportCallers {
  caller(request: FastifyRequest): FhirCaller;
  searchCaller(request: FastifyRequest): SearchCaller;
  baseUrl(request: FastifyRequest): string;
  /** Group `id` as the caller may read it (a FhirError when they may not), its read logged. */
  readGroup(request: FastifyRequest, id: string): Promise<JsonObject>;
}

export function registerBulkExport(
  fhir: FastifyInstance,
  exports: FhirBulkExport,
  callers: ExportCallers,
): void {
  const kickOff = async (
    request: FastifyRequest,
    reply: FastifyReply,
    groupId?: string,
  ): Promise<FastifyReply> => {
    const caller = callers.caller(request);
    if (caller.principal.kind !== 'system')
      throw FhirError.of(403, 'forbidden', 'bulk export is for system clients (system/*.rs)');
    if (!/respond-async/.test(String(request.headers['prefer'] ?? '')))
      throw FhirError.of(400, 'invalid', 'a bulk export needs Prefer: respond-async');
    const exportRequest = exportRequestOf(request, caller, callers.baseUrl(request));
    exports.admit(callers.searchCaller(request));
    const patients =
      groupId === undefined ? undefined : groupPatients(await callers.readGroup(request, groupId));
    const id = exports.start(callers.searchCaller(request), { ...exportRequest, patients });
    return reply
      .code(202)
      .header('Content-Location', `${callers.baseUrl(request)}/$export-status/${id}`)
      .send();
  };
  fhir.get('/Patient/$export', async (request, reply) => kickOff(request, reply));
  fhir.get<{ Params: { id: string } }>('/Group/:id/$export', async (request, reply) =>
    kickOff(request, reply, request.params.id),
  );

  fhir.get<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    const status = exports.status(callers.searchCaller(request), request.params.job);
    if (status.state === 'running')
      return reply
        .code(202)
        .header('X-Progress', status.progress)
        .header('Retry-After', String(POLL_AFTER_SECONDS))
        .send();
    if (status.state === 'failed') throw FhirError.of(500, 'exception', status.reason);
    return manifest(reply, status, callers.baseUrl(request), request.params.job);
  });

  fhir.delete<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    exports.delete(callers.searchCaller(request), request.params.job);
    return reply.code(202).send();
  });

  fhir.get<{ Params: { job: string; type: string } }>(
    '/$export-file/:job/:type',
    async (request, reply) => {
      const { job, type } = request.params;
      const ndjson = exports.file(callers.searchCaller(request), job, type);
      return reply.code(200).header('Content-Type', 'application/fhir+ndjson').send(ndjson);
    },
  );
}

/** The kick-off's parameters: _outputFormat, _type (each readable under the token's scopes) and _since. */
function exportRequestOf(
  request: FastifyRequest,
  caller: FhirCaller,
  baseUrl: string,
): ExportRequest {
  const params = new URLSearchParams(request.url.split('?')[1] ?? '');
  const format = params.get('_outputFormat');
  if (format !== null && !NDJSON_FORMATS.has(format))
    throw FhirError.of(400, 'not-supported', '_outputFormat must be application/fhir+ndjson');
  const asked = params
    .getAll('_type')
    .flatMap((value) => value.split(','))
    .filter((type) => type !== '');
  for (const type of asked) {
    if (!EXPORT_TYPES.includes(type))
      throw FhirError.of(400, 'not-supported', `${type} is not a type this node exports`);
    if (!caller.allows(type, 'read'))
      throw FhirError.of(403, 'forbidden', `the token's scopes do not allow reading ${type}`);
  }
  const types =
    asked.length > 0
      ? [...new Set(asked)]
      : EXPORT_TYPES.filter((type) => caller.allows(type, 'read'));
  if (types.length === 0)
    throw FhirError.of(403, 'forbidden', "the token's scopes read none of the exported types");
  return {
    types,
    sinceMs: sinceOf(params.get('_since')),
    requestUrl: `${baseUrl}${request.url.slice('/fhir'.length)}`,
  };
}

function sinceOf(value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value)
    : NaN;
  if (Number.isNaN(ms)) throw FhirError.of(400, 'value', '_since must be a FHIR instant');
  return ms;
}

function manifest(
  reply: FastifyReply,
  status: Extract<ReturnType<FhirBulkExport['status']>, { state: 'done' }>,
  baseUrl: string,
  job: string,
): FastifyReply {
  return send(reply, 200, {
    transactionTime: status.transactionTime,
    request: status.request,
    requiresAccessToken: true,
    output: status.output.map(({ type, count }) => ({
      type,
      url: `${baseUrl}/$export-file/${job}/${type}`,
      count,
    })),
    error:
      status.errors === 0
        ? []
        : [{ type: 'OperationOutcome', url: `${baseUrl}/$export-file/${job}/OperationOutcome` }],
  });
}
