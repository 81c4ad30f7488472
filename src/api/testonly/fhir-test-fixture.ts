/**
 * Test support (not a test): the /fhir routes on a bare Fastify app over a fresh one-organisation
 * node, with header-named principals instead of SMART tokens, a counter of parsed bodies, and
 * practitioner dr-ada registered. Everything is torn down after the test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type HTTPMethods,
  type InjectOptions,
} from 'fastify';
import { MEMBERSHIP_REGISTER_PRACTITIONER, type Principal } from '../../contracts/index.js';
import { FhirError } from '../../fhir/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { ChartChainNode } from '../../node/index.js';
import { pseudonymOf } from './fhir-fixture.js';
import { registerFhirRoutes, type FhirAuth, type FhirInteraction } from '../fhir-routes.js';

export const ORG = 'practice-a';

/** `Bearer <kind>:<id>[:<interactions>][@<client>]` names the principal, the interactions its scopes allow and a system principal's OAuth client. */
export const headerAuth = (node: ChartChainNode): FhirAuth => ({
  async authenticate(request: FastifyRequest) {
    const match =
      /^Bearer (practitioner|patient|auditor|system):([A-Za-z0-9.-]+)(?::([a-z,]+))?(?:@([a-z-]+))?$/.exec(
        String(request.headers.authorization ?? ''),
      );
    if (match === null) throw FhirError.of(401, 'login', 'a bearer token is required');
    const principal: Principal = {
      kind: match[1] as Principal['kind'],
      id: pseudonymOf(node, match[1]!, match[2]!),
      org: ORG,
      ...(match[4] === undefined ? {} : { client: match[4] }),
    };
    const allowed = (match[3] ?? 'create,read,update,delete,search').split(',');
    return {
      principal,
      allows: (_type: string, interaction: FhirInteraction) => allowed.includes(interaction),
    };
  },
});

/** A served node; `parsedBodies` counts the request bodies the app has read and handed on. */
export interface FhirFixture {
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  readonly parsedBodies: () => number;
}

/**
 * A fresh one-organisation node with practitioner dr-ada registered; after `t`, `closeFirst`
 * (what serves the node), then the node is closed and removed.
 */
export async function nodeWithDoctor(
  t: TestContext,
  closeFirst: () => Promise<void> = async () => {},
): Promise<ChartChainNode> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-fhir-edge-'));
  ChartChainNode.init(dir, {
    orgId: ORG,
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = await ChartChainNode.open(dir, { verifyPoolSize: 1 });
  t.after(async () => {
    await closeFirst();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const keys = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: 'dr-ada', ...keys }),
      )
    ).status,
    'ok',
  );
  return node;
}

export async function serveFhir(t: TestContext): Promise<FhirFixture> {
  const app = Fastify({ bodyLimit: 32 * 1024 * 1024 });
  const node = await nodeWithDoctor(t, () => app.close());
  let parsed = 0;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    parsed += 1;
    done(null, new Uint8Array(body as Buffer));
  });
  registerFhirRoutes(app, node, headerAuth(node));
  await app.ready();
  return { node, app, parsedBodies: () => parsed };
}

export const AS_DOCTOR = { authorization: 'Bearer practitioner:dr-ada' };

/** A request with a FHIR JSON body, as dr-ada unless `headers` say otherwise. */
export function fhirJson(
  method: HTTPMethods,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): InjectOptions {
  return {
    method,
    url,
    headers: { 'content-type': 'application/fhir+json', ...AS_DOCTOR, ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** Checks that `response` is an OperationOutcome with `status` and first issue `code`; returns it. */
export function outcome(
  response: {
    statusCode: number;
    headers: Record<string, unknown>;
    json: () => unknown;
    body: string;
  },
  status: number,
  code: string,
): JsonObject {
  assert.equal(response.statusCode, status, response.body.slice(0, 500));
  assert.match(String(response.headers['content-type']), /^application\/fhir\+json/);
  const body = response.json() as JsonObject;
  assert.equal(body['resourceType'], 'OperationOutcome');
  assert.equal((body['issue'] as JsonObject[])[0]!['code'], code);
  return body;
}

/** Creates a Patient as dr-ada and returns its id. */
export async function createPatient(app: FastifyInstance): Promise<string> {
  const created = await app.inject(
    fhirJson('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'female' }),
  );
  assert.equal(created.statusCode, 201, created.body);
  return String((created.json() as JsonObject)['id']);
}
