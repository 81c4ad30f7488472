/**
 * FHIR R4 date and dateTime values (hl7.org/fhir/R4/datatypes.html#dateTime) to and from epoch ms.
 * A value names an interval at its precision: '2016-10-10' is that whole UTC day. ChartChain
 * periods are half-open, so a period start takes the interval's first instant and a period end
 * the first instant after it, which keeps FHIR's inclusive Period.end meaning.
 */

const DATE_TIME_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}))?)?)?$/;
/** The latest instant whose ISO form has a four-digit year: 9999-12-31T23:59:59.999Z. */
export const INSTANT_MAX_MS = 253402300799999;

/** Which end of the interval a value names. */
export type Boundary = 'start' | 'end';

/**
 * The epoch ms of `text`: its first instant for 'start', the first instant after it for 'end'.
 * Undefined unless `text` is a valid FHIR date or dateTime; a leap second (ss = 60) is refused
 * because epoch ms cannot name it, and so is an end past year 9999, which no instant can write.
 */
export function parseDateTime(text: string, boundary: Boundary): number | undefined {
  const match = DATE_TIME_PATTERN.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const offsetMinutes = parseOffset(match[8]);
  if (year === undefined || year < 1 || offsetMinutes === undefined) return undefined;
  const fields = [year, month ?? 1, day ?? 1, hour ?? 0, minute ?? 0, second ?? 0] as const;
  const millisecond = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const start = utcInstant(...fields, millisecond);
  if (start === undefined) return undefined;
  if (boundary === 'start' || hour !== undefined) return start - offsetMinutes * 60_000;
  const [endYear, endMonth, endDay] =
    day !== undefined
      ? [year, month!, day + 1]
      : month !== undefined
        ? [year, month + 1, 1]
        : [year + 1, 1, 1];
  const end = utcInstant(endYear, endMonth, endDay, 0, 0, 0, 0, true)!;
  return end <= INSTANT_MAX_MS ? end : undefined;
}

/** `ms` as a FHIR instant with millisecond precision, e.g. '2024-05-01T09:30:00.000Z'. Throws RangeError outside [0001, 9999]. */
export function formatInstant(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < -62135596800000 || ms > INSTANT_MAX_MS)
    throw new RangeError(`ms must be an integer instant in years 0001-9999, got ${ms}`);
  return new Date(ms).toISOString();
}

/** Minutes east of UTC, for 'Z' or '±hh:mm' (hh ≤ 14), 0 for a date without a time; undefined when out of range. */
function parseOffset(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * Epoch ms of a UTC calendar instant, or undefined when a field is out of range (Feb 30, 24:00,
 * second 60). `carry` lets the day, month and year overflow into the next, for interval ends.
 */
function utcInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  carry = false,
): number | undefined {
  // Date.UTC maps years 0-99 to 1900-1999, so set the full year explicitly.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  if (carry) return date.getTime();
  const same =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return same &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
    ? date.getTime()
    : undefined;
}
