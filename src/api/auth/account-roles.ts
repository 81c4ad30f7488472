/**
 * The roles an account can hold: who the account's principal is on the ledger, the FHIR
 * resource that is the user (SMART `fhirUser`), the scopes an app may be granted on the user's
 * behalf, and whether signing in needs a second factor.
 */
import type { Principal } from '../../contracts/index.js';

/** Account roles; each is also the kind of the account's ledger principal. */
export const ACCOUNT_ROLES = ['practitioner', 'patient', 'auditor'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number] & Principal['kind'];

/** What a role means at sign-in. */
export interface RoleProfile {
  /** The FHIR resource type of the user, e.g. `Practitioner` in `Practitioner/dr-a`. */
  readonly fhirType: string;
  /** The scopes an app may be granted on behalf of a user in this role. */
  readonly scope: string;
  /** Whether a TOTP code is required at every sign-in, or only once the user enrols. */
  readonly mfa: 'required' | 'optional';
}

/** Every role's profile. Clinicians and auditors read many patients' records: they need a second factor. */
export const ROLE_PROFILES: Readonly<Record<AccountRole, RoleProfile>> = {
  practitioner: { fhirType: 'Practitioner', scope: 'user/*.cruds offline_access', mfa: 'required' },
  patient: { fhirType: 'Patient', scope: 'patient/*.rs patient/Consent.cud launch/patient offline_access', mfa: 'optional' },
  auditor: { fhirType: 'Person', scope: 'user/AuditEvent.rs user/Consent.rs offline_access', mfa: 'required' },
};

/** True if `value` names an account role. */
export function isAccountRole(value: string): value is AccountRole {
  return (ACCOUNT_ROLES as readonly string[]).includes(value);
}
