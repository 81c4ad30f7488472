/**
 * Learning FHIR ids from the chain: the node's pseudonym map is derived data, since each record's
 * FHIR type and id are inside its ciphertext. A node learns the pairs of the records its keys
 * open at start (relearn.ts), as its own blocks commit, and as other organisations' ciphertexts arrive.
 */
import {
  PRACTITIONER_TABLE,
  PRACTITIONERS,
  type RecordRow,
  type VersionRow,
} from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade, Pseudonyms, RecordReader } from '../node/index.js';

/** Learns the FHIR id of `record` from its newest version before any tombstone, when this node can decrypt it. */
export function learnRecord(node: NodeFacade, record: RecordRow): void {
  for (let number = record.latestVersion; number >= 1 && record.status !== 'erased'; number--) {
    const version = node.records.version(record.recordId, number)!;
    if (version.kind === 'tombstone') continue;
    // A ciphertext still on its way from a peer is learnt when it arrives (see #indexArrived).
    const reader = readerHere(node, version);
    if (!node.records.blobs.has(version.ciphertextHash!) || reader === undefined) return;
    try {
      learnFrom(
        node.pseudonyms,
        version,
        node.records.read(reader, record.recordId, number).resource,
      );
    } catch {
      // Failing its integrity checks: the read raised an alarm, and the record stays unknown to FHIR.
    }
    return;
  }
}

/** A FHIR R4 id (hl7.org/fhir/R4/datatypes.html#id): what a learnt id must be, to be served. */
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

/**
 * Whose keys here open `version`: this organisation's; one of its practitioners' (a record
 * another organisation shared with that practitioner under the patient's grant); or, for a
 * record wrapped to a custodial patient of this node and not to the organisation (another
 * organisation's record in an opt-in network), the patient's; undefined when none do.
 */
export function readerHere(node: NodeFacade, version: VersionRow): RecordReader | undefined {
  if (version.envelopes.some((envelope) => node.identity.holdsEncryptionKey(envelope.recipient)))
    return { kind: 'organisation' };
  const practitionerId = practitionerHere(node, version);
  if (practitionerId !== undefined) return { kind: 'practitioner', practitionerId };
  const custodial =
    version.patientId !== null &&
    node.records.keystore.has(`patient:${version.patientId}:encryption`);
  return custodial ? { kind: 'patient', patientId: version.patientId! } : undefined;
}

/** A practitioner of this organisation whose key, held here, `version` is wrapped to. */
function practitionerHere(node: NodeFacade, version: VersionRow): string | undefined {
  const recipients = new Set(version.envelopes.map((envelope) => envelope.recipient));
  for (const id of node.ledger.stateKeys(PRACTITIONER_TABLE)) {
    const row = PRACTITIONERS.get(node.ledger.state, id)!;
    if (
      row.org === node.config.orgId &&
      recipients.has(row.encryptionKey) &&
      node.records.keystore.has(`practitioner:${id}:encryption`)
    )
      return id;
  }
  return undefined;
}

/**
 * Pairs the record of `version` with the FHIR type and id inside its content (a record written
 * outside FHIR, without one, keeps its ledger id). Content is another organisation's word, so it
 * counts only when it agrees with the ledger: the ledger's resource type, and for a Patient, the
 * record being its own patient.
 */
export function learnFrom(ids: Pseudonyms, version: VersionRow, resource: JsonObject): void {
  if (resource['resourceType'] !== version.resourceType) return;
  if (version.resourceType === 'Patient' && version.patientId !== version.recordId) return;
  const id = resource['id'];
  if (id !== undefined && (typeof id !== 'string' || !FHIR_ID.test(id))) return;
  ids.learn(version.resourceType, id ?? version.recordId, version.recordId);
}
