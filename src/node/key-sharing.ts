/**
 * The home node's side of self-executing key sharing: when a custodial patient's grant is
 * active, re-wrap the data keys of every version it covers for the grantee, signed with the
 * patient's key. Self-custody patients' clients build the same records.share-keys body.
 */
import {
  fromHex,
  recordAad,
  toHex,
  unwrapDataKey,
  wrapDataKey,
  x25519FromPrivate,
} from '../crypto/index.js';
import {
  coversRecord,
  granteeKey,
  RECORD_TABLE,
  RECORDS,
  VERSIONS,
  versionKey,
  type GrantRow,
  type KeyShare,
} from '../contracts/index.js';
import type { ChainStore, Keystore } from '../storage/index.js';
import { KEY_SHARE_COUNT_MAX } from '../ledger/index.js';
import { decisionTime } from './chain-time.js';

/**
 * The records.share-keys bodies, as RECORDS_SHARE_KEYS builds them from these values (at most KEY_SHARE_COUNT_MAX shares each) that give `grant`'s
 * grantee an envelope on every covered version lacking one, unwrapping with the patient's
 * custodial key. Scans the record table: O(records) per grant.
 */
export function keyShares(
  chain: ChainStore,
  keystore: Keystore,
  grant: GrantRow,
): { grantId: string; shares: KeyShare[] }[] {
  const recipient = granteeKey(chain.state, grant.grantee);
  if (recipient === undefined || grant.status !== 'active' || !grant.actions.includes('read'))
    return [];
  const patientKey = x25519FromPrivate(keystore.get(`patient:${grant.patientId}:encryption`));
  const patientPublic = toHex(patientKey.publicKey);
  const time = decisionTime(chain);
  const shares: KeyShare[] = [];
  for (const recordId of chain.stateKeys(RECORD_TABLE)) {
    const record = RECORDS.get(chain.state, recordId);
    if (record === undefined || record.patientId !== grant.patientId || record.status === 'erased')
      continue;
    for (let version = 1; version <= record.latestVersion; version++) {
      const row = VERSIONS.get(chain.state, versionKey(recordId, version));
      if (
        row === undefined ||
        row.ciphertextHash === null ||
        row.envelopes.some((envelope) => envelope.recipient === recipient)
      )
        continue;
      if (
        coversRecord(grant, {
          recordId,
          resourceType: record.resourceType,
          labels: row.securityLabels.map((label) => label.code),
          time,
        }) !== undefined
      )
        continue;
      const own = row.envelopes.find((envelope) => envelope.recipient === patientPublic);
      if (own === undefined) continue;
      const aad = recordAad({ recordId, version, resourceType: record.resourceType });
      const wrapped = wrapDataKey(
        unwrapDataKey(own, patientKey.privateKey, aad),
        fromHex(recipient),
        aad,
      );
      shares.push({ recordId, version, enc: wrapped.enc, wrappedKey: wrapped.wrappedKey });
    }
  }
  const bodies: { grantId: string; shares: KeyShare[] }[] = [];
  for (let start = 0; start < shares.length; start += KEY_SHARE_COUNT_MAX)
    bodies.push({
      grantId: grant.grantId,
      shares: shares.slice(start, start + KEY_SHARE_COUNT_MAX),
    });
  return bodies;
}
