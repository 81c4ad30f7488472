/** The signer directory: who holds a key id, and whether they may act now. */
import { fromHex, keyIdOf } from '../../crypto/index.js';
import {
  NETWORK_GENESIS_KEY_ID,
  NETWORK_GENESIS_PUBLIC_KEY,
  type Transaction,
} from '../../ledger/index.js';
import type { BlockContext, Signer } from '../contract.js';
import type { StateReader } from '../state.js';
import { genesisOrgs } from './org-candidate.js';
import { CONSORTIUM_KEY, CONSORTIUM, KEYS, ORGS, PRACTITIONERS, type KeyRow } from './tables.js';

/**
 * Resolves `tx.signer` from membership state. The genesis transaction is the one exception:
 * before any member exists, its signer must be one of the founding organisations it lists, or
 * the published network genesis key (a network whose founders each hold only their own keys).
 */
export function resolveSigner(
  state: StateReader,
  tx: Transaction,
  block: BlockContext,
): Signer | undefined {
  const row = KEYS.get(state, tx.signer);
  if (row !== undefined) return { keyId: tx.signer, ...row, active: isActive(state, row) };
  if (
    tx.type === 'membership.genesis' &&
    block.height === 0 &&
    CONSORTIUM.get(state, CONSORTIUM_KEY) === undefined
  ) {
    return genesisSigner(tx);
  }
  return undefined;
}

function isActive(state: StateReader, key: KeyRow): boolean {
  const org = ORGS.get(state, key.org);
  if (key.role === 'patient') return true;
  if (org?.status !== 'active') return false;
  if (key.role === 'org') return true;
  const practitioner = PRACTITIONERS.get(state, key.subject);
  return practitioner?.status === 'active';
}

function genesisSigner(tx: Transaction): Signer | undefined {
  if (tx.signer === NETWORK_GENESIS_KEY_ID)
    return {
      keyId: tx.signer,
      publicKey: NETWORK_GENESIS_PUBLIC_KEY,
      role: 'org',
      subject: 'genesis',
      org: 'genesis',
      active: true,
    };
  const founder = genesisOrgs(tx.body)?.find(
    (org) => keyIdOf(fromHex(org.signingKey)) === tx.signer,
  );
  if (founder === undefined) return undefined;
  return {
    keyId: tx.signer,
    publicKey: founder.signingKey,
    role: 'org',
    subject: founder.orgId,
    org: founder.orgId,
    active: true,
  };
}
