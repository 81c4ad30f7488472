/**
 * A patient's restriction of their home organisation ⇄ FHIR R4 Consent (hl7.org/fhir/R4/consent.html):
 * a privacy Consent under policyRule v3-ActCode#OPTOUT whose root provision is a deny.
 *
 * The mapping, element by element (both directions unless marked):
 * - id ⇄ restrictionId; status: 'active', or 'inactive' once lifted (read: only 'active').
 * - scope consentscope#patient-privacy, category LOINC 59284-0 (read: checked by FHIR validation, not mapped).
 * - patient ⇄ 'Patient/<patientId>'; dateTime ← restrictedAt. policyRule: OPTOUT (read: absent or OPTOUT).
 * - provision.type: 'deny' (how a create is told from a grant).
 * - provision.actor ⇄ practitionerIds: role v3-ParticipationType#IRCP (PRCP read too), reference
 *   'Practitioner/<id>'. No actor: the whole home organisation.
 * - provision.class ⇄ resourceTypes, one http://hl7.org/fhir/resource-types Coding each.
 * - provision.securityLabel ⇄ labels, the Coding system of each code from securityLabelSystem.
 * - Read: any other provision element (period, action, purpose, data, code, dataPeriod, nested
 *   provisions) is not-supported, never dropped: a dropped condition would withhold more or less
 *   than the patient asked. Lists are bounded by the contract's GRANT_LIST_COUNT_MAX.
 */
import {
  CODE_PATTERN,
  ID_PATTERN,
  RESOURCE_TYPE_PATTERN,
  type RestrictionRow,
  type RestrictionTerms,
} from '../contracts/index.js';
import type { ConsentIssue } from './consent-read.js';
import type { Consent } from './datatypes.js';
import { formatInstant } from './date-time.js';
import {
  ACT_CODE_SYSTEM,
  concept,
  CONSENT_SCOPE_SYSTEM,
  LOINC_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECIPIENT_ROLES,
  RESOURCE_TYPES_SYSTEM,
  securityLabelSystem,
} from './terminology.js';
import { GRANT_LIST_COUNT_MAX } from '../ledger/index.js';

/** What consentToRestriction returns: the terms and whose they are, or every issue found. */
export type RestrictionTermsResult =
  { ok: true; terms: RestrictionTerms; patientId: string } | { ok: false; issues: ConsentIssue[] };

type Json = { [key: string]: unknown };
const PATIENT_REFERENCE = /^(?:https?:\/\/[^\s?#]+\/)?Patient\/([A-Za-z0-9.-]{1,64})$/;
const PRACTITIONER_REFERENCE = /^(?:https?:\/\/[^\s?#]+\/)?Practitioner\/([A-Za-z0-9.-]{1,64})$/;
const PROVISION_READ = ['type', 'actor', 'class', 'securityLabel', 'id', 'extension'];

/** True when `resource` is a Consent whose root provision denies: a restriction, not a grant. */
export function isRestrictionConsent(resource: Json): boolean {
  const provision = resource['provision'];
  return isObject(provision) && provision['type'] === 'deny';
}

/** The Consent stating `row`, by the rules above. */
export function restrictionToConsent(row: RestrictionRow): Consent {
  const provision: Consent['provision'] = { type: 'deny' };
  if (row.practitionerIds.length > 0)
    provision.actor = row.practitionerIds.map((id) => ({
      role: concept(PARTICIPATION_TYPE_SYSTEM, 'IRCP', 'information recipient'),
      reference: { reference: `Practitioner/${id}` },
    }));
  if (row.resourceTypes.length > 0)
    provision.class = row.resourceTypes.map((code) => ({ system: RESOURCE_TYPES_SYSTEM, code }));
  if (row.labels.length > 0)
    provision.securityLabel = row.labels.map((code) => ({
      system: securityLabelSystem(code),
      code,
    }));
  return {
    resourceType: 'Consent',
    id: row.restrictionId,
    status: row.status === 'active' ? 'active' : 'inactive',
    scope: concept(CONSENT_SCOPE_SYSTEM, 'patient-privacy', 'Privacy Consent'),
    category: [concept(LOINC_SYSTEM, '59284-0', 'Patient Consent')],
    patient: { reference: `Patient/${row.patientId}` },
    dateTime: formatInstant(row.restrictedAt),
    policyRule: concept(ACT_CODE_SYSTEM, 'OPTOUT', 'opt-out'),
    provision,
  };
}

/** Reads a deny Consent as restriction terms, or lists every issue (at its FHIRPath) that stops it. */
export function consentToRestriction(resource: Json): RestrictionTermsResult {
  const issues: ConsentIssue[] = [];
  const issue = (code: ConsentIssue['code'], expression: string, diagnostics: string): undefined =>
    void issues.push({ severity: 'error', code, expression, diagnostics });
  if (resource['status'] !== 'active')
    issue(
      'not-supported',
      'Consent.status',
      'a new restriction is active; lift one by deleting it',
    );
  const patient = PATIENT_REFERENCE.exec(
    String((resource['patient'] as Json | undefined)?.['reference'] ?? ''),
  );
  if (patient === null)
    issue('required', 'Consent.patient', 'a restriction names its patient as Patient/<id>');
  for (const name of ['policy', 'implicitRules', 'modifierExtension'])
    if (resource[name] !== undefined)
      issue('not-supported', `Consent.${name}`, 'not understood here, so it cannot be honoured');
  if (
    resource['policyRule'] !== undefined &&
    !hasCoding(resource['policyRule'], ACT_CODE_SYSTEM, ['OPTOUT'])
  )
    issue('not-supported', 'Consent.policyRule', 'a restriction is stated under policyRule OPTOUT');
  const provision = isObject(resource['provision']) ? resource['provision'] : {};
  for (const name of Object.keys(provision)) {
    if (!PROVISION_READ.includes(name))
      issue(
        'not-supported',
        `Consent.provision.${name}`,
        'a restriction withholds by resource type (class), security label and practitioner (actor) only, always, for every purpose',
      );
  }
  const practitionerIds = list(
    provision['actor'],
    'Consent.provision.actor',
    issues,
    (actor, path) => practitionerOf(actor, path, issue),
  );
  const resourceTypes = list(
    provision['class'],
    'Consent.provision.class',
    issues,
    (coding, path) =>
      codeOf(
        coding,
        path,
        issue,
        (code) => RESOURCE_TYPE_PATTERN.test(code) && system(coding) === RESOURCE_TYPES_SYSTEM,
      ),
  );
  const labels = list(
    provision['securityLabel'],
    'Consent.provision.securityLabel',
    issues,
    (coding, path) =>
      codeOf(
        coding,
        path,
        issue,
        (code) => CODE_PATTERN.test(code) && system(coding) === securityLabelSystem(code),
      ),
  );
  if (issues.length > 0 || patient === null) return { ok: false, issues };
  return {
    ok: true,
    patientId: patient[1]!,
    terms: { resourceTypes: resourceTypes!, labels: labels!, practitionerIds: practitionerIds! },
  };
}

/** Each item of an optional array through `read`; repeats and overlong lists are issues. */
function list(
  value: unknown,
  path: string,
  issues: ConsentIssue[],
  read: (item: Json, path: string) => string | undefined,
): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0)
    return void issues.push({
      severity: 'error',
      code: 'invalid',
      expression: path,
      diagnostics: 'must be a non-empty array when present',
    });
  if (value.length > GRANT_LIST_COUNT_MAX)
    return void issues.push({
      severity: 'error',
      code: 'value',
      expression: path,
      diagnostics: `at most ${GRANT_LIST_COUNT_MAX} entries`,
    });
  const items = value.map((item: unknown, i) =>
    isObject(item)
      ? read(item, `${path}[${i}]`)
      : void issues.push({
          severity: 'error',
          code: 'invalid',
          expression: `${path}[${i}]`,
          diagnostics: 'must be an object',
        }),
  );
  if (items.some((item) => item === undefined)) return undefined;
  if (new Set(items).size !== items.length)
    return void issues.push({
      severity: 'error',
      code: 'value',
      expression: path,
      diagnostics: 'repeats an entry',
    });
  return items as string[];
}

function practitionerOf(
  actor: Json,
  path: string,
  issue: (code: ConsentIssue['code'], expression: string, diagnostics: string) => undefined,
): string | undefined {
  if (
    actor['role'] !== undefined &&
    !hasCoding(actor['role'], PARTICIPATION_TYPE_SYSTEM, RECIPIENT_ROLES)
  )
    return issue(
      'not-supported',
      `${path}.role`,
      'the actor of a restriction is an information recipient (IRCP)',
    );
  const match = PRACTITIONER_REFERENCE.exec(
    String((actor['reference'] as Json | undefined)?.['reference'] ?? ''),
  );
  if (match === null || !ID_PATTERN.test(match[1]!))
    return issue(
      'not-supported',
      `${path}.reference`,
      'a restriction names practitioners as Practitioner/<id>; leave actor out to restrict the whole home organisation',
    );
  return match[1]!;
}

function codeOf(
  coding: Json,
  path: string,
  issue: (code: ConsentIssue['code'], expression: string, diagnostics: string) => undefined,
  valid: (code: string) => boolean,
): string | undefined {
  const code = coding['code'];
  return typeof code === 'string' && valid(code)
    ? code
    : issue('value', path, 'not a code of the expected system');
}

function hasCoding(value: unknown, system: string, codes: readonly string[]): boolean {
  const codings =
    isObject(value) && Array.isArray(value['coding']) ? (value['coding'] as unknown[]) : [];
  return codings.some(
    (coding) =>
      isObject(coding) && coding['system'] === system && codes.includes(String(coding['code'])),
  );
}

function system(coding: Json): unknown {
  return coding['system'];
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
