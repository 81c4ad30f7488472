/**
 * A stand-in ledger for bench:fhir's "ledger off" run: every write is validated, sealed and its
 * ciphertexts stored as usual, then reported committed at once without being signed into a
 * block, so the difference from a real run is what the ledger costs.
 */
import type { RecordLedger } from '../src/fhir/index.js';

export const sealOnlyLedger: RecordLedger = {
  submitAndWait: async () => ({ status: 'ok', txId: '' }),
  committedVersion: (_recordId, version) => ({ version, time: Date.now(), txId: '' }),
  isNewest: () => true,
};
