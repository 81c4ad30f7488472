/**
 * PV1 to FHIR Encounter (after the HL7 v2-to-FHIR IG's PV1[Encounter] map): class from PV1-2,
 * the visit number PV1-19 as identifier, admission PV1-44 and discharge PV1-45 as the period.
 */
import type { Hl7Segment } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { component, fhirDateTime } from './fields.js';
import { authoritySystem } from './patient.js';

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLASS: Readonly<Record<string, { code: string; display: string }>> = {
  I: { code: 'IMP', display: 'inpatient encounter' },
  O: { code: 'AMB', display: 'ambulatory' },
  E: { code: 'EMER', display: 'emergency' },
  P: { code: 'PRENC', display: 'pre-admission' },
  R: { code: 'AMB', display: 'ambulatory' },
};

/**
 * The Encounter PV1 describes, for the patient at `patientReference`; `status` follows the
 * event (an admission is in progress, a registration has arrived). Undefined without PV1-19,
 * the visit number that lets a resent message find it again.
 */
export function encounterOf(
  pv1: Hl7Segment | undefined,
  patientReference: string,
  status: string,
): JsonObject | undefined {
  const visit = component(pv1, 19, 1);
  if (pv1 === undefined || visit === '') return undefined;
  const start = fhirDateTime(component(pv1, 44));
  const end = fhirDateTime(component(pv1, 45));
  const encounterClass = CLASS[component(pv1, 2)] ?? { code: 'AMB', display: 'ambulatory' };
  return {
    resourceType: 'Encounter',
    identifier: [{ system: authoritySystem(component(pv1, 19, 4) || 'visit'), value: visit }],
    status: end === undefined ? status : 'finished',
    class: { system: ACT_CODE, ...encounterClass },
    subject: { reference: patientReference },
    ...(start === undefined ? {} : { period: { start, ...(end === undefined ? {} : { end }) } }),
  };
}
