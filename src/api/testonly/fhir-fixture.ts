/**
 * Test support for the /fhir route tests (not part of the public API): a node serving FHIR on
 * Fastify's in-process injector, with a header "token" naming the principal and the resource
 * types its scopes allow. The SMART token path has its own tests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { MEMBERSHIP_REGISTER_PRACTITIONER, type Principal } from '../../contracts/index.js';
import { FhirError, type FhirService } from '../../fhir/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { ChartChainNode } from '../../node/index.js';
import { registerFhirRoutes, type FhirAuth } from '../fhir-routes.js';
import type { FhirRateLimit } from '../../ledger/index.js';

/** The organisation of every fixture node. */
export const FIXTURE_ORG = 'practice-a';

/**
 * `Bearer <kind>:<id>[:<Type>,<Type>…]`: the principal, and the resource types its scopes allow
 * (every interaction on them); all types when none are listed.
 */
const typeScopedAuth = (node: ChartChainNode): FhirAuth => ({
  async authenticate(request: FastifyRequest) {
    const match =
      /^Bearer (practitioner|patient|auditor|system):([A-Za-z0-9.-]+)(?::([A-Za-z,]+))?$/.exec(
        String(request.headers.authorization ?? ''),
      );
    if (match === null) throw FhirError.of(401, 'login', 'a bearer token is required');
    const principal: Principal = {
      kind: match[1] as Principal['kind'],
      id: pseudonymOf(node, match[1]!, match[2]!),
      org: FIXTURE_ORG,
    };
    const types = match[3]?.split(',');
    return { principal, allows: (type: string) => types === undefined || types.includes(type) };
  },
});

/**
 * The id a token for `kind` `id` acts under: a patient is named by their FHIR Patient id and
 * acts under their ledger pseudonym, as a SMART sign-in makes them (src/api/auth/users.ts).
 */
export function pseudonymOf(node: ChartChainNode, kind: string, id: string): string {
  return kind === 'patient' ? (node.pseudonyms.patientIdOf(id) ?? id) : id;
}

/**
 * A node with practitioner dr-ada registered, serving /fhir; closed and removed after `t`. With
 * `dataDir`, the node already initialised there is opened again instead (and left in place).
 */
export async function serveFhir(
  t: TestContext,
  options: {
    rateLimit?: FhirRateLimit;
    dataDir?: string;
    /** The FHIR service to serve, made here and closed by the fixture; the routes' own by default. */
    service?: (node: ChartChainNode) => FhirService;
  } = {},
): Promise<{ node: ChartChainNode; app: FastifyInstance }> {
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chartchain-fhir-'));
  const opened: {
    node?: ChartChainNode;
    app?: FastifyInstance;
    service?: FhirService | undefined;
  } = {};
  t.after(async () => {
    try {
      await opened.app?.close();
      await opened.service?.close();
      await opened.node?.close();
    } finally {
      // Also when a test closed the node itself first, and the second close failed.
      if (options.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
  if (options.dataDir === undefined)
    ChartChainNode.init(dir, {
      orgId: FIXTURE_ORG,
      orgName: 'Practice A',
      network: 'test',
      orderer: { batchTimeoutMs: 5 },
    });
  const node = (opened.node = await ChartChainNode.open(dir, { verifyPoolSize: 1 }));
  const app = (opened.app = Fastify());
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, new Uint8Array(body as Buffer)),
  );
  const service = (opened.service = options.service?.(node));
  registerFhirRoutes(app, node, typeScopedAuth(node), { rateLimit: options.rateLimit, service });
  await app.ready();
  if (options.dataDir !== undefined) return { node, app };
  const keys = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: 'dr-ada', ...keys }),
      )
    ).status,
    'ok',
  );
  return { node, app };
}

/** An injected request's answer: status, headers and the parsed body. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: JsonObject;
}

/** `method url` as `token` (default: practitioner dr-ada), with a JSON body when given. */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.token ?? 'practitioner:dr-ada'}`,
  };
  if (options.body !== undefined) headers['content-type'] = 'application/fhir+json';
  const response = await app.inject({
    method,
    url,
    headers,
    ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body === '' ? {} : (response.json() as JsonObject),
  };
}
