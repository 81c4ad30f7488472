/**
 * Rotation of an organisation's encryption key. From the block that rotates it, every version
 * written for the organisation is wrapped to the new key; envelopes wrapped to an older key
 * stay as they are, and the organisation keeps that key to read them.
 */
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader } from '../state.js';
import { ORG_TABLE, ORGS } from './tables.js';
import { MEMBERSHIP_ROTATE_ENCRYPTION_KEY } from './txs.js';

/** Executes `membership.rotate-encryption-key`: { encryptionKey }, signed by the organisation's key. */
export function executeRotateEncryptionKey(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const body = MEMBERSHIP_ROTATE_ENCRYPTION_KEY.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { encryptionKey } = body;
  const org = ORGS.get(state, context.signer.org);
  if (org === undefined) return refuse('denied:not-an-organisation');
  if (org.encryptionKey === encryptionKey) return refuse('denied:key-unchanged');
  return accept(
    [{ table: ORG_TABLE, key: org.orgId, value: { ...org, encryptionKey } }],
    [{ type: 'membership.encryption-key-rotated', subject: org.orgId }],
  );
}
