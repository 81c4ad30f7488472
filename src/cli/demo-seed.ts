/**
 * The embedded default's demo data, written on first start through the same paths as any
 * client: practitioner dr-ada, patient patient-0001 with a few Observations, and the patient's
 * consent for the practice to read and write their chart for treatment.
 */
import type { Principal } from '../contracts/index.js';
import { FhirRecords } from '../fhir/index.js';
import type { ChartChainNode } from '../node/index.js';

const PRACTITIONER_ID = 'dr-ada';
const PATIENT_ID = 'patient-0001';

/** True when this node holds the demo practitioner's keys: it was seeded. */
export function hasDemo(node: ChartChainNode): boolean {
  return node.records.keystore.names().includes(`practitioner:${PRACTITIONER_ID}:signing`);
}

/** Seeds the demo unless it already is; resolves true when it seeded. */
export async function seedDemo(node: ChartChainNode): Promise<boolean> {
  if (hasDemo(node)) return false;
  const keys = node.records.enrol('practitioner', PRACTITIONER_ID);
  const registered = await node.submit(node.signAsOrg('membership.register-practitioner', { practitionerId: PRACTITIONER_ID, ...keys }));
  if (!registered.ok || (await node.waitForTx(registered.txId)).status !== 'ok') throw new Error('could not register the demo practitioner');
  const doctor: Principal = { kind: 'practitioner', id: PRACTITIONER_ID, org: node.config.orgId };
  const records = new FhirRecords(node);
  const patient = { resourceType: 'Patient', id: PATIENT_ID, name: [{ family: 'Demo', given: ['Pat'] }], gender: 'female', birthDate: '1961-04-12' };
  await records.update(doctor, 'Patient', PATIENT_ID, patient);
  const terms = {
    grantee: { kind: 'organisation' as const, id: node.config.orgId },
    actions: ['read' as const, 'write' as const],
    resourceTypes: [],
    recordIds: [],
    excludeLabels: ['PSY', '42CFRPart2'],
    purposes: ['TREAT', 'ETREAT'],
    period: { start: 0, end: null },
  };
  const status = await node.consent.grant(PATIENT_ID, 'demo-consent-practice', terms);
  if (status !== 'ok') throw new Error(`could not record the demo consent: ${status}`);
  for (const [code, display, value, unit] of [
    ['8480-6', 'Systolic blood pressure', 128, 'mm[Hg]'],
    ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', 6.1, '%'],
  ] as const) {
    await records.create(doctor, {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient/${PATIENT_ID}` },
      effectiveDateTime: '2026-11-01T09:30:00Z',
      valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
    });
  }
  return true;
}
