/**
 * A Group as its reader may see it. A Group lists patients, and being on a list (a registry, a
 * cohort) says something about a patient; so a member naming a Patient whose record the reader
 * may not read (a restriction, no grant) is left out of what they are served, the way a search
 * leaves out records the caller may not read. The Group is then marked REDACTED and loses its
 * `quantity`, which would count the hidden members. A reader who does not see every member may
 * not update or delete the Group either: their copy would drop the members they cannot see.
 */
import type { Principal } from '../contracts/index.js';
import type { JsonValue } from '../crypto/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { recordOf } from './ledger-names.js';
import { FhirError } from './outcome.js';

/** The v3 ObservationValue code a server puts in meta.security of a resource it served redacted. */
const REDACTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
};

/** Who reads, and why: members are decided as reads of their Patient records would be. */
export interface GroupReader {
  readonly node: NodeFacade;
  readonly principal: Principal;
  readonly purpose: string;
}

/**
 * What `reader` is served of `resource`, released to them: the resource itself, or for a Group,
 * the Group without the members they may not read. Every read and search serves through this.
 */
export function servedTo(reader: GroupReader, resource: JsonObject): JsonObject {
  return resource['resourceType'] === 'Group' ? visibleGroup(reader, resource).resource : resource;
}

/** `group` without the members `reader` may not read, and how many were left out. */
function visibleGroup(
  reader: GroupReader,
  group: JsonObject,
): { resource: JsonObject; hidden: number } {
  const members = Array.isArray(group['member']) ? group['member'] : [];
  const shown = members.filter((member) => mayReadMember(reader, member));
  const hidden = members.length - shown.length;
  if (hidden === 0) return { resource: group, hidden };
  const { quantity: _quantity, ...rest } = group;
  const meta = (group['meta'] as JsonObject | undefined) ?? {};
  const security = Array.isArray(meta['security']) ? meta['security'] : [];
  return {
    resource: {
      ...rest,
      meta: { ...meta, security: [...security, REDACTED] },
      ...(shown.length === 0 ? {} : { member: shown }),
    },
    hidden,
  };
}

/** Throws FhirError 403 when `reader` does not see every member of `group`, which they would change. */
export function checkWholeGroup(reader: GroupReader, group: JsonObject): void {
  if (visibleGroup(reader, group).hidden > 0)
    throw FhirError.of(
      403,
      'forbidden',
      'this Group lists patients whose records you may not read; someone who may read them all must change it',
    );
}

/** The FHIR id of the Patient of this server a Group `member` names (`entity` `Patient/[id]`), if any. */
export function memberPatientId(member: JsonValue): string | undefined {
  const entity =
    member !== null && typeof member === 'object' && !Array.isArray(member)
      ? member['entity']
      : undefined;
  const reference =
    entity !== null && typeof entity === 'object' && !Array.isArray(entity)
      ? entity['reference']
      : undefined;
  return typeof reference === 'string'
    ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference)?.[1]
    : undefined;
}

/** A member naming no Patient this node holds hides nothing; one naming a Patient is decided like a read of it. */
function mayReadMember(reader: GroupReader, member: JsonValue): boolean {
  const patientId = memberPatientId(member);
  if (patientId === undefined) return true;
  const patient = recordOf(reader.node, 'Patient', patientId);
  if (patient === undefined) return true;
  const decision = reader.node
    .as(reader.principal, reader.purpose)
    .decide(patient.recordId, { version: patient.latestVersion });
  return decision.outcome === 'permit';
}
