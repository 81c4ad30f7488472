/** Who a record version's data key must be wrapped for (DESIGN.md, Encryption). */
import { ORG_TABLE, PATIENT_TABLE, type OrgRow, type PatientRow } from '../membership/index.js';
import type { StateReader } from '../state.js';
import type { SecurityLabel } from './tables.js';

/**
 * The X25519 public keys (lowercase hex, sorted, no repeats) that every version of a record of
 * `patientId` with `resourceType` and `securityLabels`, written for organisation `orgId`, must
 * carry an envelope for: the patient's and the author organisation's. A version may wrap for
 * more recipients than these, never fewer. Throws RangeError naming `patientId` or `orgId` when
 * state holds no such patient or organisation.
 */
export function requiredRecipients(state: StateReader, patientId: string, resourceType: string, securityLabels: readonly SecurityLabel[], orgId: string): string[] {
  const patient = state.get(PATIENT_TABLE, patientId) as PatientRow | undefined;
  if (patient === undefined) throw new RangeError('patientId names no registered patient');
  const org = state.get(ORG_TABLE, orgId) as OrgRow | undefined;
  if (org === undefined) throw new RangeError('orgId names no organisation');
  // The consent contract (next issue) adds here the encryption key of every active grantee whose
  // consent covers this patient, resourceType and securityLabels, so that future writes wrap for
  // them automatically and nobody has to remember to share. Until then, those two arguments go unused.
  return [...new Set([patient.encryptionKey, org.encryptionKey])].sort();
}
