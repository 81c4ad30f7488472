/** Membership state: the tables and the shape of their rows. */
import { defineTable } from '../table.js';

export const ORG_TABLE = 'membership_org';
export const KEY_TABLE = 'membership_key';
export const PRACTITIONER_TABLE = 'membership_practitioner';
export const PATIENT_TABLE = 'membership_patient';
export const PROPOSAL_TABLE = 'membership_proposal';
export const CONSORTIUM_TABLE = 'membership_consortium';
/** The one key of CONSORTIUM_TABLE. */
export const CONSORTIUM_KEY = 'consortium';

/** A member organisation. Keys are lowercase hex. */
export interface OrgRow {
  orgId: string;
  name: string;
  signingKey: string;
  encryptionKey: string;
  status: 'active' | 'removed';
  since: number;
}

/** A public key and whom it belongs to. */
export interface KeyRow {
  publicKey: string;
  role: 'org' | 'practitioner' | 'patient';
  subject: string;
  org: string;
}

/** A practitioner registered by their organisation. */
export interface PractitionerRow {
  practitionerId: string;
  org: string;
  keyId: string;
  encryptionKey: string;
  status: 'active' | 'suspended';
  since: number;
}

/** A patient. Only a pseudonymous id and public keys; never a name or MRN. */
export interface PatientRow {
  patientId: string;
  homeOrg: string;
  keyId: string;
  encryptionKey: string;
  custody: 'custodial' | 'self';
  since: number;
}

/** A vote to admit or remove an organisation. Its id is the proposing transaction's id. */
export interface ProposalRow {
  action: 'admit' | 'remove';
  orgId: string;
  /** For admission: the candidate's name and keys. */
  candidate: { name: string; signingKey: string; encryptionKey: string } | null;
  /** orgId → approve, for members that voted. */
  votes: Record<string, boolean>;
  status: 'open' | 'passed' | 'rejected';
  openedAt: number;
}

/**
 * How a network treats a patient's home organisation (DESIGN.md, agreements): 'opt-out', the
 * home organisation reads for treatment, payment and operations without a grant unless the
 * patient restricts it; 'opt-in', every access needs a grant.
 */
export type ConsentModel = 'opt-in' | 'opt-out';
export const CONSENT_MODELS: readonly ConsentModel[] = ['opt-in', 'opt-out'];

/**
 * The consortium: network name, sorted ids of the active members, and the consent model its
 * genesis chose. A genesis without one (every chain made before the setting existed) has none,
 * and means 'opt-in', so those chains replay to the same state.
 */
export interface ConsortiumRow {
  network: string;
  members: string[];
  consentModel?: ConsentModel;
}

/** An open proposal lapses after this long, measured in block time. */
export const PROPOSAL_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

/** The typed tables of membership state. */
export const ORGS = defineTable<OrgRow>(ORG_TABLE);
export const KEYS = defineTable<KeyRow>(KEY_TABLE);
export const PRACTITIONERS = defineTable<PractitionerRow>(PRACTITIONER_TABLE);
export const PATIENTS = defineTable<PatientRow>(PATIENT_TABLE);
export const PROPOSALS = defineTable<ProposalRow>(PROPOSAL_TABLE);
/** One row, at CONSORTIUM_KEY. */
export const CONSORTIUM = defineTable<ConsortiumRow>(CONSORTIUM_TABLE);
