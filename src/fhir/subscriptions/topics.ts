/**
 * The subscription topics this node offers (R4 Subscriptions Backport IG: a topic is a canonical
 * URL in Subscription.criteria), and the events a committed block raises for them, read from its
 * write set: a new record version, and entries appended to a patient's audit trail.
 */
import {
  AUDIT_ENTRIES,
  RECORDS,
  VERSIONS,
  type AuditKind,
  type WriteSetEntry,
} from '../../contracts/index.js';

export const TOPICS = {
  /** A record of the patient created, updated or deleted. */
  recordChanged: 'urn:chartchain:topic:record-changed',
  /** Someone read or searched the patient's records: for the patient's own apps. */
  recordAccessed: 'urn:chartchain:topic:record-accessed',
  /** Break-the-glass on the patient's records, and its review. */
  breakTheGlass: 'urn:chartchain:topic:break-the-glass',
  /** The patient granted, changed or revoked consent, or restricted their home organisation. */
  consentChanged: 'urn:chartchain:topic:consent-changed',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];
export const TOPIC_URLS: readonly string[] = Object.values(TOPICS);

/** What an event is about: a record version, or an entry of a patient's audit trail. */
export type EventFocus =
  | { readonly kind: 'record'; readonly recordId: string; readonly version: number }
  | { readonly kind: 'audit'; readonly seq: number };

/** One event a committed block raised. */
export interface SubscriptionEvent {
  readonly topic: Topic;
  /** The patient's pseudonym. */
  readonly patientId: string;
  readonly focus: EventFocus;
}

const TOPIC_OF_AUDIT: Readonly<Partial<Record<AuditKind, Topic>>> = {
  access: TOPICS.recordAccessed,
  search: TOPICS.recordAccessed,
  'break-the-glass': TOPICS.breakTheGlass,
  'break-the-glass-review': TOPICS.breakTheGlass,
  grant: TOPICS.consentChanged,
  'consent-update': TOPICS.consentChanged,
  revoke: TOPICS.consentChanged,
  restriction: TOPICS.consentChanged,
  'restriction-lift': TOPICS.consentChanged,
  'break-the-glass-setting': TOPICS.consentChanged,
};

/**
 * The events of one committed block, in write-set order. A version row counts only when the
 * block also moved its record's latest version to it: sharing keys rewrites old version rows,
 * which changes nothing a subscriber reads.
 */
export function eventsOf(writeSet: readonly WriteSetEntry[]): SubscriptionEvent[] {
  const latest = new Map<string, number>();
  for (const [table, , value] of writeSet) {
    const record = RECORDS.rowOf(table, value);
    if (record !== undefined) latest.set(record.recordId, record.latestVersion);
  }
  const events: SubscriptionEvent[] = [];
  for (const [table, key, value] of writeSet) {
    const version = VERSIONS.rowOf(table, value);
    if (
      version !== undefined &&
      version.patientId !== null &&
      latest.get(version.recordId) === version.version
    ) {
      events.push({
        topic: TOPICS.recordChanged,
        patientId: version.patientId,
        focus: { kind: 'record', recordId: version.recordId, version: version.version },
      });
      continue;
    }
    const audit = AUDIT_ENTRIES.rowOf(table, value);
    const topic = audit === undefined ? undefined : TOPIC_OF_AUDIT[audit.kind];
    // An audit key is `${patientId}|${seq}` (auditKey).
    if (audit !== undefined && topic !== undefined)
      events.push({
        topic,
        patientId: key.split('|')[0]!,
        focus: { kind: 'audit', seq: audit.seq },
      });
  }
  return events;
}
