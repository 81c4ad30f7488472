/**
 * The roles an account can hold: who the account's principal is on the ledger, the FHIR
 * resource that is the user (SMART `fhirUser`), the scopes an app may be granted on the user's
 * behalf, and whether signing in needs a second factor.
 */
import type { Principal } from '../../contracts/index.js';

/**
 * Account roles. Each but `admin` is also the kind of the account's ledger principal; an
 * organisation administrator manages accounts and reads no records, so has none.
 */
export const ACCOUNT_ROLES = ['practitioner', 'patient', 'auditor', 'admin'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];
/** The roles that sign in to FHIR apps. */
export type FhirRole = Exclude<AccountRole, 'admin'> & Principal['kind'];

/** What a role means at sign-in. */
export interface RoleProfile {
  /** The FHIR resource type of the user, e.g. `Practitioner` in `Practitioner/dr-a`. */
  readonly fhirType: string;
  /** The scopes an app may be granted on behalf of a user in this role. */
  readonly scope: string;
  /** Whether a TOTP code is required at every sign-in, or only once the user enrols. */
  readonly mfa: 'required' | 'optional';
}

/** Every FHIR role's profile. Clinicians and auditors read many patients' records: they need a second factor. */
export const ROLE_PROFILES: Readonly<Record<FhirRole, RoleProfile>> = {
  practitioner: { fhirType: 'Practitioner', scope: 'user/*.cruds offline_access', mfa: 'required' },
  patient: {
    fhirType: 'Patient',
    scope: 'patient/*.rs patient/Consent.cud patient/Subscription.cd launch/patient offline_access',
    mfa: 'optional',
  },
  auditor: {
    fhirType: 'Person',
    scope: 'user/AuditEvent.rs user/Consent.rs user/Subscription.crds offline_access',
    mfa: 'required',
  },
};

/** True if signing in to an account of `role` needs a TOTP code every time: administrators, clinicians and auditors. */
export function secondFactorRequired(role: AccountRole): boolean {
  return role === 'admin' || ROLE_PROFILES[role].mfa === 'required';
}

/** True if `role` signs in to FHIR apps. */
export function isFhirRole(role: AccountRole): role is FhirRole {
  return role !== 'admin';
}

/** True if `value` names an account role. */
export function isAccountRole(value: string): value is AccountRole {
  return (ACCOUNT_ROLES as readonly string[]).includes(value);
}
