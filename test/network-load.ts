/**
 * Continuous, bounded load on a local network for the fault tests: FHIR creates and reads by the
 * practice's clinician, and org-signed transactions through POST /ledger/tx at every other
 * organisation's node (one lane each, each waiting for its answer so nonces arrive in order). It records
 * what was acknowledged, so a test can check that nothing acknowledged is lost or doubled.
 */
import { randomBytes } from 'node:crypto';
import { login } from '../src/cli/login.js';
import type { NetworkPlan } from '../src/cli/network/network-plan.js';
import { encodeTransaction, signTransaction, txIdOf } from '../src/ledger/index.js';
import { loadOrgKeys } from '../src/node/index.js';

const REQUEST_TIMEOUT_MS = 5_000;
/** A load stops by itself after this long, whatever happens to the test that started it. */
const LOAD_DURATION_MAX_MS = 10 * 60_000;

/** What the load saw. */
export interface LoadTally {
  /** FHIR record ids whose create answered 201. */
  readonly created: string[];
  /** txIds that POST /ledger/tx acknowledged with 202. */
  readonly acknowledged: string[];
  /** Reads of created records that answered 200. */
  reads: number;
  /** Answers by status, for the report. */
  readonly statuses: Record<string, number>;
  /** What the first few 5xx answers said (OperationOutcome diagnostics: never health data). */
  readonly serverErrors: string[];
}

/** A running load; stop() ends it and resolves once every request in flight has answered. */
export class NetworkLoad {
  readonly tally: LoadTally = {
    created: [],
    acknowledged: [],
    reads: 0,
    statuses: {},
    serverErrors: [],
  };
  #running = true;
  readonly #deadline = setTimeout(() => (this.#running = false), LOAD_DURATION_MAX_MS).unref();
  readonly #loops: Promise<void>[];
  /** Lanes paused by index (a node under a fault the test does not want loaded). */
  readonly paused = new Set<number>();

  private constructor(
    plan: NetworkPlan,
    private token: string,
  ) {
    // The practice's node signs the access log of every FHIR read with its organisation key, so
    // no lane may sign with that key beside it; the other organisations' keys sign the ledger lanes.
    const lanes = plan.nodes.map((node, index) =>
      index === 0 ? Promise.resolve() : this.#ledgerLane(index, node.dataDir, node.url),
    );
    this.#loops = [this.#fhirLane(plan.nodes[0]!.url), ...lanes];
  }

  /** Logs the practice's clinician in and starts every lane. */
  static async start(plan: NetworkPlan): Promise<NetworkLoad> {
    const { access_token } = await login(
      plan.nodes[0]!.url,
      'dr-ada',
      'chartchain-demo',
      'user/*.cruds',
    );
    return new NetworkLoad(plan, access_token);
  }

  async stop(): Promise<LoadTally> {
    this.#running = false;
    clearTimeout(this.#deadline);
    await Promise.all(this.#loops);
    return this.tally;
  }

  #count(status: string): void {
    this.tally.statuses[status] = (this.tally.statuses[status] ?? 0) + 1;
  }

  async #fhirLane(url: string): Promise<void> {
    while (this.#running) {
      if (this.paused.has(0)) {
        await pause(50);
        continue;
      }
      await this.#createOne(url);
      const created = this.tally.created;
      if (created.length > 0)
        await this.#readOne(url, created[Math.floor(Math.random() * created.length)]!);
    }
  }

  async #createOne(url: string): Promise<void> {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: 'Patient/patient-0001' },
      valueQuantity: {
        value: 60 + Math.floor(Math.random() * 40),
        unit: '/min',
        system: 'http://unitsofmeasure.org',
        code: '/min',
      },
    };
    const response = await this.#fetch(`${url}/fhir/Observation`, {
      method: 'POST',
      body: JSON.stringify(observation),
      headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    });
    if (response?.status === 201)
      this.tally.created.push(response.headers.get('location')!.split('/')[5]!);
  }

  async #readOne(url: string, id: string): Promise<void> {
    const response = await this.#fetch(`${url}/fhir/Observation/${id}`, {});
    if (response?.status === 200) this.tally.reads += 1;
    if (response?.status === 401)
      this.token = (
        await login(url, 'dr-ada', 'chartchain-demo', 'user/*.cruds').catch(() => ({
          access_token: this.token,
        }))
      ).access_token;
  }

  async #fetch(url: string, init: RequestInit): Promise<Response | undefined> {
    const response = await fetch(url, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }).catch(() => undefined);
    this.#count(response === undefined ? 'unreachable' : String(response.status));
    if (response !== undefined && response.status >= 500 && this.tally.serverErrors.length < 10) {
      this.tally.serverErrors.push(
        `${init.method ?? 'GET'} ${response.status}: ${await response
          .clone()
          .text()
          .catch(() => '')}`.slice(0, 300),
      );
    }
    await response
      ?.clone()
      .arrayBuffer()
      .catch(() => undefined);
    if (response === undefined) await pause(100);
    return response;
  }

  /** One organisation's lane: registrations signed with its key, one at a time. */
  async #ledgerLane(index: number, dataDir: string, url: string): Promise<void> {
    const { signing } = loadOrgKeys(dataDir);
    // Above every nonce an earlier load (before a restart) used: nonces need only increase.
    let nonce = Date.now() * 1_000;
    while (this.#running) {
      if (this.paused.has(index)) {
        await pause(50);
        continue;
      }
      const body = {
        patientId: `load-${randomBytes(8).toString('hex')}`,
        signingKey: randomBytes(32).toString('hex'),
        encryptionKey: randomBytes(32).toString('hex'),
        custody: 'custodial',
      };
      const tx = encodeTransaction(
        signTransaction(
          { type: 'membership.register-patient', nonce: (nonce += 1), body },
          signing,
        ),
      );
      const response = await fetch(`${url}/ledger/tx`, {
        method: 'POST',
        body: Buffer.from(tx),
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).catch(() => undefined);
      await response?.arrayBuffer().catch(() => undefined);
      this.#count(response === undefined ? 'unreachable' : String(response.status));
      if (response?.status === 202) this.tally.acknowledged.push(txIdOf(tx));
      else await pause(100);
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
