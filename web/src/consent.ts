/** A patient's grants as FHIR Consent: read into plain terms, and built from the grant wizard. */
import { ACT_CODE_SYSTEM, type Resource } from './fhir.js';

export interface GrantTerms {
  /** `Practitioner/dr-grey` or `Organization/demo-hospital`. */
  readonly grantee: string;
  readonly resourceTypes: readonly string[];
  readonly excludeLabels: readonly string[];
  readonly purposes: readonly string[];
  readonly start: string;
  /** An ISO date, or '' for no end. */
  readonly end: string;
}

interface Provision {
  type?: string;
  period?: { start?: string; end?: string };
  actor?: { reference?: { reference?: string } }[];
  purpose?: { code?: string }[];
  class?: { code?: string }[];
  securityLabel?: { code?: string }[];
  provision?: Provision[];
}

export interface Grant extends GrantTerms {
  readonly id: string;
  readonly active: boolean;
  /** A restriction of the home practice (deny), not a grant to someone. */
  readonly restriction: boolean;
}

export function grantOf(consent: Resource): Grant {
  const provision = (consent['provision'] ?? {}) as Provision;
  return {
    id: consent.id ?? '',
    active: consent['status'] === 'active',
    restriction: provision.type === 'deny',
    grantee: provision.actor?.[0]?.reference?.reference ?? 'your home practice',
    resourceTypes: (provision.class ?? []).map((c) => c.code ?? ''),
    excludeLabels: (provision.provision?.[0]?.securityLabel ?? provision.securityLabel ?? []).map(
      (c) => c.code ?? '',
    ),
    purposes: (provision.purpose ?? []).map((c) => c.code ?? ''),
    start: provision.period?.start ?? '',
    end: provision.period?.end ?? '',
  };
}

/** The FHIR Consent for `terms`, a permit with one information recipient. */
export function consentOf(patientId: string, terms: GrantTerms): Resource {
  const [type] = terms.grantee.split('/');
  const period: Record<string, string> = {
    start: new Date(terms.start === '' ? Date.now() : terms.start).toISOString(),
  };
  if (terms.end !== '') period['end'] = terms.end;
  const provision: Record<string, unknown> = {
    type: 'permit',
    period,
    actor: [
      {
        role: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' },
          ],
        },
        reference: { reference: terms.grantee },
      },
    ],
    action: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }],
      },
    ],
    purpose: terms.purposes.map((code) => ({
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
      code,
    })),
  };
  if (terms.resourceTypes.length > 0)
    provision['class'] = terms.resourceTypes.map((code) => ({
      system: 'http://hl7.org/fhir/resource-types',
      code,
    }));
  if (terms.excludeLabels.length > 0)
    provision['provision'] = [
      {
        type: 'deny',
        securityLabel: terms.excludeLabels.map((code) => ({ system: ACT_CODE_SYSTEM, code })),
      },
    ];
  if (type !== 'Practitioner' && type !== 'Organization')
    throw new RangeError('grant to a Practitioner or an Organization');
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: 'OPTIN' }] },
    provision,
  };
}

const TYPE_WORDS: Record<string, string> = {
  Observation: 'lab results and vital signs',
  Condition: 'problems',
  MedicationRequest: 'medications',
  AllergyIntolerance: 'allergies',
  Immunization: 'immunisations',
  Encounter: 'visits',
  DocumentReference: 'notes and documents',
  Patient: 'your demographics',
};

/** The grant in one plain sentence: who may read what, for what, until when. */
export function grantSentence(
  terms: GrantTerms,
  labelWords: (code: string) => string,
  purposeWords: (code: string) => string,
): string {
  const [kind, id] = terms.grantee.split('/');
  const who = kind === 'Organization' ? `every clinician and system of ${id}` : `${id}`;
  const what =
    terms.resourceTypes.length === 0
      ? 'all of your records'
      : `your ${terms.resourceTypes.map((t) => TYPE_WORDS[t] ?? t).join(', ')}`;
  const except =
    terms.excludeLabels.length === 0
      ? ''
      : `, except anything marked ${terms.excludeLabels.map(labelWords).join(' or ')}`;
  const why = terms.purposes.map(purposeWords).join(' or ');
  const until =
    terms.end === ''
      ? 'until you revoke it'
      : `until ${new Date(terms.end).toLocaleDateString()} or until you revoke it`;
  return `${who} will be able to read ${what}${except}, for ${why}, from ${terms.start === '' ? 'now' : new Date(terms.start).toLocaleDateString()} ${until}.`;
}

export const GRANTABLE_TYPES = Object.keys(TYPE_WORDS);
