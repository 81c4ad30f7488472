/**
 * Self-executing key sharing (DESIGN.md, Encryption): when a grant becomes active, the patient's
 * key holder re-wraps the data keys of the versions the grant covers for the grantee. The
 * contract accepts an envelope only for the grantee's key, only for versions the active grant
 * covers at this block, so a share can never reach further than the consent.
 */
import type { Transaction } from '../../ledger/index.js';
import { auditWrites } from '../audit/index.js';
import { coversRecord, GRANTS, type GrantRow } from '../consent/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import type { StateReader, Write } from '../state.js';
import type { KeyShare } from './record-body.js';
import { granteeKey } from './recipients.js';
import { RECORDS_SHARE_KEYS } from './txs.js';
import { RECORDS, VERSION_TABLE, VERSIONS, versionKey, type VersionRow } from './tables.js';
import { ENVELOPE_COUNT_MAX } from '../../ledger/index.js';

/** Executes `records.share-keys`: { grantId, shares: [{ recordId, version, enc, wrappedKey }] }, signed by the grant's patient. */
export function executeShareKeys(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'patient') return refuse('denied:not-a-patient');
  const body = RECORDS_SHARE_KEYS.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { grantId, shares } = body;
  const grant = GRANTS.get(state, grantId);
  if (grant === undefined || grant.patientId !== context.signer.subject)
    return refuse('denied:no-such-grant');
  if (grant.status !== 'active' || !grant.actions.includes('read'))
    return refuse('denied:grant-not-readable');
  const recipient = granteeKey(state, grant.grantee);
  if (recipient === undefined) return refuse('denied:no-such-grantee');
  const writes: Write[] = [];
  for (const share of shares) {
    const version = sharedVersion(state, grant, share, context.block.time);
    if (typeof version === 'string') return refuse(version);
    if (version.envelopes.some((envelope) => envelope.recipient === recipient)) continue;
    if (version.envelopes.length >= ENVELOPE_COUNT_MAX) return refuse('denied:too-many-envelopes');
    const envelopes = [
      ...version.envelopes.map((envelope) => ({ ...envelope })),
      { recipient, enc: share.enc, wrappedKey: share.wrappedKey },
    ];
    writes.push({
      table: VERSION_TABLE,
      key: versionKey(share.recordId, share.version),
      value: {
        ...version,
        author: { ...version.author },
        securityLabels: version.securityLabels.map((label) => ({ ...label })),
        envelopes,
      },
    });
  }
  const actor = { role: 'patient', subject: grant.patientId, org: context.signer.org };
  return accept(
    [
      ...writes,
      ...auditWrites(
        state,
        grant.patientId,
        { kind: 'key-share', actor, reason: grantId },
        context,
      ),
    ],
    [{ type: 'records.keys-shared', subject: grantId }],
  );
}

/** The version a share names, when the grant covers it; otherwise the refusal. */
function sharedVersion(
  state: StateReader,
  grant: GrantRow,
  share: KeyShare,
  time: number,
): VersionRow | Refusal {
  const record = RECORDS.get(state, share.recordId);
  if (record === undefined || record.patientId !== grant.patientId) return 'denied:no-such-record';
  if (record.status === 'erased') return 'denied:record-erased';
  const version = VERSIONS.get(state, versionKey(share.recordId, share.version));
  if (version === undefined || version.ciphertextHash === null) return 'denied:no-such-version';
  const labels = version.securityLabels.map((label) => label.code);
  const outside = coversRecord(grant, {
    recordId: share.recordId,
    resourceType: record.resourceType,
    labels,
    time,
  });
  return outside === undefined ? version : outside;
}
