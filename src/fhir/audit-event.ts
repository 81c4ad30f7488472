/**
 * The audit trail as FHIR R4 AuditEvent, in the manner of IHE Basic Audit Log Patterns (BALP):
 * who (agent), why (purposeOfEvent), what (entity: the patient, the resource version, and the
 * ledger transaction that carries the event), and whether it was allowed (outcome). Read-only:
 * the events are contract state, written only by the transactions they describe.
 */
import type { AuditEntry } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { FhirId } from '../node/index.js';

/** Code system naming the kinds of trail entries that are not RESTful interactions. */
export const AUDIT_KIND_SYSTEM = 'urn:chartchain:audit-kind';
/** Identifier system of ledger transaction ids. */
export const TX_ID_SYSTEM = 'urn:chartchain:tx';

const ACTIONS: Readonly<Record<AuditEntry['kind'], string>> = {
  access: 'R',
  search: 'E',
  grant: 'C',
  'consent-update': 'U',
  revoke: 'D',
  restriction: 'C',
  'restriction-lift': 'D',
  'break-the-glass-setting': 'U',
  'break-the-glass': 'E',
  'break-the-glass-review': 'U',
  'key-share': 'E',
  erasure: 'D',
};
const AGENT_TYPES: Readonly<Record<string, string>> = {
  practitioner: 'Practitioner',
  patient: 'Patient',
  org: 'Organization',
  system: 'Device',
  auditor: 'Practitioner',
};

/** The FHIR id of entry `seq` of `patientId`'s trail: `<patientId>.<seq>`, with the patient's pseudonym. */
export function auditEventId(patientId: string, seq: number): string {
  return `${patientId}.${seq}`;
}

/** Splits an AuditEvent id into patient and seq, or undefined when it is not one. */
export function parseAuditEventId(id: string): { patientId: string; seq: number } | undefined {
  const match = /^([a-z0-9][a-z0-9-]{1,63})\.([1-9][0-9]{0,9})$/.exec(id);
  return match === null ? undefined : { patientId: match[1]!, seq: Number(match[2]) };
}

/** How the trail's ledger ids read in FHIR: the patient's FHIR id, and a record's type and id (undefined when not known here). */
export interface AuditNames {
  readonly patient: string;
  fhirIdOf(recordId: string): FhirId | undefined;
}

/**
 * `entry` of `patientId`'s trail (`patientId` the pseudonym) as an AuditEvent, naming the
 * patient and the records by their FHIR ids (`names`). A search is one event (BALP Query:
 * action E, subtype search-type) with an entity per record of this patient it touched.
 */
export function auditEventOf(patientId: string, entry: AuditEntry, names: AuditNames): JsonObject {
  const recorded = new Date(entry.time).toISOString();
  const event: JsonObject = {
    resourceType: 'AuditEvent',
    id: auditEventId(patientId, entry.seq),
    meta: { versionId: '1', lastUpdated: recorded },
    type:
      entry.kind === 'access' || entry.kind === 'search'
        ? {
            system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
            code: 'rest',
            display: 'RESTful Operation',
          }
        : { system: AUDIT_KIND_SYSTEM, code: entry.kind },
    action: ACTIONS[entry.kind],
    recorded,
    outcome: entry.outcome === 'deny' ? '4' : '0',
    agent: agentsOf(patientId, entry, names),
    source: {
      observer: { reference: `Organization/${entry.actor.org ?? ''}` },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entitiesOf(entry, names),
  };
  if (entry.kind === 'access')
    event['subtype'] = [
      {
        system: 'http://hl7.org/fhir/restful-interaction',
        code: entry.version === null ? 'read' : 'vread',
      },
    ];
  if (entry.kind === 'search')
    event['subtype'] = [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' }];
  if (entry.outcome === 'deny' && entry.reason !== null) event['outcomeDesc'] = entry.reason;
  if (entry.purpose !== null)
    event['purposeOfEvent'] = [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: entry.purpose },
        ],
      },
    ];
  return event;
}

/** The actor, and the organisation they acted for; the patient acting on their own trail by their FHIR id, any other patient by pseudonym only. */
function agentsOf(patientId: string, entry: AuditEntry, names: AuditNames): JsonObject[] {
  const subject =
    entry.actor.role === 'patient' && entry.actor.subject === patientId
      ? names.patient
      : entry.actor.subject;
  const who = { reference: `${AGENT_TYPES[entry.actor.role] ?? 'Device'}/${subject}` };
  // A system principal's OAuth client: which of the organisation's systems acted.
  const requestor: JsonObject = {
    who,
    ...(entry.actor.client === undefined ? {} : { altId: entry.actor.client }),
    requestor: true,
  };
  if (entry.actor.org === null || entry.actor.role === 'org') return [requestor];
  return [requestor, { who: { reference: `Organization/${entry.actor.org}` }, requestor: false }];
}

function entitiesOf(entry: AuditEntry, names: AuditNames): JsonObject[] {
  const entities: JsonObject[] = [
    {
      what: { reference: `Patient/${names.patient}` },
      role: {
        system: 'http://terminology.hl7.org/CodeSystem/object-role',
        code: '1',
        display: 'Patient',
      },
    },
  ];
  const touched =
    entry.records ??
    (entry.recordId === null
      ? []
      : [
          {
            recordId: entry.recordId,
            version: entry.version,
            outcome: entry.outcome,
            released: entry.released,
          },
        ]);
  for (const record of touched) {
    const fhirId = names.fhirIdOf(record.recordId);
    if (fhirId === undefined) continue;
    const version = record.version === null ? '' : `/_history/${record.version}`;
    const entity: JsonObject = {
      what: { reference: `${fhirId.type}/${fhirId.id}${version}` },
      role: {
        system: 'http://terminology.hl7.org/CodeSystem/object-role',
        code: '4',
        display: 'Domain Resource',
      },
    };
    // A single access says so only when the node released what its block then refused.
    if (entry.records !== undefined || (record.outcome === 'deny' && record.released === true))
      entity['description'] =
        record.outcome === 'deny'
          ? record.released
            ? 'released, but denied at its block'
            : 'denied'
          : 'released';
    entities.push(entity);
  }
  entities.push({
    what: { identifier: { system: TX_ID_SYSTEM, value: entry.txId } },
    description: 'the ledger transaction that records this event',
  });
  return entities;
}
