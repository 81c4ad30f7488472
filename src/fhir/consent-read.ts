/**
 * FHIR R4 Consent → grant terms: the reading half of the mapping whose rules consent.ts states.
 * Strict by design. An element ChartChain cannot honour is refused with a 'not-supported' issue
 * at its FHIRPath, never dropped: a dropped deny or restriction would turn into a wider grant
 * than the patient signed. Every issue is collected, so one answer lists everything to fix.
 */
import assert from 'node:assert/strict';
import {
  CODE_PATTERN,
  ID_PATTERN,
  RECORD_ID_PATTERN,
  RESOURCE_TYPE_PATTERN,
  type ConsentAction,
  type GrantTerms,
  type Grantee,
} from '../contracts/index.js';
import { parseDateTime } from './date-time.js';
import {
  ACT_CODE_SYSTEM,
  ACT_REASON_SYSTEM,
  ACTION_CODES,
  CONSENT_ACTION_CODES,
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECIPIENT_ROLES,
  RECORD_ID_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  securityLabelSystem,
} from './terminology.js';
import { GRANT_LIST_COUNT_MAX } from '../ledger/index.js';

/** One reason a Consent cannot become grant terms, shaped as an OperationOutcome.issue (R4 operationoutcome.html). */
export interface ConsentIssue {
  severity: 'error';
  code: 'invalid' | 'required' | 'not-supported' | 'value';
  /** FHIRPath of the offending element, e.g. 'Consent.provision.actor[0].reference'. */
  expression: string;
  /** Why, in words. Never quotes a reference, id or date from the resource, so never patient data. */
  diagnostics: string;
}

/** What consentToGrantTerms returns: the terms and whose they are, or every issue found. */
export type GrantTermsResult =
  | { ok: true; terms: GrantTerms; patientId: string; grantId?: string }
  | { ok: false; issues: ConsentIssue[] };

/** Codes of Consent.status (R4 valueset-consent-state-codes). */
export type ConsentStatus =
  'draft' | 'proposed' | 'active' | 'rejected' | 'inactive' | 'entered-in-error';
const CONSENT_STATUSES: readonly string[] = [
  'draft',
  'proposed',
  'active',
  'rejected',
  'inactive',
  'entered-in-error',
];
/** FHIR R4 id (datatypes.html#id). */
const FHIR_ID_PATTERN = /^[A-Za-z0-9.-]{1,64}$/;
/** A literal reference, relative 'Type/id' or absolute 'http(s)://base/Type/id' (R4 references.html#literal). */
const LITERAL_REFERENCE_PATTERN =
  /^(?:https?:\/\/[^\s?#]+\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/;
const GRANTEE_KINDS = new Map<string, Grantee['kind']>([
  ['Practitioner', 'practitioner'],
  ['Organization', 'organisation'],
]);
const ACTIONS_BY_CODE = new Map<string, ConsentAction>(
  Object.entries(ACTION_CODES).map(([action, { code }]) => [code, action as ConsentAction]),
);

type Json = { [key: string]: unknown };
/** How the reader treats an element: maps it, checks and ignores it, or refuses it. */
type ElementUse = 'read' | 'ignored' | 'not-supported';

const CONSENT_ELEMENTS: Readonly<Record<string, ElementUse>> = {
  resourceType: 'read',
  id: 'read',
  meta: 'ignored',
  implicitRules: 'not-supported',
  language: 'ignored',
  text: 'ignored',
  contained: 'ignored',
  extension: 'ignored',
  modifierExtension: 'not-supported',
  identifier: 'ignored',
  status: 'read',
  scope: 'read',
  category: 'read',
  patient: 'read',
  dateTime: 'read',
  performer: 'read',
  organization: 'ignored',
  sourceAttachment: 'ignored',
  sourceReference: 'ignored',
  policy: 'not-supported',
  policyRule: 'read',
  verification: 'ignored',
  provision: 'read',
};
const PROVISION_ELEMENTS: Readonly<Record<string, ElementUse>> = {
  id: 'ignored',
  extension: 'ignored',
  modifierExtension: 'not-supported',
  type: 'read',
  period: 'read',
  actor: 'read',
  action: 'read',
  securityLabel: 'not-supported',
  purpose: 'read',
  class: 'read',
  code: 'not-supported',
  dataPeriod: 'not-supported',
  data: 'read',
  provision: 'read',
};
/** The nested deny provision carries its type and security labels, and nothing else. */
const LABEL_PROVISION_ELEMENTS: Readonly<Record<string, ElementUse>> = Object.fromEntries(
  Object.keys(PROVISION_ELEMENTS).map((name) => [
    name,
    ['id', 'extension'].includes(name)
      ? 'ignored'
      : ['type', 'securityLabel'].includes(name)
        ? 'read'
        : 'not-supported',
  ]),
);
const ACTOR_ELEMENTS: Readonly<Record<string, ElementUse>> = {
  id: 'ignored',
  extension: 'ignored',
  modifierExtension: 'not-supported',
  role: 'read',
  reference: 'read',
};
const DATA_ELEMENTS: Readonly<Record<string, ElementUse>> = {
  id: 'ignored',
  extension: 'ignored',
  modifierExtension: 'not-supported',
  meaning: 'read',
  reference: 'read',
};

/** Why each refused element is refused; elements not listed get a generic reason. */
const NOT_SUPPORTED_REASONS: Readonly<Record<string, string>> = {
  implicitRules:
    'implicitRules can change the meaning of the whole resource, and no rule set is understood here',
  modifierExtension:
    'a modifier extension changes the meaning of its element, and none is understood here',
  policy: 'policy references cannot be evaluated; state the rule in policyRule (OPTIN)',
  securityLabel:
    'a permit limited to labelled data cannot be expressed; a grant can only exclude labels, in a nested deny provision',
  code: 'grants scope data by resource type (class) and record (data), not by clinical code',
  dataPeriod: 'grants cannot be limited to data from a time range',
};

/** The issues found so far, in the order the reader meets them. */
class Issues {
  readonly list: ConsentIssue[] = [];

  /** Records an issue; returns undefined so a reader can `return issues.add(...)`. */
  add(code: ConsentIssue['code'], expression: string, diagnostics: string): undefined {
    this.list.push({ severity: 'error', code, expression, diagnostics });
    return undefined;
  }
}

/**
 * Reads `consent` as the terms of a new grant (see consent.ts for the rules). Only an active
 * Consent gives terms; a revoked grant's Consent ('inactive') is refused like any other status.
 */
export function consentToGrantTerms(consent: unknown): GrantTermsResult {
  return readConsent(consent, ['active']);
}

/** consentToGrantTerms, accepting each of `statuses`; grantToConsent uses it to check what it writes. */
export function readConsent(
  consent: unknown,
  statuses: readonly ConsentStatus[],
): GrantTermsResult {
  const issues = new Issues();
  if (!isObject(consent) || consent.resourceType !== 'Consent') {
    issues.add('invalid', 'Consent', 'expected a JSON object with resourceType Consent');
    return { ok: false, issues: issues.list };
  }
  checkElements(consent, CONSENT_ELEMENTS, 'Consent', issues);
  const grantId = readGrantId(consent.id, issues);
  readStatus(consent.status, statuses, issues);
  readScope(consent.scope, issues);
  readCategory(consent.category, issues);
  const patientId = readPatient(consent.patient, issues);
  readDateTime(consent.dateTime, issues);
  readPerformers(consent.performer, patientId, issues);
  readPolicyRule(consent.policyRule, issues);
  const terms = readProvision(consent.provision, issues);
  if (issues.list.length > 0) return { ok: false, issues: issues.list };
  assert(terms !== undefined && patientId !== undefined, 'a reader failed without an issue');
  return grantId === undefined
    ? { ok: true, terms, patientId }
    : { ok: true, terms, patientId, grantId };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flags elements that are unknown to R4 ('invalid') or that ChartChain refuses ('not-supported'). */
function checkElements(
  object: Json,
  elements: Readonly<Record<string, ElementUse>>,
  path: string,
  issues: Issues,
  reason?: string,
): void {
  for (const key of Object.keys(object)) {
    // '_name' holds the id and extensions of primitive 'name'; modifier extensions cannot appear there.
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (!Object.hasOwn(elements, name))
      issues.add(
        'invalid',
        `${path}.${key}`,
        `${key} is not an element of ${path.replace(/\[\d+\]/g, '')} in FHIR R4`,
      );
    else if (elements[name] === 'not-supported' && name === key) {
      issues.add(
        'not-supported',
        `${path}.${key}`,
        reason ??
          NOT_SUPPORTED_REASONS[key] ??
          `a ChartChain grant cannot express ${key}, so it is refused rather than dropped`,
      );
    }
  }
}

/** The codings of a CodeableConcept, or none when it is not one. */
function codingsOf(concept: unknown): Json[] {
  return isObject(concept) && Array.isArray(concept.coding) ? concept.coding.filter(isObject) : [];
}

function hasCoding(concept: unknown, system: string, codes: readonly string[]): boolean {
  return codingsOf(concept).some(
    (coding) => coding.system === system && codes.includes(coding.code as string),
  );
}

/** The type and id of a literal Reference, or undefined when it has none. */
function literalReference(reference: unknown): { type: string; id: string } | undefined {
  const match =
    isObject(reference) && typeof reference.reference === 'string'
      ? LITERAL_REFERENCE_PATTERN.exec(reference.reference)
      : null;
  return match === null ? undefined : { type: match[1]!, id: match[2]! };
}

/** A list element: [] when absent and optional, undefined with an issue when required or not an array. */
function readList(
  value: unknown,
  path: string,
  issues: Issues,
  required?: string,
): unknown[] | undefined {
  // FHIR JSON has no empty arrays, so [] reads as absent.
  if (value === undefined || (Array.isArray(value) && value.length === 0))
    return required === undefined ? [] : issues.add('required', path, required);
  return Array.isArray(value) ? value : issues.add('invalid', path, 'must be a JSON array');
}

/** Reads every item of a list, refusing repeats and more than the contract's GRANT_LIST_COUNT_MAX; undefined when any item failed. */
function readEach<T>(
  items: unknown[],
  path: string,
  issues: Issues,
  readItem: (item: unknown, itemPath: string) => T | undefined,
): T[] | undefined {
  if (items.length > GRANT_LIST_COUNT_MAX)
    return issues.add(
      'value',
      path,
      `a grant holds at most ${GRANT_LIST_COUNT_MAX} entries in each list`,
    );
  const values: T[] = [];
  let failed = false;
  items.forEach((item, index) => {
    const value = readItem(item, `${path}[${index}]`);
    if (value !== undefined && values.includes(value))
      issues.add('value', `${path}[${index}]`, 'repeats an earlier entry');
    if (value === undefined || values.includes(value)) failed = true;
    else values.push(value);
  });
  return failed ? undefined : values;
}

function readGrantId(id: unknown, issues: Issues): string | undefined {
  if (id === undefined) return undefined;
  return typeof id === 'string' && FHIR_ID_PATTERN.test(id)
    ? id
    : issues.add('value', 'Consent.id', 'id must be a FHIR id: 1-64 of A-Z a-z 0-9 - .');
}

function readStatus(status: unknown, accepted: readonly string[], issues: Issues): void {
  if (status === undefined) issues.add('required', 'Consent.status', 'status is required');
  else if (typeof status !== 'string' || !CONSENT_STATUSES.includes(status))
    issues.add(
      'value',
      'Consent.status',
      'status must be a code of http://hl7.org/fhir/consent-state-codes',
    );
  else if (!accepted.includes(status))
    issues.add(
      'not-supported',
      'Consent.status',
      `only an active Consent becomes grant terms, and this one is ${status}`,
    );
}

function readScope(scope: unknown, issues: Issues): void {
  if (scope === undefined) issues.add('required', 'Consent.scope', 'scope is required');
  else if (!hasCoding(scope, CONSENT_SCOPE_SYSTEM, ['patient-privacy'])) {
    issues.add(
      'not-supported',
      'Consent.scope',
      `only privacy consents (${CONSENT_SCOPE_SYSTEM}#patient-privacy) become grants`,
    );
  }
}

/** Consent.category is required, but it classifies the document and does not change the terms, so any code is accepted. */
function readCategory(category: unknown, issues: Issues): void {
  readList(category, 'Consent.category', issues, 'category is required');
}

function readPatient(patient: unknown, issues: Issues): string | undefined {
  if (patient === undefined)
    return issues.add(
      'required',
      'Consent.patient',
      'a grant is given by a patient, so patient is required',
    );
  const target = literalReference(patient);
  if (target?.type === 'Patient' && FHIR_ID_PATTERN.test(target.id)) return target.id;
  return issues.add('value', 'Consent.patient', 'patient must be a literal reference Patient/<id>');
}

/** Consent.dateTime is checked but not mapped: a grant's time is the time of the block that records it. */
function readDateTime(dateTime: unknown, issues: Issues): void {
  if (
    dateTime !== undefined &&
    (typeof dateTime !== 'string' || parseDateTime(dateTime, 'start') === undefined)
  ) {
    issues.add(
      'value',
      'Consent.dateTime',
      'dateTime must be a FHIR date, or a dateTime with seconds and a timezone',
    );
  }
}

/** Only the patient signs a consent, so a performer (the grantor) may only be Consent.patient itself. */
function readPerformers(performer: unknown, patientId: string | undefined, issues: Issues): void {
  readList(performer, 'Consent.performer', issues)?.forEach((item, index) => {
    const target = literalReference(item);
    if (patientId !== undefined && (target?.type !== 'Patient' || target.id !== patientId)) {
      issues.add(
        'not-supported',
        `Consent.performer[${index}]`,
        'a ChartChain grant is given by the patient; a grantor other than Consent.patient is not supported',
      );
    }
  });
}

function readPolicyRule(policyRule: unknown, issues: Issues): void {
  if (policyRule === undefined)
    issues.add(
      'required',
      'Consent.policyRule',
      'policyRule is required (ppc-1), and must be OPTIN',
    );
  else if (!hasCoding(policyRule, ACT_CODE_SYSTEM, ['OPTIN'])) {
    issues.add(
      'not-supported',
      'Consent.policyRule',
      `only ${ACT_CODE_SYSTEM}#OPTIN is understood: under an opt-out policy the provisions withhold rather than grant`,
    );
  }
}

function readProvision(provision: unknown, issues: Issues): GrantTerms | undefined {
  if (provision === undefined)
    return issues.add(
      'required',
      'Consent.provision',
      'a grant is stated in provision, which is required',
    );
  if (!isObject(provision))
    return issues.add('invalid', 'Consent.provision', 'provision must be a JSON object');
  checkElements(provision, PROVISION_ELEMENTS, 'Consent.provision', issues);
  readRootType(provision.type, issues);
  const period = readPeriod(provision.period, issues);
  const grantee = readGrantee(provision.actor, issues);
  const actions = readActions(provision.action, issues);
  const purposes = readPurposes(provision.purpose, issues);
  const resourceTypes = readClasses(provision.class, issues);
  const recordIds = readData(provision.data, issues);
  const excludeLabels = readLabelProvisions(provision.provision, issues);
  if (
    !period ||
    !grantee ||
    !actions ||
    !purposes ||
    !resourceTypes ||
    !recordIds ||
    !excludeLabels
  )
    return undefined;
  return { grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period };
}

function readRootType(type: unknown, issues: Issues): void {
  const path = 'Consent.provision.type';
  // HL7's own consent-example-notThem withholds consent with an untyped root under OPTIN, so an
  // untyped root is not read as a permit.
  if (type === undefined)
    issues.add(
      'required',
      path,
      'the root provision must say type permit; an untyped root is ambiguous in R4 and is not guessed',
    );
  else if (type === 'deny')
    issues.add('not-supported', path, 'a root deny withholds consent; a grant can only permit');
  else if (type !== 'permit') issues.add('value', path, 'type must be permit or deny');
}

function readPeriod(period: unknown, issues: Issues): GrantTerms['period'] | undefined {
  const path = 'Consent.provision.period';
  if (period === undefined)
    return issues.add('required', path, 'a grant needs a period with a start');
  if (!isObject(period)) return issues.add('invalid', path, 'period must be a JSON object');
  if (period.start === undefined)
    return issues.add('required', `${path}.start`, 'a grant needs a period with a start');
  const start = readInstant(period.start, 'start', `${path}.start`, issues);
  const end =
    period.end === undefined ? null : readInstant(period.end, 'end', `${path}.end`, issues);
  if (start === undefined || end === undefined) return undefined;
  if (end !== null && end <= start)
    return issues.add('value', `${path}.end`, 'period.end must be after period.start');
  return { start, end };
}

function readInstant(
  value: unknown,
  boundary: 'start' | 'end',
  path: string,
  issues: Issues,
): number | undefined {
  const ms = typeof value === 'string' ? parseDateTime(value, boundary) : undefined;
  if (ms === undefined)
    return issues.add(
      'value',
      path,
      'must be a FHIR date (a whole UTC day), or a dateTime with seconds and a timezone',
    );
  return ms >= 0 ? ms : issues.add('value', path, 'must not be before 1970-01-01T00:00:00Z');
}

function readGrantee(actor: unknown, issues: Issues): Grantee | undefined {
  const actors = readList(
    actor,
    'Consent.provision.actor',
    issues,
    'a grant names its grantee in actor',
  );
  if (actors === undefined) return undefined;
  const grantee = readActor(actors[0], 'Consent.provision.actor[0]', issues);
  return actors.length > 1
    ? issues.add('not-supported', 'Consent.provision.actor[1]', 'a grant names exactly one grantee')
    : grantee;
}

function readActor(actor: unknown, path: string, issues: Issues): Grantee | undefined {
  if (!isObject(actor)) return issues.add('invalid', path, 'actor must be a JSON object');
  checkElements(actor, ACTOR_ELEMENTS, path, issues);
  if (actor.role === undefined) issues.add('required', `${path}.role`, 'actor.role is required');
  else if (!hasCoding(actor.role, PARTICIPATION_TYPE_SYSTEM, RECIPIENT_ROLES)) {
    issues.add(
      'not-supported',
      `${path}.role`,
      `the grantee is an information recipient: ${PARTICIPATION_TYPE_SYSTEM} IRCP or PRCP`,
    );
  }
  if (actor.reference === undefined)
    return issues.add('required', `${path}.reference`, 'actor.reference is required');
  const target = literalReference(actor.reference);
  if (target === undefined)
    return issues.add(
      'value',
      `${path}.reference`,
      'the grantee must be a literal reference Practitioner/<id> or Organization/<id>',
    );
  const kind = GRANTEE_KINDS.get(target.type);
  if (kind === undefined)
    return issues.add(
      'not-supported',
      `${path}.reference`,
      `grantees are practitioners or organisations, not ${target.type}`,
    );
  return ID_PATTERN.test(target.id)
    ? { kind, id: target.id }
    : issues.add('value', `${path}.reference`, 'the grantee id is not a ChartChain id');
}

function readActions(action: unknown, issues: Issues): ConsentAction[] | undefined {
  const path = 'Consent.provision.action';
  const items = readList(action, path, issues, 'a grant needs at least one action');
  return (
    items && readEach(items, path, issues, (item, itemPath) => readAction(item, itemPath, issues))
  );
}

function readAction(action: unknown, path: string, issues: Issues): ConsentAction | undefined {
  const coding = codingsOf(action).find((candidate) => candidate.system === CONSENT_ACTION_SYSTEM);
  if (coding === undefined)
    return issues.add('not-supported', path, `actions must be coded in ${CONSENT_ACTION_SYSTEM}`);
  const code = coding.code as string;
  const granted = ACTIONS_BY_CODE.get(code);
  if (granted !== undefined) return granted;
  if (!CONSENT_ACTION_CODES.includes(code))
    return issues.add('value', path, `not a code of ${CONSENT_ACTION_SYSTEM}`);
  return issues.add(
    'not-supported',
    path,
    `consentaction ${code} has no ChartChain equivalent; grants allow access (read) and correct (write)`,
  );
}

function readPurposes(purpose: unknown, issues: Issues): string[] | undefined {
  const path = 'Consent.provision.purpose';
  const items = readList(purpose, path, issues, 'a grant needs at least one purpose of use');
  return (
    items &&
    readEach(items, path, issues, (item, itemPath) =>
      readCode(item, ACT_REASON_SYSTEM, CODE_PATTERN, itemPath, issues),
    )
  );
}

function readClasses(classes: unknown, issues: Issues): string[] | undefined {
  const path = 'Consent.provision.class';
  const items = readList(classes, path, issues);
  return (
    items &&
    readEach(items, path, issues, (item, itemPath) =>
      readCode(item, RESOURCE_TYPES_SYSTEM, RESOURCE_TYPE_PATTERN, itemPath, issues),
    )
  );
}

/** The code of a Coding from `system`; other systems are not-supported, malformed codes bad values. */
function readCode(
  coding: unknown,
  system: string,
  pattern: RegExp,
  path: string,
  issues: Issues,
): string | undefined {
  if (!isObject(coding) || coding.system !== system)
    return issues.add('not-supported', path, `only codes from ${system} are expressible here`);
  return typeof coding.code === 'string' && pattern.test(coding.code)
    ? coding.code
    : issues.add('value', path, `not a code ChartChain accepts from ${system}`);
}

function readData(data: unknown, issues: Issues): string[] | undefined {
  const path = 'Consent.provision.data';
  const items = readList(data, path, issues);
  return (
    items && readEach(items, path, issues, (item, itemPath) => readDatum(item, itemPath, issues))
  );
}

function readDatum(datum: unknown, path: string, issues: Issues): string | undefined {
  if (!isObject(datum)) return issues.add('invalid', path, 'data must be a JSON object');
  checkElements(datum, DATA_ELEMENTS, path, issues);
  if (datum.meaning === undefined)
    issues.add('required', `${path}.meaning`, 'data.meaning is required');
  else if (datum.meaning !== 'instance')
    issues.add(
      'not-supported',
      `${path}.meaning`,
      'only meaning instance (the record itself) is expressible',
    );
  if (datum.reference === undefined)
    return issues.add('required', `${path}.reference`, 'data.reference is required');
  return readRecordId(datum.reference, `${path}.reference`, issues);
}

/**
 * A record as a literal reference, read as 'Type/id' (a FHIR id, which the caller maps to the
 * record's ledger id), or by identifier in RECORD_ID_SYSTEM, read as the bare ledger id.
 */
function readRecordId(reference: unknown, path: string, issues: Issues): string | undefined {
  if (!isObject(reference)) return issues.add('invalid', path, 'reference must be a JSON object');
  if (reference.reference !== undefined && reference.identifier !== undefined)
    return issues.add(
      'not-supported',
      path,
      'give a record as a literal reference or by identifier, not both',
    );
  if (reference.reference !== undefined) {
    const target = literalReference(reference);
    return target !== undefined && FHIR_ID_PATTERN.test(target.id)
      ? `${target.type}/${target.id}`
      : issues.add('value', path, 'must be a literal reference Type/id to a ChartChain record');
  }
  const identifier = reference.identifier;
  if (!isObject(identifier) || identifier.system !== RECORD_ID_SYSTEM)
    return issues.add(
      'not-supported',
      path,
      `records are referenced as Type/id, or by identifier with system ${RECORD_ID_SYSTEM}`,
    );
  return typeof identifier.value === 'string' && RECORD_ID_PATTERN.test(identifier.value)
    ? identifier.value
    : issues.add('value', path, 'the identifier value is not a ChartChain record id');
}

function readLabelProvisions(provisions: unknown, issues: Issues): string[] | undefined {
  const path = 'Consent.provision.provision';
  const items = readList(provisions, path, issues);
  if (items === undefined) return undefined;
  if (items.length === 0) return [];
  const labels = readLabelProvision(items[0], `${path}[0]`, issues);
  return items.length > 1
    ? issues.add(
        'not-supported',
        `${path}[1]`,
        'only one nested provision is expressible: a deny by security label',
      )
    : labels;
}

function readLabelProvision(
  provision: unknown,
  path: string,
  issues: Issues,
): string[] | undefined {
  if (!isObject(provision)) return issues.add('invalid', path, 'provision must be a JSON object');
  if (provision.type === undefined)
    return issues.add('required', `${path}.type`, 'a nested provision must say its type');
  if (provision.type !== 'deny') {
    const code = provision.type === 'permit' ? 'not-supported' : 'value';
    return issues.add(
      code,
      `${path}.type`,
      'the one nested provision a grant expresses is a deny by security label',
    );
  }
  checkElements(
    provision,
    LABEL_PROVISION_ELEMENTS,
    path,
    issues,
    'the nested deny may carry only type and securityLabel: a narrower exclusion is not expressible',
  );
  const labels = readList(
    provision.securityLabel,
    `${path}.securityLabel`,
    issues,
    'the nested deny must list the security labels it excludes',
  );
  return (
    labels &&
    readEach(labels, `${path}.securityLabel`, issues, (label, labelPath) =>
      readLabel(label, labelPath, issues),
    )
  );
}

/** A security label, matched by code; its system must be the one securityLabelSystem gives that code. */
function readLabel(label: unknown, path: string, issues: Issues): string | undefined {
  const code = isObject(label) ? label.code : undefined;
  if (typeof code !== 'string' || !CODE_PATTERN.test(code))
    return issues.add('value', path, 'not a security label code ChartChain accepts');
  const system = securityLabelSystem(code);
  return isObject(label) && label.system === system
    ? code
    : issues.add(
        'not-supported',
        path,
        `labels are matched by code alone, so ${code} must come from ${system}`,
      );
}
