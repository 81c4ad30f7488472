import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RestrictionRow } from '../contracts/index.js';
import {
  consentToRestriction,
  isRestrictionConsent,
  restrictionToConsent,
} from './consent-restriction.js';

const row = (extra: Partial<RestrictionRow> = {}): RestrictionRow => ({
  restrictionId: 'r-1',
  patientId: 'patient-1',
  resourceTypes: [],
  labels: [],
  practitionerIds: [],
  status: 'active',
  restrictedAt: 1_700_000_000_000,
  liftedAt: null,
  ...extra,
});
type Json = { [key: string]: unknown };
const asJson = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;

test('a restriction becomes a deny Consent under OPTOUT that reads back to the same terms', () => {
  const rows = [
    row(),
    row({ resourceTypes: ['Condition', 'Observation'] }),
    row({ labels: ['PSY', 'R'] }),
    row({ practitionerIds: ['dr-a'], resourceTypes: ['Observation'], labels: ['HIV'] }),
  ];
  for (const restriction of rows) {
    const consent = asJson(restrictionToConsent(restriction));
    assert.ok(isRestrictionConsent(consent));
    assert.deepEqual((consent['policyRule'] as Json)['coding'], [
      {
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        code: 'OPTOUT',
        display: 'opt-out',
      },
    ]);
    const { resourceTypes, labels, practitionerIds } = restriction;
    assert.deepEqual(consentToRestriction(consent), {
      ok: true,
      patientId: 'patient-1',
      terms: { resourceTypes, labels, practitionerIds },
    });
  }
  const labelled = asJson(restrictionToConsent(row({ labels: ['PSY', 'R'] })));
  assert.deepEqual((labelled['provision'] as Json)['securityLabel'], [
    { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' },
    { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' },
  ]);
  assert.equal(
    asJson(restrictionToConsent(row({ status: 'lifted', liftedAt: 1_700_000_001_000 })))['status'],
    'inactive',
  );
  assert.equal(
    isRestrictionConsent({ resourceType: 'Consent', provision: { type: 'permit' } }),
    false,
  );
});

test('what a restriction cannot say is refused with an issue at its FHIRPath, never dropped', () => {
  const base = asJson(restrictionToConsent(row({ resourceTypes: ['Observation'] })));
  const issuesOf = (consent: Json) => {
    const result = consentToRestriction(consent);
    assert.equal(result.ok, false);
    return result.ok ? [] : result.issues.map((issue) => [issue.code, issue.expression]);
  };
  const provision = base['provision'] as Json;
  assert.deepEqual(issuesOf({ ...base, status: 'draft' }), [['not-supported', 'Consent.status']]);
  assert.deepEqual(issuesOf({ ...base, patient: { reference: 'Group/g-1' } }), [
    ['required', 'Consent.patient'],
  ]);
  assert.deepEqual(
    issuesOf({
      ...base,
      policyRule: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
      },
    }),
    [['not-supported', 'Consent.policyRule']],
  );
  assert.deepEqual(
    issuesOf({ ...base, provision: { ...provision, purpose: [{ code: 'HRESCH' }], data: [] } }),
    [
      ['not-supported', 'Consent.provision.purpose'],
      ['not-supported', 'Consent.provision.data'],
    ],
  );
  assert.deepEqual(
    issuesOf({
      ...base,
      provision: { ...provision, actor: [{ reference: { reference: 'Organization/org-b' } }] },
    }),
    [['not-supported', 'Consent.provision.actor[0].reference']],
  );
  assert.deepEqual(
    issuesOf({
      ...base,
      provision: {
        ...provision,
        securityLabel: [
          { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'PSY' },
        ],
      },
    }),
    [['value', 'Consent.provision.securityLabel[0]']],
  );
  assert.deepEqual(
    issuesOf({
      ...base,
      provision: {
        ...provision,
        class: [...(provision['class'] as unknown[]), ...(provision['class'] as unknown[])],
      },
    }),
    [['value', 'Consent.provision.class']],
  );
  assert.deepEqual(issuesOf({ ...base, provision: { ...provision, class: [] } }), [
    ['invalid', 'Consent.provision.class'],
  ]);
});
