/**
 * HL7 v2 messages to FHIR: ADT^A01 (admit), ADT^A04 (register) and ADT^A08 (update patient
 * information) to Patient and Encounter; ORU^R01 (results) to Patient, DiagnosticReport and
 * Observations. Each message becomes one transaction Bundle, so it lands on the ledger whole
 * or not at all, and every resource in it is a conditional create on an identifier the message
 * fixes: a message resent after a crash finds what it wrote instead of writing it twice.
 */
import { randomUUID } from 'node:crypto';
import { Hl7Message, type Hl7Segment } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { encounterOf } from './encounter.js';
import { component } from './fields.js';
import { patientOf } from './patient.js';
import { observationOf, reportOf } from './results.js';

/** The message types ingested. */
export const V2_EVENTS = ['ADT^A01', 'ADT^A04', 'ADT^A08', 'ORU^R01'] as const;
export type V2Event = (typeof V2_EVENTS)[number];

/**
 * The versions taken (MSH-12). The mapping was written against 2.3 to 2.5.1; the other 2.x
 * versions were taken before versions were checked, and still are, so no feed that worked stops.
 */
export const V2_VERSIONS = [
  '2.2',
  '2.3',
  '2.3.1',
  '2.4',
  '2.5',
  '2.5.1',
  '2.6',
  '2.7',
  '2.7.1',
  '2.8',
  '2.8.1',
  '2.8.2',
] as const;

/** MSH-1 and MSH-2: the field separator and the encoding characters. */
const STANDARD_DELIMITERS = '|^~\\&';

/** A message that cannot be taken: AR (rejected: not a message or type we take), AE (an error in it). */
export class V2MessageError extends Error {
  constructor(
    readonly ackCode: 'AE' | 'AR',
    message: string,
  ) {
    super(message);
    this.name = 'V2MessageError';
  }
}

/** A parsed message and the header fields ingestion keys on. */
export interface V2Message {
  readonly message: Hl7Message;
  readonly event: V2Event;
  /** MSH-3 and MSH-4: the sending application and facility. */
  readonly sender: string;
  /** MSH-10, unique per sender: what a resend repeats. */
  readonly controlId: string;
}

/** Parses `text`; throws V2MessageError AR when it is not a v2 message of a type taken here. */
export function parseV2(text: string): V2Message {
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(text.replace(/\r?\n/g, '\r'));
  } catch {
    throw new V2MessageError('AR', 'not an HL7 v2 message');
  }
  const msh = message.getSegment('MSH');
  if (msh === undefined || msh.name !== 'MSH')
    throw new V2MessageError('AR', 'the message does not start with MSH');
  // An answer is built with the standard delimiters: a message with others could not be read by it.
  if (!text.startsWith(`MSH${STANDARD_DELIMITERS}`))
    throw new V2MessageError('AR', `only the standard delimiters ${STANDARD_DELIMITERS} are taken`);
  if (!(V2_VERSIONS as readonly string[]).includes(component(msh, 12)))
    throw new V2MessageError(
      'AR',
      `MSH-12 (version) is not one taken here (${V2_VERSIONS.join(', ')})`,
    );
  const event = `${component(msh, 9, 1)}^${component(msh, 9, 2)}`;
  if (!(V2_EVENTS as readonly string[]).includes(event))
    throw new V2MessageError(
      'AR',
      `message type ${event} is not taken here (${V2_EVENTS.join(', ')})`,
    );
  const controlId = component(msh, 10);
  if (controlId === '') throw new V2MessageError('AR', 'MSH-10 (message control id) is empty');
  const sender = `${component(msh, 3)}@${component(msh, 4)}`;
  return { message, event: event as V2Event, sender, controlId };
}

/**
 * The transaction Bundle for `parsed`, and for ADT^A08 the Patient to update afterwards (a
 * conditional update, which a Bundle here does not take). Throws V2MessageError AE naming the
 * segment and field at fault, never its value.
 */
export function v2Bundle(parsed: V2Message): {
  bundle: JsonObject;
  patientUpdate?: { query: string; patient: JsonObject };
} {
  const { message, event } = parsed;
  const pid = message.getSegment('PID');
  if (pid === undefined) throw new V2MessageError('AE', `${event} has no PID segment`);
  const source = `urn:chartchain:v2:${encodeURIComponent(parsed.sender)}`;
  const patient = withSource(
    mapped(() => patientOf(pid)),
    source,
  );
  const patientEntry = entry(patient, identifierQuery(patient));
  const subject = patientEntry.fullUrl;
  const entries = [patientEntry];
  if (event === 'ORU^R01') entries.push(...resultEntries(parsed, subject, source));
  else {
    const encounter = encounterOf(
      message.getSegment('PV1'),
      subject,
      event === 'ADT^A04' ? 'arrived' : 'in-progress',
    );
    if (encounter !== undefined)
      entries.push(entry(withSource(encounter, source), identifierQuery(encounter)));
  }
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: entries.map(({ fullUrl, resource, ifNoneExist }) => ({
      fullUrl,
      resource,
      request: { method: 'POST', url: String(resource['resourceType']), ifNoneExist },
    })),
  };
  return event === 'ADT^A08'
    ? { bundle, patientUpdate: { query: identifierQuery(patient), patient } }
    : { bundle };
}

/** Each OBR with the OBX segments after it: Observations first, then the DiagnosticReport listing them. */
function resultEntries(parsed: V2Message, subject: string, source: string): BundleEntry[] {
  if (parsed.message.getAllSegments('OBX').length === 0)
    throw new V2MessageError('AE', 'ORU^R01 has no OBX segment');
  const entries: BundleEntry[] = [];
  let obr: Hl7Segment | undefined;
  let results: string[] = [];
  let reportIndex = 0;
  const closeReport = () => {
    if (obr === undefined) return;
    const report = withSource(
      mapped(() =>
        reportOf(obr!, subject, messageIdentifier(parsed, `OBR.${reportIndex}`), results),
      ),
      source,
    );
    entries.push(entry(report, identifierQuery(report)));
  };
  parsed.message.segments.forEach((segment, index) => {
    if (segment.name === 'OBR') {
      closeReport();
      [obr, results, reportIndex] = [segment, [], index];
    } else if (segment.name === 'OBX') {
      const observation = withSource(
        mapped(() =>
          observationOf(segment, obr, subject, messageIdentifier(parsed, `OBX.${index}`)),
        ),
        source,
      );
      const notes = notesAfter(parsed.message.segments, index);
      const observationEntry = entry(
        notes.length === 0
          ? observation
          : { ...observation, note: notes.map((text) => ({ text })) },
        identifierQuery(observation),
      );
      entries.push(observationEntry);
      results.push(observationEntry.fullUrl);
    }
  });
  closeReport();
  return entries;
}

/** NTE comments directly after segment `index`. */
function notesAfter(segments: readonly Hl7Segment[], index: number): string[] {
  const notes: string[] = [];
  for (let next = index + 1; segments[next]?.name === 'NTE'; next++) {
    const text = component(segments[next], 3);
    if (text !== '') notes.push(text);
  }
  return notes;
}

interface BundleEntry {
  readonly fullUrl: string;
  readonly resource: JsonObject;
  readonly ifNoneExist: string;
}

function entry(resource: JsonObject, ifNoneExist: string): BundleEntry {
  return { fullUrl: `urn:uuid:${randomUUID()}`, resource, ifNoneExist };
}

/** The identifier a resource of this message takes: one per segment, fixed by sender and control id. */
function messageIdentifier(parsed: V2Message, segment: string): JsonObject {
  return {
    system: `urn:chartchain:v2:message:${encodeURIComponent(parsed.sender)}`,
    value: `${parsed.controlId}.${segment}`,
  };
}

/** `identifier=system|value` of the resource's first identifier, escaped for a FHIR search. */
function identifierQuery(resource: JsonObject): string {
  const [first] = resource['identifier'] as { system: string; value: string }[];
  const escape = (text: string) => text.replace(/[\\,|$]/g, (character) => `\\${character}`);
  return `identifier=${encodeURIComponent(`${escape(first!.system)}|${escape(first!.value)}`)}`;
}

function withSource(resource: JsonObject, source: string): JsonObject {
  return { ...resource, meta: { source } };
}

/** A mapping's result; its RangeError (naming a field) becomes the message's AE. */
function mapped(map: () => JsonObject): JsonObject {
  try {
    return map();
  } catch (error) {
    if (error instanceof RangeError) throw new V2MessageError('AE', error.message);
    throw error;
  }
}
