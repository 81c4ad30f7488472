/**
 * What a transaction Bundle will cost on the ledger, estimated before any work is done: its
 * writes become one records.batch, which the ledger refuses above BATCH_WRITE_COUNT_MAX writes
 * or TX_BODY_BYTES_MAX bytes. Refusing a Bundle that cannot fit before validating, sealing and
 * storing its resources saves the node seconds of work and the blob store its orphans.
 */
import { FhirError } from '../outcome.js';
import { patientIdOf } from '../patient-of.js';
import type { BundlePlan, PlannedEntry } from './types.js';
import { BATCH_WRITE_COUNT_MAX, TX_BODY_BYTES_MAX } from '../../ledger/index.js';

/**
 * Lower bounds, in canonical JSON bytes, of one write of a records.batch: a version without
 * envelopes or labels (ids, resource type, two hashes, size, field names), one key envelope
 * (recipient, enc and wrapped key in hex), and a tombstone. The estimate never exceeds the real
 * size, so no Bundle that would fit is refused; one that passes may still be refused at commit.
 */
export const VERSION_WRITE_BYTES_MIN = 250;
export const ENVELOPE_BYTES_MIN = 250;
export const TOMBSTONE_WRITE_BYTES_MIN = 40;
/** `{"system":"","code":""}` and a comma. */
const LABEL_JSON_BYTES_MIN = 24;

/** Throws a 413 'too-costly' FhirError when the transaction `plan` has more writes, or more bytes, than one ledger transaction holds. */
export function checkTransactionSize(plan: BundlePlan): void {
  const writes = plan.steps.filter((step) => step.method !== 'GET');
  if (writes.length > BATCH_WRITE_COUNT_MAX) {
    throw FhirError.of(
      413,
      'too-costly',
      `a transaction Bundle may write at most ${BATCH_WRITE_COUNT_MAX} resources; split it, or send a batch`,
      ['Bundle.entry'],
    );
  }
  const bytes = writes.reduce((sum, step) => sum + writeBytesMin(step), 0);
  if (bytes > TX_BODY_BYTES_MAX) {
    throw FhirError.of(
      413,
      'too-costly',
      `the transaction Bundle would need at least ${bytes} bytes on the ledger, above the ${TX_BODY_BYTES_MAX} one transaction holds; split it`,
      ['Bundle.entry'],
    );
  }
}

/** The least a write can take: a patient's record is wrapped for the patient and the organisation, a directory record for the organisation. */
function writeBytesMin(step: PlannedEntry): number {
  if (step.method === 'DELETE' || step.resource === undefined) return TOMBSTONE_WRITE_BYTES_MIN;
  const owner = patientIdOf(step.resource, step.id ?? '');
  const envelopes = 'patientId' in owner && owner.patientId !== null ? 2 : 1;
  return VERSION_WRITE_BYTES_MIN + envelopes * ENVELOPE_BYTES_MIN + labelBytes(step.resource);
}

/** The least JSON the resource's meta.security codings take as the version's labels, `{"system":…,"code":…}` each. */
function labelBytes(resource: NonNullable<PlannedEntry['resource']>): number {
  const meta = resource['meta'];
  const security =
    meta !== null && typeof meta === 'object' && !Array.isArray(meta)
      ? meta['security']
      : undefined;
  if (!Array.isArray(security)) return 0;
  return security.reduce<number>((sum, coding) => {
    if (coding === null || typeof coding !== 'object' || Array.isArray(coding)) return sum;
    const { system, code } = coding;
    return typeof system === 'string' && typeof code === 'string'
      ? sum + LABEL_JSON_BYTES_MIN + system.length + code.length
      : sum;
  }, 0);
}
