/** Ledger statuses and refusals, as the FHIR errors a client expects. */
import { FhirError } from './outcome.js';
import { STORAGE_RETRY_AFTER_SECONDS } from './storage-errors.js';

/** The FHIR error for a refused or failed transaction about `what`. */
export function statusError(status: string, what: string): FhirError {
  if (status === 'denied:record-exists') return FhirError.of(409, 'conflict', `${what}: that id is taken by a resource of another type (ids are unique across types here)`);
  if (status === 'denied:version-conflict') return FhirError.of(409, 'conflict', `${what} changed concurrently; re-read and retry`);
  if (status === 'denied:record-deleted' || status === 'denied:record-erased') return FhirError.of(410, 'deleted', `${what} is ${status.slice('denied:record-'.length)}`);
  if (status === 'denied:no-such-patient') return FhirError.of(422, 'processing', `${what}: the referenced patient is not registered here`);
  if (status === 'denied:signer-inactive') return FhirError.of(403, 'forbidden', `${what}: the practitioner is suspended`);
  if (status.startsWith('denied:')) return FhirError.of(403, 'forbidden', `${what}: refused by the ledger (${status})`);
  if (status.startsWith('unavailable:')) {
    // Queue full, ordering service unreachable, node halted: a client may come back shortly; a full disk takes longer.
    const issue = { severity: 'error' as const, code: 'transient' as const, diagnostics: `${what}: the node cannot accept writes now (${status}); retry later` };
    return new FhirError(503, [issue], { 'retry-after': status === 'unavailable:disk-full' ? String(STORAGE_RETRY_AFTER_SECONDS) : '1' });
  }
  return FhirError.of(400, 'invalid', `${what}: refused by the ledger (${status})`);
}
