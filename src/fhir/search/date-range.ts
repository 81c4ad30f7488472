/**
 * The interval a FHIR date, dateTime or instant names at its precision (R4 search.html#date):
 * '2020' is the whole year, '2020-03' the whole month, '2020-03-05T10:00' the whole minute,
 * '2020-03-05T10:00:00.25' a tenth of a second. Intervals are half-open epoch-ms ranges
 * [low, high), so '2020-03' is [2020-03-01T00:00Z, 2020-04-01T00:00Z).
 *
 * Search values may omit seconds and the time zone, which resource values may not; a time with
 * no zone is read as UTC (the spec suggests the server's zone, but UTC keeps results independent
 * of where the node runs), and so is a date without a time, as in src/fhir/date-time.ts.
 */

/** The low end of an open-started Period: before every instant a FHIR dateTime can write. */
export const DATE_LOW_MIN = -8_640_000_000_000_000;
/** The high end of an open-ended Period: after every instant a FHIR dateTime can write. */
export const DATE_HIGH_MAX = 8_640_000_000_000_000;

/** A half-open epoch-ms interval [low, high). */
export interface DateRange {
  readonly low: number;
  readonly high: number;
}

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The interval `text` names, or undefined unless it is a FHIR date, dateTime or instant (or a
 * search value of that form). Requires a real calendar date and time: Feb 30 and 24:00 fail.
 */
export function dateRange(text: string): DateRange | undefined {
  const match = DATE_PATTERN.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const offsetMs = offsetOf(match[8]);
  const fraction = match[7];
  if (year === undefined || offsetMs === undefined) return undefined;
  const fields = [year, month ?? 1, day ?? 1, hour ?? 0, minute ?? 0, second ?? 0] as const;
  const start = utcInstant(...fields, Number((fraction ?? '').padEnd(3, '0').slice(0, 3)));
  if (start === undefined) return undefined;
  if (hour === undefined) return { low: start, high: calendarEnd(year, month, day) };
  const widthMs =
    second === undefined
      ? 60_000
      : fraction === undefined
        ? 1000
        : Math.max(1, 10 ** (3 - fraction.length));
  return { low: start - offsetMs, high: start - offsetMs + widthMs };
}

/** The first instant after the year, month or day named. */
function calendarEnd(year: number, month: number | undefined, day: number | undefined): number {
  if (month === undefined) return utcCarry(year + 1, 1, 1);
  if (day === undefined) return utcCarry(year, month + 1, 1);
  return utcCarry(year, month, day + 1);
}

/** Milliseconds east of UTC for 'Z', '±hh:mm' (hh ≤ 14) or no zone; undefined when out of range. */
function offsetOf(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** Epoch ms of a UTC calendar instant, or undefined when a field is out of range. */
function utcInstant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number | undefined {
  const date = utcDate(year, month, day, hour, minute, second, ms);
  const same =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return same ? date.getTime() : undefined;
}

/** Epoch ms of a UTC date whose day and month may overflow into the next month and year. */
function utcCarry(year: number, month: number, day: number): number {
  return utcDate(year, month, day, 0, 0, 0, 0).getTime();
}

function utcDate(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): Date {
  // Date.UTC maps years 0-99 to 1900-1999, so set the full year explicitly.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date;
}
