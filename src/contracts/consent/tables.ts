/** Consent state: the patients' grants and their break-the-glass choice (DESIGN.md, consent). */
import { defineTable } from '../table.js';

/** grantId → GrantRow. */
export const GRANT_TABLE = 'consent_grant';
/** patientId → PatientConsentRow. */
export const PATIENT_CONSENT_TABLE = 'consent_patient';
/** restrictionId → RestrictionRow. */
export const RESTRICTION_TABLE = 'consent_restriction';
/** patientId → PatientRestrictionsRow. A table of its own, so the consent rows of chains made before restrictions keep their shape. */
export const PATIENT_RESTRICTION_TABLE = 'consent_patient_restriction';

/** What a grant lets the grantee do with the records in scope. */
export type ConsentAction = 'read' | 'write';
export const CONSENT_ACTIONS: readonly ConsentAction[] = ['read', 'write'];

/** Who a grant is for: one practitioner, or an organisation (all its practitioners and system clients). */
export interface Grantee {
  kind: 'practitioner' | 'organisation';
  id: string;
}

/**
 * The terms of a grant, as the patient signs them. Empty `resourceTypes` or `recordIds` mean
 * "no restriction on that dimension"; `excludeLabels` are meta.security codes (e.g. 42CFRPart2,
 * PSY, HIV, R, V) whose records the grant never covers; `purposes` are v3 ActReason codes
 * (TREAT, ETREAT, HPAYMT, HRESCH, ...). Times are ms since the epoch, compared with block time;
 * `end` null means open-ended, and the grant covers [start, end).
 */
export interface GrantTerms {
  grantee: Grantee;
  actions: ConsentAction[];
  resourceTypes: string[];
  recordIds: string[];
  excludeLabels: string[];
  purposes: string[];
  period: { start: number; end: number | null };
}

/** A grant and its lifecycle. */
export interface GrantRow extends GrantTerms {
  grantId: string;
  patientId: string;
  status: 'active' | 'revoked';
  /** 1 when granted, and one more for each update and for the revocation: the FHIR versionId. */
  version: number;
  grantedAt: number;
  updatedAt: number;
  revokedAt: number | null;
}

/** Per patient: break-the-glass choice and the ids of all their grants (sorted). */
export interface PatientConsentRow {
  patientId: string;
  breakTheGlass: 'opt-in' | 'opt-out';
  grants: string[];
}

/**
 * What a patient's restriction withholds from their home organisation (DESIGN.md, agreements;
 * HIPAA's right to request restriction). Each non-empty list narrows it and an empty list means
 * "any": resource types, meta.security label codes (a record carrying any of them), and
 * practitioners by id. A restriction whose lists are all empty withholds everything, so the
 * home organisation then needs a grant as in an opt-in network.
 */
export interface RestrictionTerms {
  resourceTypes: string[];
  labels: string[];
  practitionerIds: string[];
}

/** A restriction and its lifecycle. */
export interface RestrictionRow extends RestrictionTerms {
  restrictionId: string;
  patientId: string;
  status: 'active' | 'lifted';
  restrictedAt: number;
  liftedAt: number | null;
}

/** Per patient: the ids of all their restrictions, active or lifted (sorted). */
export interface PatientRestrictionsRow {
  patientId: string;
  restrictions: string[];
}

/** The typed tables of consent state. */
export const GRANTS = defineTable<GrantRow>(GRANT_TABLE);
export const PATIENT_CONSENTS = defineTable<PatientConsentRow>(PATIENT_CONSENT_TABLE);
export const RESTRICTIONS = defineTable<RestrictionRow>(RESTRICTION_TABLE);
export const PATIENT_RESTRICTIONS = defineTable<PatientRestrictionsRow>(PATIENT_RESTRICTION_TABLE);
