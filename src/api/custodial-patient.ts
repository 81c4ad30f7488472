/**
 * Operations a patient signs through their home node (their opt-in, their erasure) need the
 * node to hold the patient's keys: a custodial patient at home here.
 */
import { PATIENTS } from '../contracts/index.js';
import { FhirError } from '../fhir/index.js';
import type { NodeFacade } from '../node/index.js';

/** `patientId` when this node holds their keys; a 403 telling a self-custody patient to sign `txType` themself and submit it. */
export function custodialHere(node: NodeFacade, patientId: string, txType: string): string {
  const patient = PATIENTS.get(node.ledger.state, patientId);
  if (
    patient?.custody !== 'custodial' ||
    patient.homeOrg !== node.config.orgId ||
    !node.records.keystore.has(`patient:${patientId}:signing`)
  ) {
    throw FhirError.of(
      403,
      'forbidden',
      `this node does not hold your keys: sign ${txType} with your own key and submit it to POST /ledger/tx`,
    );
  }
  return patientId;
}
