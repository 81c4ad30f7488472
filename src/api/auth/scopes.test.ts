import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allows,
  formatScope,
  formatScopes,
  narrowScopes,
  parseScope,
  parseScopes,
  ScopeError,
  type Interaction,
  type Scope,
} from './scopes.js';
import { SCOPE_COUNT_MAX } from '../../ledger/index.js';
import { ROLE_PROFILES } from './account-roles.js';

test('valid scopes parse to their v2 meaning; v1 suffixes map to rs, cud and cruds', () => {
  const table: [string, Scope][] = [
    [
      'patient/Observation.rs',
      { kind: 'resource', context: 'patient', resourceType: 'Observation', permissions: 'rs' },
    ],
    [
      'user/*.cruds',
      { kind: 'resource', context: 'user', resourceType: '*', permissions: 'cruds' },
    ],
    ['system/*.rs', { kind: 'resource', context: 'system', resourceType: '*', permissions: 'rs' }],
    [
      'system/Encounter.c',
      { kind: 'resource', context: 'system', resourceType: 'Encounter', permissions: 'c' },
    ],
    [
      'user/MedicationRequest.ud',
      { kind: 'resource', context: 'user', resourceType: 'MedicationRequest', permissions: 'ud' },
    ],
    [
      'patient/Observation.read',
      { kind: 'resource', context: 'patient', resourceType: 'Observation', permissions: 'rs' },
    ],
    [
      'user/Patient.write',
      { kind: 'resource', context: 'user', resourceType: 'Patient', permissions: 'cud' },
    ],
    ['user/*.*', { kind: 'resource', context: 'user', resourceType: '*', permissions: 'cruds' }],
    [
      'patient/*.read',
      { kind: 'resource', context: 'patient', resourceType: '*', permissions: 'rs' },
    ],
    ['openid', { kind: 'named', name: 'openid' }],
    ['fhirUser', { kind: 'named', name: 'fhirUser' }],
    ['launch/patient', { kind: 'named', name: 'launch/patient' }],
    ['offline_access', { kind: 'named', name: 'offline_access' }],
  ];
  for (const [text, expected] of table) assert.deepEqual(parseScope(text), expected, text);
  assert.equal(formatScope(parseScope('patient/Observation.read')), 'patient/Observation.rs');
  assert.equal(formatScope(parseScope('user/*.*')), 'user/*.cruds');
  assert.equal(formatScope(parseScope('user/Patient.write')), 'user/Patient.cud');
});

test('malformed or unknown scopes are refused with a reason', () => {
  const table: [string, RegExp][] = [
    ['patient/Observation.sr', /in that order/],
    ['patient/Observation.rr', /in that order/],
    ['patient/Observation.', /in that order/],
    ['patient/Observation.x', /in that order/],
    ['patient/Observation.crudsx', /in that order/],
    ['patient/Observation.Read', /in that order/],
    ['patient/Observation.readwrite', /in that order/],
    ['patient/Observation.RS', /in that order/],
    ['practitioner/Observation.rs', /context must be patient, user or system/],
    ['Patient/Observation.rs', /context must be patient, user or system/],
    ['/Observation.rs', /context must be/],
    ['patient/Foo.rs', /not a FHIR R4 resource type/],
    ['patient/observation.rs', /not a FHIR R4 resource type/],
    ['patient/.rs', /not a FHIR R4 resource type/],
    ['patient/Observation.x.rs', /not a FHIR R4 resource type/],
    ['patient/**.rs', /not a FHIR R4 resource type/],
    ['patient/Observation.rs?category=laboratory', /granular scopes/],
    ['patient/*', /expected context\/resourceType.permissions/],
    ['patient.rs', /expected context\/resourceType.permissions/],
    ['launch', /expected context/],
    ['profile', /expected context/],
    ['launch/encounter', /expected context|not a FHIR/],
    ['', /expected context/],
    ['OPENID', /expected context/],
  ];
  for (const [text, reason] of table) {
    assert.throws(
      () => parseScope(text),
      (error: unknown) =>
        error instanceof ScopeError && reason.test(error.message) && error.scope === text,
      text,
    );
  }
});

test('a scope parameter is split on spaces, duplicates merge, and one bad scope fails the lot', () => {
  assert.equal(
    formatScopes(parseScopes('openid  fhirUser patient/*.rs ')),
    'openid fhirUser patient/*.rs',
  );
  assert.equal(
    formatScopes(
      parseScopes('user/Observation.r user/Observation.s user/Observation.read openid openid'),
    ),
    'user/Observation.rs openid',
  );
  assert.deepEqual(parseScopes(''), []);
  assert.throws(() => parseScopes('patient/*.rs patient/Nope.rs'), /patient\/Nope\.rs/);
  assert.throws(
    () => parseScopes(Array.from({ length: SCOPE_COUNT_MAX + 1 }, () => 'openid').join(' ')),
    ScopeError,
  );
  assert.throws(() => parseScopes('openid '.repeat(1000)), /longer than/);
});

test('allows: a scope permits exactly its letters on its type (or any, for *), in the asked context', () => {
  const scopes = parseScopes(
    'patient/Observation.rs user/Patient.cud system/*.s openid launch/patient',
  );
  const table: [string, Interaction, boolean][] = [
    ['Observation', 'read', true],
    ['Observation', 'search', true],
    ['Observation', 'create', false],
    ['Observation', 'update', false],
    ['Patient', 'create', true],
    ['Patient', 'update', true],
    ['Patient', 'delete', true],
    ['Patient', 'read', false],
    ['Condition', 'search', true],
    ['Condition', 'read', false],
  ];
  for (const [resourceType, interaction, expected] of table)
    assert.equal(
      allows(scopes, { resourceType, interaction }),
      expected,
      `${interaction} ${resourceType}`,
    );
  assert.equal(
    allows(scopes, { resourceType: 'Observation', interaction: 'read', context: 'patient' }),
    true,
  );
  assert.equal(
    allows(scopes, { resourceType: 'Observation', interaction: 'read', context: 'user' }),
    false,
  );
  assert.equal(
    allows(scopes, { resourceType: 'Condition', interaction: 'search', context: 'patient' }),
    false,
  );
  assert.equal(
    allows(parseScopes('openid fhirUser launch/patient offline_access'), {
      resourceType: 'Patient',
      interaction: 'read',
    }),
    false,
    'named scopes grant nothing',
  );
  assert.equal(allows([], { resourceType: 'Patient', interaction: 'read' }), false);
});

test('narrowScopes grants requested ∩ allowed, per context, type and permission', () => {
  const table: [string, string, string][] = [
    ['patient/Observation.rs', 'patient/*.cruds', 'patient/Observation.rs'],
    ['user/*.cruds', 'user/Observation.rs', 'user/Observation.rs'],
    ['user/*.cruds', 'user/Observation.rs user/Patient.r', 'user/Observation.rs user/Patient.r'],
    ['system/*.cruds', 'system/*.rs', 'system/*.rs'],
    ['system/Observation.cud', 'system/*.rs', ''],
    ['patient/*.rs', 'user/*.cruds', ''],
    ['user/Observation.rs', 'user/Patient.rs', ''],
    [
      'openid fhirUser launch/patient patient/*.rs',
      'patient/*.rs launch/patient',
      'launch/patient patient/*.rs',
    ],
    ['user/Observation.rs user/Observation.cud', 'user/*.cruds', 'user/Observation.cruds'],
  ];
  for (const [requested, allowed, granted] of table)
    assert.equal(
      formatScopes(narrowScopes(parseScopes(requested), parseScopes(allowed))),
      granted,
      `${requested} within ${allowed}`,
    );
});

test('patients and auditors may create, read and delete their own Subscriptions, as the trail topics they follow need', () => {
  for (const role of ['patient', 'auditor'] as const) {
    const scopes = parseScopes(ROLE_PROFILES[role].scope);
    for (const interaction of ['create', 'read', 'delete'] as const)
      assert.ok(
        allows(scopes, { resourceType: 'Subscription', interaction }),
        `${role} ${interaction}`,
      );
    assert.equal(
      allows(scopes, { resourceType: 'Subscription', interaction: 'update' }),
      false,
      `${role}: no update`,
    );
  }
});
