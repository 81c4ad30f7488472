/** The membership transaction types and their bodies, declared once for the contract and for every signer. */
import {
  constant,
  defineTx,
  fieldGroup,
  hex32,
  id,
  oneOf,
  optional,
  text,
  boolean,
} from '../tx-schema.js';
import { genesisOrgs, type OrgCandidate } from './org-candidate.js';
import { CONSENT_MODELS } from './tables.js';
import { ORG_NAME_LENGTH_MAX } from '../../ledger/index.js';

const orgs = fieldGroup(['orgs'], genesisOrgs, (list: readonly OrgCandidate[]) => ({
  orgs: list.map((org) => ({ ...org })),
}));

/** `membership.genesis`: { network, orgs: [{ orgId, name, signingKey, encryptionKey }], consentModel? }. */
export const MEMBERSHIP_GENESIS = defineTx('membership.genesis', {
  network: text(ORG_NAME_LENGTH_MAX),
  orgs,
  consentModel: optional(oneOf(CONSENT_MODELS)),
});
/** `membership.propose` admitting an organisation: { action: 'admit', orgId, name, signingKey, encryptionKey }. */
export const MEMBERSHIP_PROPOSE_ADMIT = defineTx('membership.propose', {
  action: constant('admit'),
  orgId: id,
  name: text(ORG_NAME_LENGTH_MAX),
  signingKey: hex32,
  encryptionKey: hex32,
});
/** `membership.propose` removing a member: { action: 'remove', orgId }. */
export const MEMBERSHIP_PROPOSE_REMOVE = defineTx('membership.propose', {
  action: constant('remove'),
  orgId: id,
});
/** `membership.vote`: { proposalId, approve }. */
export const MEMBERSHIP_VOTE = defineTx('membership.vote', { proposalId: hex32, approve: boolean });
/** `membership.register-practitioner`: { practitionerId, signingKey, encryptionKey }. */
export const MEMBERSHIP_REGISTER_PRACTITIONER = defineTx('membership.register-practitioner', {
  practitionerId: id,
  signingKey: hex32,
  encryptionKey: hex32,
});
/** `membership.suspend-practitioner`: { practitionerId }. */
export const MEMBERSHIP_SUSPEND_PRACTITIONER = defineTx('membership.suspend-practitioner', {
  practitionerId: id,
});
/** `membership.reinstate-practitioner`: { practitionerId }. */
export const MEMBERSHIP_REINSTATE_PRACTITIONER = defineTx('membership.reinstate-practitioner', {
  practitionerId: id,
});
/**
 * `membership.register-patient`: { patientId, signingKey, encryptionKey, custody }. The contract
 * checks `custody` after the signing key is found unused (parseExcept), as it always has.
 */
export const MEMBERSHIP_REGISTER_PATIENT = defineTx('membership.register-patient', {
  patientId: id,
  signingKey: hex32,
  encryptionKey: hex32,
  custody: oneOf(['custodial', 'self'] as const),
});
/** `membership.rotate-encryption-key`: { encryptionKey }. */
export const MEMBERSHIP_ROTATE_ENCRYPTION_KEY = defineTx('membership.rotate-encryption-key', {
  encryptionKey: hex32,
});
