/**
 * The embedded default's demo consortium, written on first start through the same paths as any
 * client: the practice (this node) with practitioner dr-ada; a second member organisation, the
 * demo hospital, with practitioner dr-grey and a data-sharing agreement; patient patient-0001
 * with a few Observations; two Synthea patients imported as transaction Bundles; and
 * patient-0001's consent for the hospital to read for treatment. The practice is the patients'
 * home organisation: in an opt-out network it reads for treatment without a grant, and
 * patient-0001 withholds PSY and 42 CFR Part 2 records from it by restriction; in an opt-in
 * network each patient grants it instead, patient-0001 excluding those labels.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { exportSeed, generateSigningKey, generateX25519, toHex } from '../crypto/index.js';
import {
  AGREEMENTS_COUNTERSIGN,
  AGREEMENTS_PROPOSE,
  consentModelOf,
  MEMBERSHIP_PROPOSE_ADMIT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
  type GrantTerms,
  type Principal,
  type TxBuilder,
} from '../contracts/index.js';
import { FhirService } from '../fhir/index.js';
import { DEMO_SEED_RETRIES_MAX, signTransaction, type Transaction } from '../ledger/index.js';
import type { ChartChainNode } from '../node/index.js';

/** The practice's demo practitioner. */
export const PRACTITIONER_ID = 'dr-ada';
/** The demo patient every demo seeds. */
export const PATIENT_ID = 'patient-0001';
const HOSPITAL_ID = 'demo-hospital';
const SYNTHEA_DIR = fileURLToPath(new URL('../../demo/synthea', import.meta.url));

/** True when this node holds the demo practitioner's keys: it was seeded. */
export function hasDemo(node: ChartChainNode): boolean {
  return node.records.keystore.has(`practitioner:${PRACTITIONER_ID}:signing`);
}

/** Seeds the demo unless it already is; resolves true when it seeded. */
export async function seedDemo(node: ChartChainNode): Promise<boolean> {
  if (hasDemo(node)) return false;
  const keys = node.records.enrol('practitioner', PRACTITIONER_ID);
  await committed(
    node,
    node.signAsOrg(MEMBERSHIP_REGISTER_PRACTITIONER, { practitionerId: PRACTITIONER_ID, ...keys }),
  );
  const service = new FhirService(node);
  try {
    const doctor: Principal = { kind: 'practitioner', id: PRACTITIONER_ID, org: node.config.orgId };
    await seedPatient(node, service, doctor);
    for (const patientId of await importSynthea(service, doctor))
      await consentForPractice(
        node,
        patientId,
        `demo-consent-${patientId}`,
        practiceTerms(node.config.orgId),
      );
    await seedHospital(node);
  } finally {
    await service.close();
  }
  return true;
}

/** Patient patient-0001, a few Observations, and their consent for the practice (see consentForPractice). */
export async function seedPatient(
  node: ChartChainNode,
  service: FhirService,
  doctor: Principal,
): Promise<void> {
  const patient = {
    resourceType: 'Patient',
    id: PATIENT_ID,
    name: [{ family: 'Demo', given: ['Pat'] }],
    gender: 'female',
    birthDate: '1961-04-12',
  };
  await service.records.update(doctor, 'Patient', PATIENT_ID, patient);
  await consentForPractice(node, PATIENT_ID, 'demo-consent-practice', {
    ...practiceTerms(node.config.orgId),
    excludeLabels: ['PSY', '42CFRPart2'],
    purposes: ['TREAT', 'ETREAT'],
  });
  for (const [code, display, value, unit] of [
    ['8480-6', 'Systolic blood pressure', 128, 'mm[Hg]'],
    ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', 6.1, '%'],
  ] as const) {
    await service.records.create(doctor, {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${PATIENT_ID}` },
      effectiveDateTime: '2026-11-01T09:30:00Z',
      valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
    });
  }
}

/** Imports the demo Synthea Bundles; resolves with the ids their Patients were given. */
async function importSynthea(service: FhirService, doctor: Principal): Promise<string[]> {
  const patientIds: string[] = [];
  for (const name of readdirSync(SYNTHEA_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()) {
    const response = await service.bundles.execute(
      doctor,
      JSON.parse(readFileSync(join(SYNTHEA_DIR, name), 'utf8')),
      'TREAT',
      'minimal',
    );
    for (const entry of response['entry'] as { response: { location?: string } }[]) {
      const match = /^Patient\/([^/]+)/.exec(entry.response.location ?? '');
      if (match !== null) patientIds.push(match[1]!);
    }
  }
  return patientIds;
}

/**
 * The demo hospital: admitted by the practice's vote (the only member, so a majority), with its
 * own keys in this node's keystore, a practitioner, and an agreement under which the practice
 * discloses to it for treatment; patient-0001 consents to it too.
 */
async function seedHospital(node: ChartChainNode): Promise<void> {
  const signing = generateSigningKey();
  const encryption = generateX25519();
  node.records.keystore.put(`demo-org:${HOSPITAL_ID}:signing`, exportSeed(signing), 'ed25519-seed');
  const candidate = {
    action: 'admit' as const,
    orgId: HOSPITAL_ID,
    name: 'Demo Community Hospital',
    signingKey: toHex(signing.publicKey),
    encryptionKey: toHex(encryption.publicKey),
  };
  await committed(node, node.signAsOrg(MEMBERSHIP_PROPOSE_ADMIT, candidate));
  let nonce = 0;
  const asHospital = <Body>(schema: TxBuilder<Body>, value: NoInfer<Body>): Transaction =>
    signTransaction({ type: schema.type, nonce: (nonce += 1), body: schema.build(value) }, signing);
  const doctor = {
    practitionerId: 'dr-grey',
    signingKey: toHex(generateSigningKey().publicKey),
    encryptionKey: toHex(generateX25519().publicKey),
  };
  await committed(node, asHospital(MEMBERSHIP_REGISTER_PRACTITIONER, doctor));
  const terms = {
    resourceTypes: [],
    excludeLabels: ['PSY', '42CFRPart2'],
    purposes: ['TREAT', 'ETREAT'],
    period: { start: 0, end: null },
    redisclosure: false,
  };
  await committed(
    node,
    node.signAsOrg(AGREEMENTS_PROPOSE, {
      agreementId: 'demo-dsa-practice-hospital',
      discloser: node.config.orgId,
      recipient: HOSPITAL_ID,
      terms,
    }),
  );
  await committed(
    node,
    asHospital(AGREEMENTS_COUNTERSIGN, { agreementId: 'demo-dsa-practice-hospital' }),
  );
  await grant(node, PATIENT_ID, 'demo-consent-hospital', {
    ...practiceTerms(HOSPITAL_ID),
    actions: ['read'],
    purposes: ['TREAT'],
  });
}

/** Read and write for treatment, every type, open-ended: what the demo patients grant an organisation. */
export function practiceTerms(orgId: string): GrantTerms {
  return {
    grantee: { kind: 'organisation', id: orgId },
    actions: ['read', 'write'],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: [],
    purposes: ['TREAT'],
    period: { start: 0, end: null },
  };
}

/**
 * What a demo patient signs for the practice, their home organisation: `terms` as grant
 * `grantId` in an opt-in network; in an opt-out one no grant, and a restriction withholding the
 * labels `terms` exclude, if any. Throws unless it commits.
 */
async function consentForPractice(
  node: ChartChainNode,
  fhirPatientId: string,
  grantId: string,
  terms: GrantTerms,
): Promise<void> {
  if (consentModelOf(node.store.state) === 'opt-in')
    return grant(node, fhirPatientId, grantId, terms);
  if (terms.excludeLabels.length === 0) return;
  const restrictionId = grantId.replace(/^demo-consent-/, 'demo-restriction-');
  const patientId = pseudonymOf(node, fhirPatientId);
  const status = await whileUnavailable(() =>
    node.consent.restrict(patientId, restrictionId, {
      resourceTypes: [],
      labels: [...terms.excludeLabels],
      practitionerIds: [],
    }),
  );
  if (status !== 'ok')
    throw new Error(`could not record the demo restriction ${restrictionId}: ${status}`);
}

/** Records a demo consent of the custodial patient whose FHIR Patient id is `fhirPatientId`; throws unless it commits. */
export async function grant(
  node: ChartChainNode,
  fhirPatientId: string,
  grantId: string,
  terms: GrantTerms,
): Promise<void> {
  const patientId = pseudonymOf(node, fhirPatientId);
  const status = await whileUnavailable(() => node.consent.grant(patientId, grantId, terms));
  if (status !== 'ok') throw new Error(`could not record the demo consent ${grantId}: ${status}`);
}

/** The ledger pseudonym of the demo patient whose FHIR Patient id is `fhirPatientId`. */
function pseudonymOf(node: ChartChainNode, fhirPatientId: string): string {
  const patientId = node.pseudonyms.patientIdOf(fhirPatientId);
  if (patientId === undefined)
    throw new Error(`demo seeding failed: no Patient/${fhirPatientId} on this node`);
  return patientId;
}

/** Submits `tx` and waits; throws unless it commits with 'ok'. */
export async function committed(node: ChartChainNode, tx: Transaction): Promise<void> {
  const status = await whileUnavailable(async () => (await node.submitAndWait(tx)).status);
  if (status !== 'ok') throw new Error(`demo seeding failed: ${status}`);
}

/**
 * Runs `attempt` again, a second apart, while it answers `unavailable:*` (a network's ordering
 * cluster still electing its leader as the nodes start, say); resolves with the first other status.
 */
async function whileUnavailable(attempt: () => Promise<string>): Promise<string> {
  for (let tries = 1; ; tries++) {
    const status = await attempt();
    if (!status.startsWith('unavailable:') || tries >= DEMO_SEED_RETRIES_MAX) return status;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
