/**
 * Validators for agreement terms, in the manner of ../body.ts: each returns the parsed value or
 * undefined, so contract logic only ever sees well-formed terms.
 */
import type { JsonValue } from '../../crypto/index.js';
import type { JsonObject } from '../../ledger/index.js';
import {
  booleanField,
  CODE_PATTERN,
  objectField,
  onlyFields,
  RESOURCE_TYPE_PATTERN,
} from '../body.js';
import { type AgreementPeriod, type AgreementTerms } from './tables.js';
import { AGREEMENT_TERM_ENTRY_MAX } from '../../ledger/index.js';

const TERMS_FIELDS = ['resourceTypes', 'excludeLabels', 'purposes', 'period', 'redisclosure'];
const PERIOD_FIELDS = ['start', 'end'];

/** The terms at `body[field]`, or undefined when any part is missing, unknown or malformed. */
export function termsField(body: JsonObject, field: string): AgreementTerms | undefined {
  const terms = objectField(body, field);
  if (terms === undefined || !onlyFields(terms, TERMS_FIELDS)) return undefined;
  const resourceTypes = codesOf(terms['resourceTypes'], RESOURCE_TYPE_PATTERN);
  const excludeLabels = codesOf(terms['excludeLabels'], CODE_PATTERN);
  const purposes = codesOf(terms['purposes'], CODE_PATTERN);
  const period = periodOf(objectField(terms, 'period'));
  const redisclosure = booleanField(terms, 'redisclosure');
  if (
    resourceTypes === undefined ||
    excludeLabels === undefined ||
    purposes === undefined ||
    period === undefined ||
    redisclosure === undefined
  )
    return undefined;
  return purposes.length === 0
    ? undefined
    : { resourceTypes, excludeLabels, purposes, period, redisclosure };
}

/** True when `period` contains `time`. */
export function withinPeriod(period: AgreementPeriod, time: number): boolean {
  return period.start <= time && (period.end === null || time < period.end);
}

/** True when `period` is over at `time`: nothing from then on falls inside it. */
export function periodEnded(period: AgreementPeriod, time: number): boolean {
  return period.end !== null && time >= period.end;
}

/** At most AGREEMENT_TERM_ENTRY_MAX distinct strings matching `pattern`, in the given order. */
function codesOf(value: JsonValue | undefined, pattern: RegExp): string[] | undefined {
  if (!Array.isArray(value) || value.length > AGREEMENT_TERM_ENTRY_MAX) return undefined;
  const codes: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || !pattern.test(item) || codes.includes(item)) return undefined;
    codes.push(item);
  }
  return codes;
}

/** { start, end }: integer ms, start not negative, end null or after start. */
function periodOf(value: JsonObject | undefined): AgreementPeriod | undefined {
  if (value === undefined || !onlyFields(value, PERIOD_FIELDS)) return undefined;
  const { start, end } = value;
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) return undefined;
  if (end === null) return { start, end };
  return typeof end === 'number' && Number.isSafeInteger(end) && end > start
    ? { start, end }
    : undefined;
}
