/** The genesis transaction: the founding consortium, valid only as the first transaction of block 0. */
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader, Write } from '../state.js';
import {
  CONSORTIUM_KEY,
  CONSORTIUM_TABLE,
  CONSORTIUM,
  type ConsortiumRow,
  type OrgRow,
} from './tables.js';
import { orgWrites } from './org-writes.js';
import { MEMBERSHIP_GENESIS } from './txs.js';

/** Executes `membership.genesis`: { network, orgs, consentModel? }. */
export function executeGenesis(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.block.height !== 0 || CONSORTIUM.get(state, CONSORTIUM_KEY) !== undefined)
    return refuse('denied:genesis-closed');
  const body = MEMBERSHIP_GENESIS.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { network, orgs, consentModel } = body;
  const writes: Write[] = [];
  for (const org of orgs) {
    const row: OrgRow = { ...org, status: 'active', since: context.block.time };
    writes.push(...orgWrites(row));
  }
  const members = orgs.map((org) => org.orgId).sort();
  // Written only when the genesis names it, so a genesis from before the setting keeps its state root.
  const consortium: ConsortiumRow =
    consentModel === undefined ? { network, members } : { network, members, consentModel };
  writes.push({ table: CONSORTIUM_TABLE, key: CONSORTIUM_KEY, value: { ...consortium } });
  return accept(writes);
}
