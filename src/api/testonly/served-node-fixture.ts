/**
 * Test support (not a test): a fresh one-organisation node behind the whole HTTP app (buildServer
 * with SMART tokens), practitioner dr-ada registered, and real bearer tokens for the demo roles
 * with the scopes their accounts get. Everything is torn down after the test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MEMBERSHIP_REGISTER_PRACTITIONER, type Principal } from '../../contracts/index.js';
import { ChartChainNode } from '../../node/index.js';
import { AuthServer, parseScopes } from '../auth/index.js';
import { ROLE_PROFILES } from '../auth/account-roles.js';
import { buildServer } from '../server.js';

export const ORG = 'practice-a';

/** A served node and a way to get tokens. */
export interface ServedNode {
  readonly node: ChartChainNode;
  readonly app: FastifyInstance;
  readonly auth: AuthServer;
  /** `Authorization` headers for `kind` `id` (a patient by pseudonym), with the role's account scopes unless `scope` says otherwise. */
  headers(
    kind: Principal['kind'],
    id: string,
    options?: { scope?: string; org?: string },
  ): Promise<Record<string, string>>;
}

/** The node and app, closed and removed after `t`. */
export async function serveNode(t: TestContext): Promise<ServedNode> {
  const dir = mkdtempSync(join(tmpdir(), 'chartchain-served-'));
  const opened: { node?: ChartChainNode; app?: FastifyInstance } = {};
  t.after(async () => {
    await opened.app?.close();
    await opened.node?.consent.settled(); // key shares a grant started, which a closing node would refuse
    await opened.node?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  ChartChainNode.init(dir, {
    orgId: ORG,
    orgName: 'Practice A',
    network: 'test',
    orderer: { batchTimeoutMs: 5 },
  });
  const node = (opened.node = await ChartChainNode.open(dir, { verifyPoolSize: 1 }));
  const auth = await AuthServer.create({
    issuer: 'http://127.0.0.1',
    fhirBaseUrl: 'http://127.0.0.1/fhir',
  });
  const app = (opened.app = buildServer(node, { auth }));
  await app.ready();
  const keys = node.records.enrol('practitioner', 'dr-ada');
  assert.equal(
    (
      await node.submitAndWait(
        node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: 'dr-ada', ...keys }),
      )
    ).status,
    'ok',
  );
  const headers = async (
    kind: Principal['kind'],
    id: string,
    options: { scope?: string; org?: string } = {},
  ) => {
    const scope = options.scope ?? (kind === 'system' ? 'system/*.rs' : ROLE_PROFILES[kind].scope);
    const token = await auth.tokens.issue({
      principal: { kind, id, org: options.org ?? ORG },
      scopes: parseScopes(scope),
    });
    return { authorization: `Bearer ${token}` };
  };
  return { node, app, auth, headers };
}

/** An injected request's answer: status, headers and the parsed body (undefined when empty). */
export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: T;
}

/** `method url` with `headers`, and a JSON body when given (as application/fhir+json under /fhir). */
export async function send<T = Record<string, unknown>>(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer<T>> {
  const contentType = url.startsWith('/fhir') ? 'application/fhir+json' : 'application/json';
  const withBody =
    body === undefined
      ? {}
      : {
          payload: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': contentType, ...headers },
        };
  const response = await app.inject({ method, url, headers, ...withBody });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (response.body === '' ? undefined : response.json()) as T,
  };
}

/** A FHIR Patient `id` and an Observation `observationId` of theirs, written by dr-ada; resolves with the patient's pseudonym. */
export async function writeChart(
  served: ServedNode,
  id: string,
  observationId: string,
): Promise<string> {
  const doctor = await served.headers('practitioner', 'dr-ada');
  assert.equal(
    (await send(served.app, 'PUT', `/fhir/Patient/${id}`, doctor, { resourceType: 'Patient', id }))
      .status,
    201,
  );
  const observation = {
    resourceType: 'Observation',
    id: observationId,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: `Patient/${id}` },
  };
  assert.equal(
    (await send(served.app, 'PUT', `/fhir/Observation/${observationId}`, doctor, observation))
      .status,
    201,
  );
  return served.node.pseudonyms.patientIdOf(id)!;
}

/** Who the chart fixture has tokens for: dr-ada, patient-0001 and patient-0002 (`other`), auditor-ann, the organisation's system client, and no one. */
export type Caller = 'doctor' | 'patient' | 'other' | 'auditor' | 'system' | 'none';

/** A served node with the charts of patient-0001 (`patientId`) and patient-0002 (`otherId`), and headers for every Caller. */
export async function serveCharts(
  t: TestContext,
): Promise<
  ServedNode & { patientId: string; otherId: string; as: Record<Caller, Record<string, string>> }
> {
  const served = await serveNode(t);
  const patientId = await writeChart(served, 'patient-0001', 'hba1c-1');
  const otherId = await writeChart(served, 'patient-0002', 'hba1c-2');
  const as = {
    doctor: await served.headers('practitioner', 'dr-ada'),
    patient: await served.headers('patient', patientId),
    other: await served.headers('patient', otherId),
    auditor: await served.headers('auditor', 'auditor-ann'),
    system: await served.headers('system', 'organisation'),
    none: {},
  };
  return { ...served, patientId, otherId, as };
}
