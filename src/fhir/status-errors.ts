/** Ledger statuses and refusals, as the FHIR errors a client expects. */
import type { Refusal } from '../contracts/index.js';
import { FhirError } from './outcome.js';
import { STORAGE_RETRY_AFTER_SECONDS } from './storage-errors.js';

/** How FHIR answers a refusal: 409, 410, 422, 403 or 400, each with its own words. */
type RefusalAnswer =
  | 'id-taken'
  | 'version-conflict'
  | 'gone'
  | 'unknown-patient'
  | 'suspended'
  | 'forbidden'
  | 'invalid';

/** Every refusal the ledger gives, and its answer: a new refusal does not compile until it has one. */
const ANSWERS: Readonly<Record<Refusal, RefusalAnswer>> = {
  'denied:action-not-permitted': 'forbidden',
  'denied:agreement-active': 'forbidden',
  'denied:agreement-exists': 'forbidden',
  'denied:agreement-expired': 'forbidden',
  'denied:agreement-label': 'forbidden',
  'denied:agreement-purpose': 'forbidden',
  'denied:agreement-scope': 'forbidden',
  'denied:agreement-terminated': 'forbidden',
  'denied:already-active': 'forbidden',
  'denied:already-confirmed': 'forbidden',
  'denied:already-reviewed': 'forbidden',
  'denied:already-suspended': 'forbidden',
  'denied:already-voted': 'forbidden',
  'denied:auditor-reads-no-content': 'forbidden',
  'denied:consent-expired': 'forbidden',
  'denied:consent-not-started': 'forbidden',
  'denied:consent-revoked': 'forbidden',
  'denied:consortium-full': 'forbidden',
  'denied:genesis-closed': 'forbidden',
  'denied:grant-exists': 'forbidden',
  'denied:grant-not-readable': 'forbidden',
  'denied:grant-revoked': 'forbidden',
  'denied:key-in-use': 'forbidden',
  'denied:key-unchanged': 'forbidden',
  'denied:label-excluded': 'forbidden',
  'denied:last-member': 'forbidden',
  'denied:legal-basis-required': 'forbidden',
  'denied:missing-envelope': 'forbidden',
  'denied:no-agreement': 'forbidden',
  'denied:no-consent': 'forbidden',
  'denied:no-such-agreement': 'forbidden',
  'denied:no-such-break-the-glass': 'forbidden',
  'denied:no-such-grant': 'forbidden',
  'denied:no-such-grantee': 'forbidden',
  'denied:no-such-patient': 'unknown-patient',
  'denied:no-such-practitioner': 'forbidden',
  'denied:no-such-proposal': 'forbidden',
  'denied:no-such-record': 'forbidden',
  'denied:no-such-restriction': 'forbidden',
  'denied:no-such-version': 'forbidden',
  'denied:not-a-member': 'forbidden',
  'denied:not-a-party': 'forbidden',
  'denied:not-a-patient': 'forbidden',
  'denied:not-a-practitioner': 'forbidden',
  'denied:not-an-organisation': 'forbidden',
  'denied:not-entitled': 'forbidden',
  'denied:not-erased': 'forbidden',
  'denied:not-home-organisation': 'forbidden',
  'denied:not-shared': 'forbidden',
  'denied:not-your-practitioner': 'forbidden',
  'denied:not-your-record': 'forbidden',
  'denied:org-exists': 'forbidden',
  'denied:organisation-inactive': 'forbidden',
  'denied:out-of-scope': 'forbidden',
  'denied:patient-exists': 'forbidden',
  'denied:patient-opted-out': 'forbidden',
  'denied:practitioner-exists': 'forbidden',
  'denied:practitioner-suspended': 'forbidden',
  'denied:proposal-closed': 'forbidden',
  'denied:proposal-expired': 'forbidden',
  'denied:proposer-cannot-countersign': 'forbidden',
  'denied:purpose-not-break-the-glass': 'forbidden',
  'denied:purpose-not-permitted': 'forbidden',
  'denied:record-deleted': 'gone',
  'denied:record-erased': 'gone',
  'denied:record-exists': 'id-taken',
  'denied:restricted-by-patient': 'forbidden',
  'denied:restriction-exists': 'forbidden',
  'denied:restriction-lifted': 'forbidden',
  'denied:signer-inactive': 'suspended',
  'denied:too-many-agreements': 'forbidden',
  'denied:too-many-envelopes': 'forbidden',
  'denied:too-many-grants': 'forbidden',
  'denied:too-many-restrictions': 'forbidden',
  'denied:unknown-principal': 'forbidden',
  'denied:version-conflict': 'version-conflict',
  'invalid:bad-body': 'invalid',
  'invalid:bad-signature': 'invalid',
  'invalid:duplicate-txid': 'invalid',
  'invalid:malformed': 'invalid',
  'invalid:note-recipients': 'invalid',
  'invalid:oversized': 'invalid',
  'invalid:stale-nonce': 'invalid',
  'invalid:unknown-signer': 'invalid',
  'invalid:unknown-type': 'invalid',
};

/** The FHIR error for a refused or failed transaction about `what`. */
export function statusError(status: string, what: string): FhirError {
  if (Object.hasOwn(ANSWERS, status)) return refusalError(ANSWERS[status as Refusal], status, what);
  if (status.startsWith('denied:'))
    return FhirError.of(403, 'forbidden', `${what}: refused by the ledger (${status})`);
  if (status.startsWith('unavailable:')) {
    // Queue full, ordering service unreachable, node halted: a client may come back shortly; a full disk takes longer.
    const issue = {
      severity: 'error' as const,
      code: 'transient' as const,
      diagnostics: `${what}: the node cannot accept writes now (${status}); retry later`,
    };
    return new FhirError(503, [issue], {
      'retry-after': status === 'unavailable:disk-full' ? String(STORAGE_RETRY_AFTER_SECONDS) : '1',
    });
  }
  return FhirError.of(400, 'invalid', `${what}: refused by the ledger (${status})`);
}

function refusalError(answer: RefusalAnswer, status: string, what: string): FhirError {
  switch (answer) {
    case 'id-taken':
      return FhirError.of(
        409,
        'conflict',
        `${what}: a resource it would create was created by another request meanwhile; read it, then update it if need be`,
      );
    case 'version-conflict':
      return FhirError.of(409, 'conflict', `${what} changed concurrently; re-read and retry`);
    case 'gone':
      return FhirError.of(410, 'deleted', `${what} is ${status.slice('denied:record-'.length)}`);
    case 'unknown-patient':
      return FhirError.of(
        422,
        'processing',
        `${what}: the referenced patient is not registered here`,
      );
    case 'suspended':
      return FhirError.of(403, 'forbidden', `${what}: the practitioner is suspended`);
    case 'forbidden':
      return FhirError.of(403, 'forbidden', `${what}: refused by the ledger (${status})`);
    case 'invalid':
      return FhirError.of(400, 'invalid', `${what}: refused by the ledger (${status})`);
  }
}
