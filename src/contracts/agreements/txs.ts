/** The agreements transaction types and their bodies, declared once for the contract and for every signer. */
import { defineTx, field, id } from '../tx-schema.js';
import { termsField } from './terms.js';

/**
 * `agreements.propose`: { agreementId, discloser, recipient, terms }. The contract also refuses
 * a body whose discloser is its recipient, as bad-body, before looking at state.
 */
export const AGREEMENTS_PROPOSE = defineTx('agreements.propose', {
  agreementId: id,
  discloser: id,
  recipient: id,
  terms: field(termsField),
});
/** `agreements.countersign`: { agreementId }. */
export const AGREEMENTS_COUNTERSIGN = defineTx('agreements.countersign', { agreementId: id });
/** `agreements.terminate`: { agreementId }. */
export const AGREEMENTS_TERMINATE = defineTx('agreements.terminate', { agreementId: id });
