/** Who a record version's data key must be wrapped for (DESIGN.md, Encryption). */
import { readGrantsCovering } from '../consent/index.js';
import { consentModelOf, ORGS, PATIENTS, PRACTITIONERS } from '../membership/index.js';
import type { StateReader } from '../state.js';
import type { SecurityLabel } from './tables.js';

/** The version being written, as far as its recipients depend on it. */
export interface RecipientQuery {
  /** Null for a directory record: no patient, and no grants. */
  readonly patientId: string | null;
  readonly recordId: string;
  readonly resourceType: string;
  readonly securityLabels: readonly SecurityLabel[];
  /** The record's organisation and the author's (the same, unless a grantee writes another organisation's record). */
  readonly orgIds: readonly string[];
  /** Block time: which grants are in force. */
  readonly time: number;
}

/**
 * The X25519 public keys (lowercase hex, sorted, no repeats) that a version must carry an
 * envelope for: the patient's, the organisations' (the record's and the author's), and every grantee's whose active grant lets
 * them read this record at `time`. So nobody has to remember to share: the consent contract
 * enforces itself on every write. A version may wrap for more recipients, never fewer.
 * In an opt-out network the patient's home organisation is a recipient too, whoever writes:
 * it reads without a grant, so its node must be able to decrypt. Its restrictions do not change
 * that (they are decided at each read, and may be lifted), as they do not for an author.
 * Throws RangeError naming `patientId` or `orgIds` when state holds no such patient or organisation.
 */
export function requiredRecipients(state: StateReader, query: RecipientQuery): string[] {
  const orgKeys = query.orgIds.map((orgId) => ORGS.get(state, orgId)?.encryptionKey);
  if (orgKeys.some((key) => key === undefined))
    throw new RangeError('orgIds names no organisation');
  if (query.patientId === null) return [...new Set(orgKeys as string[])].sort();
  const patient = PATIENTS.get(state, query.patientId);
  if (patient === undefined) throw new RangeError('patientId names no registered patient');
  const labels = query.securityLabels.map((label) => label.code);
  const grants = readGrantsCovering(state, {
    patientId: query.patientId,
    recordId: query.recordId,
    resourceType: query.resourceType,
    labels,
    time: query.time,
  });
  const grantees = grants
    .map((grant) => granteeKey(state, grant.grantee))
    .filter((key): key is string => key !== undefined);
  const home =
    consentModelOf(state) === 'opt-out' ? [ORGS.get(state, patient.homeOrg)!.encryptionKey] : [];
  return [
    ...new Set([patient.encryptionKey, ...(orgKeys as string[]), ...home, ...grantees]),
  ].sort();
}

/** The encryption key of a grantee, or undefined when it no longer exists. */
export function granteeKey(
  state: StateReader,
  grantee: { kind: 'practitioner' | 'organisation'; id: string },
): string | undefined {
  if (grantee.kind === 'organisation') return ORGS.get(state, grantee.id)?.encryptionKey;
  return PRACTITIONERS.get(state, grantee.id)?.encryptionKey;
}
