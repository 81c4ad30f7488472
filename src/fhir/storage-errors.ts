/**
 * Storage faults and failed integrity checks as the FHIR errors a client can act on: a full disk
 * is 503 with Retry-After (transient: nothing acknowledged was lost, retry later), and so is a
 * write accepted but not committed in time (a commit waiting for space), a record that
 * fails its checks is 500 naming record, version and stage (never content), a damaged store 500.
 * The node raised the matching alarm where the fault occurred; a damaged store is reported to it
 * here (reportDamage), so that its next start checks the chain database.
 */
import {
  AccessLogUnavailableError,
  CommitTimeoutError,
  RecordIntegrityError,
} from '../node/index.js';
import { reportDamage, storageFaultOf } from '../storage/index.js';
import { FhirError } from './outcome.js';

/** Seconds a client is asked to wait before retrying after a full disk or an unavailable log. */
export const STORAGE_RETRY_AFTER_SECONDS = 10;

/** The FHIR error for `error` when it is a storage fault or failed integrity check; undefined otherwise. */
export function storageError(error: unknown): FhirError | undefined {
  if (error instanceof RecordIntegrityError) {
    const diagnostics = `record ${error.recordId} version ${error.version} failed its ${error.stage} integrity check; the node has raised an alarm`;
    return new FhirError(500, [{ severity: 'fatal', code: 'exception', diagnostics }]);
  }
  const fault = storageFaultOf(error);
  if (fault === 'disk-full')
    return unavailable("the node's disk is full; nothing acknowledged was lost");
  if (error instanceof AccessLogUnavailableError && error.status.startsWith('unavailable:'))
    return unavailable(`the access could not be logged (${error.status}), so nothing was released`);
  if (error instanceof CommitTimeoutError)
    return unavailable(
      `the write was accepted as transaction ${error.txId} but its block has not committed yet (the node may be short of disk space); it commits once the node can, so check it before writing again`,
    );
  if (fault === 'damaged') {
    reportDamage();
    return new FhirError(500, [
      {
        severity: 'fatal',
        code: 'exception',
        diagnostics: 'a node store failed its integrity check; the node has raised an alarm',
      },
    ]);
  }
  return undefined;
}

function unavailable(diagnostics: string): FhirError {
  return new FhirError(
    503,
    [{ severity: 'error', code: 'transient', diagnostics: `${diagnostics}; retry later` }],
    { 'Retry-After': String(STORAGE_RETRY_AFTER_SECONDS) },
  );
}
