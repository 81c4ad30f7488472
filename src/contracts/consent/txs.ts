/** The consent transaction types and their bodies, declared once for the contract and for every signer. */
import { boolean, defineTx, fieldGroup, id } from '../tx-schema.js';
import {
  grantTerms,
  RESTRICTION_FIELDS,
  restrictionBody,
  restrictionTerms,
  TERM_FIELDS,
  termsBody,
} from './grant-body.js';

const terms = fieldGroup(TERM_FIELDS, grantTerms, termsBody);

/** `consent.grant`: { grantId, grantee, actions, resourceTypes, recordIds, excludeLabels, purposes, period }. */
export const CONSENT_GRANT = defineTx('consent.grant', { grantId: id, terms });
/** `consent.update`: the grant's id and its new terms. */
export const CONSENT_UPDATE = defineTx('consent.update', { grantId: id, terms });
/** `consent.revoke`: { grantId }. */
export const CONSENT_REVOKE = defineTx('consent.revoke', { grantId: id });
/** `consent.set-break-the-glass`: { optIn }. */
export const CONSENT_SET_BREAK_THE_GLASS = defineTx('consent.set-break-the-glass', {
  optIn: boolean,
});
/** `consent.restrict`: { restrictionId, resourceTypes, labels, practitionerIds }. */
export const CONSENT_RESTRICT = defineTx('consent.restrict', {
  restrictionId: id,
  terms: fieldGroup(RESTRICTION_FIELDS, restrictionTerms, restrictionBody),
});
/** `consent.lift-restriction`: { restrictionId }. */
export const CONSENT_LIFT_RESTRICTION = defineTx('consent.lift-restriction', { restrictionId: id });
