/**
 * ChartChain consent grants ⇄ FHIR R4 Consent (hl7.org/fhir/R4/consent.html). A grant becomes one
 * privacy Consent whose root provision permits one recipient; reading takes that same shape back
 * and refuses, with an issue at the element's FHIRPath, anything a grant cannot express.
 *
 * The mapping, element by element (both directions unless marked):
 * - id ⇄ grantId. Optional on read: a Consent not yet on the ledger has none. identifier is not
 *   written and is ignored on read.
 * - status: 'active' for an active grant, 'inactive' for a revoked one. Read: only 'active' gives
 *   terms; any other ConsentState code is not-supported.
 * - scope: consentscope#patient-privacy. category: LOINC 59284-0 "Patient Consent" (read: any
 *   category, since it classifies the document without changing the terms).
 * - patient ⇄ 'Patient/<patientId>'. dateTime ← grantedAt (read: checked, not mapped: a grant's time
 *   is its block's). performer, when present, must be the patient: only the patient signs a grant.
 * - policyRule: v3-ActCode#OPTIN. Read: required, and OPTOUT or a `policy` is not-supported.
 * - provision.type: 'permit', always written. Read: 'deny' is not-supported and an absent root
 *   type is required, not guessed: R4 calls root types optional, and HL7's consent-example-notThem
 *   withholds consent from its actor with an untyped root under OPTIN.
 * - provision.period ⇄ period: start, and end unless open-ended, as UTC instants with ms. Read:
 *   a FHIR date or dateTime with timezone. A date names a whole UTC day: as start, its first
 *   instant; as end, the first instant after it, since FHIR's Period.end is inclusive and a
 *   grant's [start, end) is not. A written end is the grant's exclusive end instant, which FHIR
 *   reads as inclusive: the two differ by that one millisecond.
 * - provision.actor: exactly one, role v3-ParticipationType#IRCP (information recipient; PRCP is
 *   read too), reference 'Practitioner/<id>' or 'Organization/<id>' by grantee.kind.
 * - provision.action ⇄ actions: read → consentaction#access, write → consentaction#correct, the
 *   nearest code to "add to or amend the patient's records". collect, use and disclose are
 *   not-supported.
 * - provision.purpose ⇄ purposes: one v3-ActReason Coding each; at least one is required.
 * - provision.class ⇄ resourceTypes: one Coding each in http://hl7.org/fhir/resource-types.
 * - provision.data ⇄ recordIds: meaning 'instance', a literal reference 'Type/id' when
 *   `recordReference` names the record's FHIR id, else by identifier in RECORD_ID_SYSTEM (a
 *   logical reference to the ledger id). Read keeps a literal as 'Type/id', for the caller to
 *   map to its ledger id, and an identifier as the ledger id.
 * - excludeLabels ⇄ one nested provision { type: 'deny', securityLabel }, the Coding system of
 *   each code from securityLabelSystem (v3-Confidentiality for U L M N R V, else v3-ActCode).
 *   Read: any other nested provision, or a label in another system, is not-supported.
 * - Read: provision.securityLabel, code and dataPeriod, modifierExtension and implicitRules are
 *   not-supported; an element R4 does not define is invalid; repeated entries are bad values.
 * - Empty lists are left out (FHIR JSON has no empty arrays) and read back as []. Lists keep
 *   their order both ways; the contract sorts them. Read refuses lists longer than the
 *   contract's GRANT_LIST_COUNT_MAX, and repeats, which the contract would drop silently.
 * References may be absolute under options.fullUrlBase; read accepts relative or absolute ones.
 */
import type { CodeableConcept, Consent, ConsentProvision, Reference } from './datatypes.js';
import { formatInstant } from './date-time.js';
import type { ConsentAction, GrantRow, GrantTerms } from '../contracts/index.js';
import { readConsent } from './consent-read.js';
import {
  ACT_CODE_SYSTEM,
  ACT_REASON_SYSTEM,
  ACTION_CODES,
  concept,
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  LOINC_SYSTEM,
  PARTICIPATION_TYPE_SYSTEM,
  RECORD_ID_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  securityLabelSystem,
} from './terminology.js';

export { consentToGrantTerms, type ConsentIssue, type GrantTermsResult } from './consent-read.js';

/** How grantToConsent writes references. */
export interface ConsentWriteOptions {
  /** Service base URL, e.g. 'https://node.example/fhir': references become absolute under it. */
  fullUrlBase?: string;
  /** The FHIR 'Type/id' of a ledger record id, when known here. */
  recordReference?: (recordId: string) => string | undefined;
}

const GRANTEE_TYPES = { practitioner: 'Practitioner', organisation: 'Organization' } as const;
const BASE_URL_PATTERN = /^https?:\/\/[^\s?#]+$/;

/**
 * The Consent stating `grant`, by the rules above. Every Consent it returns reads back, through
 * consentToGrantTerms when active, to the grant's terms exactly. Throws TypeError naming the
 * field when `grant` breaks a rule of the consent contract (an id, code or period it would
 * refuse) or `options.fullUrlBase` is not an http(s) URL; RangeError for a time outside years
 * 1970-9999.
 */
export function grantToConsent(grant: GrantRow, options: ConsentWriteOptions = {}): Consent {
  if (grant.status !== 'active' && grant.status !== 'revoked')
    throw new TypeError('grant.status must be active or revoked');
  const base = referenceBase(options.fullUrlBase);
  const consent: Consent = {
    resourceType: 'Consent',
    id: grant.grantId,
    status: grant.status === 'active' ? 'active' : 'inactive',
    scope: concept(CONSENT_SCOPE_SYSTEM, 'patient-privacy', 'Privacy Consent'),
    category: [concept(LOINC_SYSTEM, '59284-0', 'Patient Consent')],
    patient: { reference: `${base}Patient/${grant.patientId}` },
    dateTime: instant(grant.grantedAt, 'grant.grantedAt'),
    policyRule: concept(ACT_CODE_SYSTEM, 'OPTIN', 'opt-in'),
    provision: rootProvision(grant, base, options.recordReference ?? (() => undefined)),
  };
  const check = readConsent(consent, ['active', 'inactive']);
  if (!check.ok)
    throw new TypeError(
      `grant cannot be stated as a Consent: ${check.issues.map((issue) => `${issue.expression}: ${issue.diagnostics}`).join('; ')}`,
    );
  return consent;
}

/** '' for relative references, or the base URL with one trailing slash. */
function referenceBase(fullUrlBase: string | undefined): string {
  if (fullUrlBase === undefined) return '';
  if (!BASE_URL_PATTERN.test(fullUrlBase))
    throw new TypeError('options.fullUrlBase must be an http(s) URL without query or fragment');
  return `${fullUrlBase.replace(/\/+$/, '')}/`;
}

function instant(ms: number, name: string): string {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new RangeError(`${name} must be a non-negative integer ms since the epoch`);
  return formatInstant(ms);
}

function dataReference(recordId: string, base: string, literal: string | undefined): Reference {
  return literal === undefined
    ? { identifier: { system: RECORD_ID_SYSTEM, value: recordId } }
    : { reference: `${base}${literal}` };
}

function rootProvision(
  terms: GrantTerms,
  base: string,
  recordReference: (recordId: string) => string | undefined,
): ConsentProvision {
  const { period } = terms;
  const provision: ConsentProvision = {
    type: 'permit',
    period:
      period.end === null
        ? { start: instant(period.start, 'grant.period.start') }
        : {
            start: instant(period.start, 'grant.period.start'),
            end: instant(period.end, 'grant.period.end'),
          },
    actor: [
      {
        role: concept(PARTICIPATION_TYPE_SYSTEM, 'IRCP', 'information recipient'),
        reference: granteeReference(terms, base),
      },
    ],
    action: terms.actions.map(actionConcept),
    purpose: terms.purposes.map((code) => ({ system: ACT_REASON_SYSTEM, code })),
  };
  if (terms.resourceTypes.length > 0)
    provision.class = terms.resourceTypes.map((code) => ({ system: RESOURCE_TYPES_SYSTEM, code }));
  if (terms.recordIds.length > 0)
    provision.data = terms.recordIds.map((value) => ({
      meaning: 'instance',
      reference: dataReference(value, base, recordReference(value)),
    }));
  if (terms.excludeLabels.length > 0)
    provision.provision = [
      {
        type: 'deny',
        securityLabel: terms.excludeLabels.map((code) => ({
          system: securityLabelSystem(code),
          code,
        })),
      },
    ];
  return provision;
}

function granteeReference({ grantee }: GrantTerms, base: string): Reference {
  if (!Object.hasOwn(GRANTEE_TYPES, grantee.kind))
    throw new TypeError('grant.grantee.kind must be practitioner or organisation');
  return { reference: `${base}${GRANTEE_TYPES[grantee.kind]}/${grantee.id}` };
}

function actionConcept(action: ConsentAction): CodeableConcept {
  if (!Object.hasOwn(ACTION_CODES, action))
    throw new TypeError('grant.actions must hold only read and write');
  return concept(CONSENT_ACTION_SYSTEM, ACTION_CODES[action].code, ACTION_CODES[action].display);
}
