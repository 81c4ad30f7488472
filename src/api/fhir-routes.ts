/**
 * FHIR R4 REST at /fhir (hl7.org/fhir/R4/http.html): JSON only, every error an OperationOutcome.
 * Requests are authenticated by `FhirAuth`; its scopes gate each interaction, and the node's
 * consent check then decides every read, so a scope never widens consent.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CODE_PATTERN, type Principal } from '../contracts/index.js';
import {
  capabilityStatement,
  defaultPurpose,
  etagOf,
  etagVersion,
  failureEntry,
  FhirError,
  FhirService,
  isResourceTypeName,
  nextOffsetOf,
  operationOutcome,
  proofParameters,
  searchPage,
  type HistoryEntry,
  type SearchCaller,
  type SearchFailure,
  type ServedVersion,
  type TypeHandler,
} from '../fhir/index.js';
import { storageError, type RecordLedger } from '../fhir/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { registerBreakTheGlassOperations } from './fhir-break-the-glass.js';
import { registerErasureOperations } from './fhir-erasure.js';
import { registerBulkExport } from './fhir-bulk-export.js';
import { registerSubscriptionRoutes } from './fhir-subscription-routes.js';
import { registerSubscriptionWebsocket } from './fhir-websocket.js';
import { jsonBody, patchBody, send } from './fhir-json.js';
import { rateLimitedAuth } from './fhir-rate-limit.js';
import {
  FHIR_RATE_LIMIT_DEFAULT,
  HTTP_BODY_BYTES_MAX,
  type FhirRateLimit,
} from '../ledger/index.js';

/** A FHIR interaction, as scopes name them (SMART v2: c, r, u, d, s). */
export type FhirInteraction = 'create' | 'read' | 'update' | 'delete' | 'search';

/** Who is calling, and what their token lets them do. */
export interface FhirCaller {
  readonly principal: Principal;
  allows(resourceType: string, interaction: FhirInteraction): boolean;
}

/** Authentication for /fhir: resolves the caller from the request, or throws a FhirError (401). */
export interface FhirAuth {
  authenticate(request: FastifyRequest): Promise<FhirCaller>;
  /** Where clients get tokens, for the CapabilityStatement; undefined when auth is external. */
  readonly endpoints?: { readonly tokenUrl: string; readonly authorizeUrl: string };
}

type Params = { type: string; id: string; vid: string };

/** How /fhir is served: each user's request budget, and the ledger writes commit through. */
export interface FhirRouteOptions {
  readonly rateLimit?: FhirRateLimit | undefined;
  readonly ledger?: RecordLedger | undefined;
  /** The FHIR service to serve, when the caller shares it (with an MLLP listener, say) and closes it. */
  readonly service?: FhirService | undefined;
}

/**
 * Registers the /fhir routes for `node`, authenticating with `auth` and holding each user to
 * `options.rateLimit` (default FHIR_RATE_LIMIT_DEFAULT). Writes commit through `options.ledger`,
 * the node's own unless a benchmark passes another.
 * Refusing plain HTTP from off this machine is buildServer's (transport-guard.ts), for every
 * prefix at once: an app that mounts these routes by itself must add that guard too.
 */
export function registerFhirRoutes(
  app: FastifyInstance,
  node: NodeFacade,
  authenticator: FhirAuth,
  options: FhirRouteOptions = {},
): void {
  const auth = rateLimitedAuth(authenticator, options.rateLimit ?? FHIR_RATE_LIMIT_DEFAULT);
  const service = options.service ?? new FhirService(node, { ledger: options.ledger });
  const { records } = service;
  const handlerFor = (type: string): TypeHandler => service.handlerFor(type);
  // Conditional interactions and patch apply to records; the ledger's views have their own rules.
  const recordsOnly = (type: string, interaction: string): void => {
    if (handlerFor(type) !== records)
      throw FhirError.of(405, 'not-supported', `${interaction} is not supported on ${type}`);
  };
  if (options.service === undefined) app.addHook('onClose', async () => service.close());
  const callers = new WeakMap<FastifyRequest, FhirCaller>();
  void app.register(
    async (fhir) => {
      fhir.setErrorHandler((error, _request, reply) => sendError(reply, error));
      // Before any body is read: an anonymous client must not make the node buffer and parse megabytes.
      fhir.addHook('onRequest', async (request) => {
        if (
          (request.method === 'GET' || request.method === 'HEAD') &&
          request.url.split('?')[0] === '/fhir/metadata'
        )
          return;
        callers.set(request, await auth.authenticate(request));
      });
      const callerOf = (request: FastifyRequest): FhirCaller => {
        const caller = callers.get(request);
        assert(
          caller !== undefined,
          'every /fhir route but metadata is authenticated in onRequest',
        );
        return caller;
      };
      fhir.setNotFoundHandler((request, reply) =>
        sendError(
          reply,
          FhirError.of(
            404,
            'not-supported',
            `no FHIR interaction ${request.method} ${request.url.split('?')[0]}`,
          ),
        ),
      );
      fhir.get('/metadata', async (request, reply) =>
        send(
          reply,
          200,
          capabilityStatement(baseUrl(request), new Date().toISOString(), auth.endpoints),
        ),
      );

      fhir.post('/', async (request, reply) => {
        const bundle = jsonBody(request, 'Bundle');
        const caller = authorisedBundle(callerOf(request), bundle);
        const prefer = /return=representation/.test(String(request.headers['prefer'] ?? ''))
          ? 'representation'
          : 'minimal';
        return send(
          reply,
          200,
          await service.bundles.execute(
            caller.principal,
            bundle,
            purposeOf(request, caller),
            prefer,
            readScope(caller),
          ),
        );
      });

      fhir.post<{ Params: Params }>('/:type', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'create');
        const resource = resourceBody(request);
        const ifNoneExist = singleHeader(request.headers['if-none-exist']);
        if (ifNoneExist === undefined) {
          const created = await handlerFor(request.params.type).create(caller.principal, resource);
          return sendVersion(request, reply, 201, created);
        }
        recordsOnly(request.params.type, 'conditional create');
        // Its match is read back: the token must search and read the type, not only create it.
        authorised(caller, request, ['search', 'read']);
        const found = await service.conditional.create(
          searchCaller(request, caller),
          resource,
          ifNoneExist.replace(/^[A-Za-z]+\?/, ''),
        );
        return sendVersion(request, reply, found.created ? 201 : 200, found);
      });

      fhir.put<{ Params: Params }>('/:type', async (request, reply) => {
        const caller = authorised(callerOf(request), request, ['update', 'search']);
        recordsOnly(request.params.type, 'conditional update');
        const updated = await service.conditional.update(
          searchCaller(request, caller),
          request.params.type,
          queryOf(request),
          resourceBody(request),
        );
        return sendVersion(request, reply, updated.created ? 201 : 200, updated);
      });

      fhir.delete<{ Params: Params }>('/:type', async (request, reply) => {
        const caller = authorised(callerOf(request), request, ['delete', 'search']);
        recordsOnly(request.params.type, 'conditional delete');
        const version = await service.conditional.delete(
          searchCaller(request, caller),
          request.params.type,
          queryOf(request),
        );
        if (version !== undefined) void reply.header('ETag', etagOf(version));
        return reply.code(204).send();
      });

      fhir.patch<{ Params: Params }>('/:type/:id', async (request, reply) => {
        // A patch reads the current version and answers with the result: update and read both.
        const caller = authorised(callerOf(request), request, ['update', 'read']);
        recordsOnly(request.params.type, 'patch');
        const patched = await records.patch(
          caller.principal,
          request.params.type,
          request.params.id,
          patchBody(request, request.params.type),
          purposeOf(request, caller),
          etagVersion(singleHeader(request.headers['if-match'])),
        );
        return sendVersion(request, reply, 200, patched);
      });

      fhir.get<{ Params: Params }>('/:type', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'search');
        const params = new URLSearchParams(request.url.split('?')[1] ?? '');
        return send(
          reply,
          200,
          await searchBundle(
            service,
            searchCaller(request, caller),
            request.params.type,
            params,
            baseUrl(request),
          ),
        );
      });

      fhir.get<{ Params: Params }>('/Patient/:id/$everything', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'read', 'Patient');
        const { count, offset } = searchPage(new URLSearchParams(request.url.split('?')[1] ?? ''));
        const page = await service.search.everything(
          searchCaller(request, caller),
          request.params.id,
          offset,
          count,
        );
        const next =
          page.nextOffset === undefined
            ? undefined
            : `${baseUrl(request)}/Patient/${encodeURIComponent(request.params.id)}/$everything?_count=${count}&_offset=${page.nextOffset}`;
        return send(reply, 200, searchSet(baseUrl(request), page.matches, next, [], page.failures));
      });

      registerBreakTheGlassOperations(fhir, node, callerOf);
      registerErasureOperations(fhir, node, callerOf);
      registerSubscriptionRoutes(fhir, service.subscriptions, callerOf, baseUrl);
      registerSubscriptionWebsocket(app, fhir, service.subscriptions, callerOf, baseUrl);
      registerBulkExport(fhir, service.bulkExport, {
        caller: callerOf,
        searchCaller: (request) => searchCaller(request, callerOf(request)),
        baseUrl,
        readGroup: async (request, id) => {
          const caller = callerOf(request);
          if (!caller.allows('Group', 'read'))
            throw FhirError.of(403, 'forbidden', "the token's scopes do not allow reading Group");
          return (await records.read(caller.principal, 'Group', id, purposeOf(request, caller)))
            .resource;
        },
      });

      fhir.get<{ Params: Params }>('/:type/:id', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'read');
        return sendVersion(
          request,
          reply,
          200,
          await handlerFor(request.params.type).read(
            caller.principal,
            request.params.type,
            request.params.id,
            purposeOf(request, caller),
          ),
        );
      });

      fhir.get<{ Params: Params }>('/:type/:id/_history/:vid', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'read');
        const version = versionIdOf(request.params.vid);
        return sendVersion(
          request,
          reply,
          200,
          await handlerFor(request.params.type).read(
            caller.principal,
            request.params.type,
            request.params.id,
            purposeOf(request, caller),
            version,
          ),
        );
      });

      fhir.get<{ Params: Params }>('/:type/:id/_history/:vid/$verify', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'read');
        if (handlerFor(request.params.type) !== records)
          throw FhirError.of(404, 'not-supported', '$verify applies to records');
        const proof = await records.verify(
          caller.principal,
          request.params.type,
          request.params.id,
          purposeOf(request, caller),
          versionIdOf(request.params.vid),
        );
        return send(reply, 200, proofParameters(proof));
      });

      fhir.get<{ Params: Params }>('/:type/:id/_history', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'read');
        const entries = await handlerFor(request.params.type).history(
          caller.principal,
          request.params.type,
          request.params.id,
          purposeOf(request, caller),
        );
        return send(
          reply,
          200,
          historyBundle(baseUrl(request), request.params.type, request.params.id, entries),
        );
      });

      fhir.put<{ Params: Params }>('/:type/:id', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'update');
        const resource = resourceBody(request);
        const updated = await handlerFor(request.params.type).update(
          caller.principal,
          request.params.type,
          request.params.id,
          resource,
          etagVersion(singleHeader(request.headers['if-match'])),
        );
        return sendVersion(request, reply, updated.created ? 201 : 200, updated);
      });

      fhir.delete<{ Params: Params }>('/:type/:id', async (request, reply) => {
        const caller = authorised(callerOf(request), request, 'delete');
        const version = await handlerFor(request.params.type).delete(
          caller.principal,
          request.params.type,
          request.params.id,
        );
        if (version !== undefined) void reply.header('ETag', etagOf(version));
        return reply.code(204).send();
      });
    },
    { prefix: '/fhir' },
  );
}

/** The request's query string, without the `?`. */
function queryOf(request: FastifyRequest): string {
  return request.url.split('?')[1] ?? '';
}

/**
 * The caller, once the token allows `interaction` (each of them, when several: a patch reads as
 * well as updates) on the URL's resource type.
 */
function authorised(
  caller: FhirCaller,
  request: FastifyRequest<{ Params: Partial<Params> }>,
  interaction: FhirInteraction | readonly FhirInteraction[],
  type = String(request.params.type),
): FhirCaller {
  if (!isResourceTypeName(type)) throw FhirError.of(404, 'not-supported', 'unknown resource type');
  for (const needed of typeof interaction === 'string' ? [interaction] : interaction) {
    if (!caller.allows(type, needed))
      throw FhirError.of(403, 'forbidden', `the token's scopes do not allow ${needed} on ${type}`);
  }
  return caller;
}

/** The caller of a batch or transaction Bundle, once the token allows every entry's interaction. */
function authorisedBundle(caller: FhirCaller, bundle: JsonObject): FhirCaller {
  const entries = Array.isArray(bundle['entry']) ? bundle['entry'] : [];
  for (const entry of entries) {
    const call = (entry as { request?: { method?: unknown; url?: unknown } } | null)?.request;
    const method = String(call?.method);
    const url = typeof call?.url === 'string' ? call.url : '';
    const type = /^([A-Z][A-Za-z]+)/.exec(url)?.[1];
    const interaction =
      method === 'GET' && url.includes('?')
        ? 'search'
        : Object.hasOwn(INTERACTION_OF_METHOD, method)
          ? INTERACTION_OF_METHOD[method]
          : undefined;
    if (type === undefined || interaction === undefined) continue; // malformed entries are the planner's to report
    if (!caller.allows(type, interaction))
      throw FhirError.of(
        403,
        'forbidden',
        `the token's scopes do not allow ${interaction} on ${type}`,
      );
  }
  return caller;
}

const INTERACTION_OF_METHOD: Readonly<Record<string, FhirInteraction>> = {
  POST: 'create',
  PUT: 'update',
  DELETE: 'delete',
  GET: 'read',
};

/** The JSON resource in the body: application/fhir+json or application/json, of the URL's type. */
function resourceBody(request: FastifyRequest<{ Params: Params }>): JsonObject {
  return jsonBody(request, request.params.type);
}

/** The token's scopes as a search sees them: which types it may return (as a direct read would need). */
function readScope(caller: FhirCaller): (type: string) => boolean {
  return (type) => caller.allows(type, 'read');
}

function searchCaller(request: FastifyRequest, caller: FhirCaller): SearchCaller {
  return {
    principal: caller.principal,
    purpose: purposeOf(request, caller),
    mayRead: readScope(caller),
  };
}

/** The purpose of use: the X-Purpose-Of-Use header (a v3 ActReason code), or the principal's default. */
function purposeOf(request: FastifyRequest, caller: FhirCaller): string {
  const header = request.headers['x-purpose-of-use'];
  if (header === undefined) return defaultPurpose(caller.principal);
  if (typeof header !== 'string' || !CODE_PATTERN.test(header))
    throw FhirError.of(400, 'value', 'X-Purpose-Of-Use must be one v3 ActReason code');
  return header;
}

function versionIdOf(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw FhirError.of(404, 'not-found', 'no such version');
  return Number(text);
}

function sendVersion(
  request: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
  status: number,
  version: ServedVersion,
): FastifyReply {
  const type = String(version.resource['resourceType']);
  const id = String(version.resource['id']);
  void reply
    .header('ETag', etagOf(version.versionId))
    .header('Last-Modified', new Date(version.lastUpdated).toUTCString());
  if (status === 201)
    void reply.header(
      'Location',
      `${baseUrl(request)}/${type}/${id}/_history/${version.versionId}`,
    );
  const prefer = String(request.headers['prefer'] ?? '');
  if (request.method !== 'GET' && /return=minimal/.test(prefer)) return reply.code(status).send();
  if (request.method !== 'GET' && /return=OperationOutcome/.test(prefer)) {
    return send(
      reply,
      status,
      operationOutcome([
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `anchored in transaction ${version.txId}`,
        },
      ]),
    );
  }
  return send(reply, status, version.resource);
}

function historyBundle(
  base: string,
  type: string,
  id: string,
  entries: readonly HistoryEntry[],
): JsonObject {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: entries.length,
    entry: entries.map((entry): JsonObject => {
      if ('deleted' in entry) {
        return {
          request: { method: 'DELETE', url: `${type}/${id}` },
          response: {
            status: '204',
            lastModified: new Date(entry.deleted.time).toISOString(),
            etag: etagOf(entry.deleted.version),
          },
        };
      }
      return {
        fullUrl: `${base}/${type}/${id}`,
        resource: entry.resource,
        request: {
          method: entry.versionId === 1 ? 'POST' : 'PUT',
          url: entry.versionId === 1 ? type : `${type}/${id}`,
        },
        response: {
          status: entry.versionId === 1 ? '201' : '200',
          etag: etagOf(entry.versionId),
          lastModified: entry.lastUpdated,
        },
      };
    }),
  };
}

/**
 * A searchset Bundle. `total` is left out for record searches (counting the caller's readable
 * matches would mean deciding every one). Included resources carry search.mode 'include';
 * records that could not be served, an OperationOutcome with search.mode 'outcome'.
 */
function searchSet(
  base: string,
  found: readonly ServedVersion[],
  next: string | undefined,
  included: readonly ServedVersion[] = [],
  failures: readonly SearchFailure[] = [],
): JsonObject {
  const entryOf =
    (mode: string) =>
    (version: ServedVersion): JsonObject => ({
      fullUrl: `${base}/${String(version.resource['resourceType'])}/${String(version.resource['id'])}`,
      resource: version.resource,
      search: searchOf(mode, version.basis),
    });
  const bundle: JsonObject = {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [
      ...found.map(entryOf('match')),
      ...included.map(entryOf('include')),
      ...failures.map(failureEntry),
    ],
  };
  if (next !== undefined) bundle['link'] = [{ relation: 'next', url: next }];
  return bundle;
}

/** The URL of the extension on Bundle.entry.search naming what let the caller read the entry. */
export const ACCESS_BASIS_EXTENSION = 'urn:chartchain:extension:access-basis';

/** Bundle.entry.search of a hit: its mode, and the access basis the contract decided, when there is one. */
function searchOf(mode: string, basis: string | undefined): JsonObject {
  return basis === undefined
    ? { mode }
    : { mode, extension: [{ url: ACCESS_BASIS_EXTENSION, valueCode: basis }] };
}

/** `GET [type]?params`: the ledger views by their own parameters, records through the search index. */
async function searchBundle(
  service: FhirService,
  caller: SearchCaller,
  type: string,
  params: URLSearchParams,
  base: string,
): Promise<JsonObject> {
  if (type === 'Provenance')
    return searchSet(
      base,
      service.provenance.search(
        caller.principal,
        requiredParam(params, 'target', type),
        caller.purpose,
      ),
      undefined,
    );
  if (type === 'Consent')
    return searchSet(
      base,
      service.consents.search(
        caller.principal,
        requiredParam(params, 'patient', type).replace(/^Patient\//, ''),
      ),
      undefined,
    );
  if (type === 'AuditEvent') {
    const patientId = requiredParam(params, 'patient', type).replace(/^Patient\//, '');
    const { count, offset } = searchPage(params);
    const page = service.auditEvents.search(caller.principal, patientId, offset, count);
    const nextOffset = nextOffsetOf(page.total, offset, count);
    const next =
      nextOffset === undefined
        ? undefined
        : `${base}/AuditEvent?patient=${encodeURIComponent(patientId)}&_count=${count}&_offset=${nextOffset}`;
    return { ...searchSet(base, page.found, next), total: page.total };
  }
  const page = await service.search.search(caller, type, params);
  const next =
    page.nextOffset === undefined ? undefined : nextLink(base, type, params, page.nextOffset);
  return searchSet(base, page.matches, next, page.included, page.failures);
}

function requiredParam(params: URLSearchParams, name: string, type: string): string {
  const values = params.getAll(name);
  if (values.length !== 1)
    throw FhirError.of(400, 'required', `${type} search needs one ${name} parameter`);
  return values[0]!;
}

function nextLink(base: string, type: string, params: URLSearchParams, offset: number): string {
  const next = new URLSearchParams(params);
  next.set('_offset', String(offset));
  return `${base}/${type}?${next.toString()}`;
}

/** A header sent at most once; a repeated one is ambiguous. */
function singleHeader(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw FhirError.of(400, 'value', 'the header may be sent once');
  return value;
}

/** Every failure under /fhir as an OperationOutcome: storage faults by name (503 or 500, see storageError), anything else unexpected an opaque 500. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof FhirError)
    return send(reply.headers(error.headers), error.status, error.outcome);
  const status = (error as { statusCode?: number }).statusCode;
  if (status === 413)
    return send(
      reply,
      413,
      FhirError.of(413, 'too-costly', `the body exceeds ${HTTP_BODY_BYTES_MAX} bytes`).outcome,
    );
  if (status !== undefined && status >= 400 && status < 500)
    return send(reply, status, FhirError.of(status, 'invalid', 'the request is malformed').outcome);
  const stored = storageError(error);
  reply.log.error({ err: error }, stored === undefined ? 'unexpected error' : 'storage fault');
  if (stored !== undefined)
    return send(reply.headers(stored.headers), stored.status, stored.outcome);
  return send(reply, 500, FhirError.of(500, 'exception', 'internal error').outcome);
}

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/fhir`;
}
