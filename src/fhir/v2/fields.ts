/**
 * Reading HL7 v2 fields: the message structure comes from @medplum/core's Hl7Message (a
 * maintained v2 parser); this unescapes values (v2.5.1 §2.7.4: \F\ \S\ \T\ \R\ \E\ and \Xhh..\)
 * and turns v2 dates into FHIR ones.
 */
import type { Hl7Segment } from '@medplum/core';

/** Component `component` (1-based) of repetition `repetition` (0-based) of field `field`, unescaped; '' when empty. */
export function component(
  segment: Hl7Segment | undefined,
  field: number,
  component = 1,
  repetition = 0,
): string {
  if (segment === undefined) return '';
  return unescapeV2(segment.getComponent(field, component, undefined, repetition) ?? '');
}

/** How many repetitions field `field` holds (0 when empty). */
export function repetitions(segment: Hl7Segment | undefined, field: number): number {
  const text = segment?.getField(field)?.toString() ?? '';
  return text === '' ? 0 : text.split(segment!.context.repetitionSeparator).length;
}

const ESCAPES: Readonly<Record<string, string>> = { F: '|', S: '^', T: '&', R: '~', E: '\\' };

/** The escape code of each delimiter: the inverse of ESCAPES. */
const ESCAPE_CODES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.keys(ESCAPES).map((code) => [ESCAPES[code]!, code]),
);

/** `text` safe inside a v2 field: each delimiter escaped (v2.5.1 §2.7.4). */
export function escapeV2(text: string): string {
  return text.replace(/[\\|^&~]/g, (character) => `\\${ESCAPE_CODES[character]!}\\`);
}

/** `text` with v2 escape sequences replaced; a sequence it does not know is dropped. */
export function unescapeV2(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\([^\\]*)\\/g, (_sequence, code: string) => {
    if (Object.hasOwn(ESCAPES, code)) return ESCAPES[code]!;
    if (/^X([0-9A-Fa-f]{2})+$/.test(code))
      return Buffer.from(code.slice(1), 'hex').toString('utf8');
    if (code === '.br') return '\n';
    return '';
  });
}

/**
 * A v2 DTM/DT (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) as a FHIR date or dateTime; undefined when
 * empty or malformed. A time without a zone is read as UTC, which a FHIR dateTime requires.
 */
export function fhirDateTime(value: string): string | undefined {
  const match = /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.\d+)?)?([+-]\d{4})?$/.exec(
    value,
  );
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, zone] = match;
  if (hour === undefined) return [year, month, day].filter((part) => part !== undefined).join('-');
  if (month === undefined || day === undefined) return undefined;
  const offset = zone === undefined ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return `${year}-${month}-${day}T${hour}:${minute ?? '00'}:${second ?? '00'}${offset}`;
}

/** A v2 DT as a FHIR date (YYYY-MM-DD); undefined when empty or malformed. */
export function fhirDate(value: string): string | undefined {
  const date = fhirDateTime(value.slice(0, 8));
  return date !== undefined && !date.includes('T') ? date : undefined;
}
