/**
 * Organisation admission and removal by majority vote of the current members (DESIGN.md,
 * Actors). A proposal passes when more than half of the members at tally time approve, and is
 * rejected once that can no longer happen.
 */
import { fromHex, keyIdOf } from '../../crypto/index.js';
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import type { StateReader, Write } from '../state.js';
import type { OrgCandidate } from './org-candidate.js';
import { orgWrites } from './org-writes.js';
import { MEMBERSHIP_PROPOSE_ADMIT, MEMBERSHIP_PROPOSE_REMOVE, MEMBERSHIP_VOTE } from './txs.js';
import {
  CONSORTIUM_KEY,
  CONSORTIUM_TABLE,
  CONSORTIUM,
  KEYS,
  ORG_TABLE,
  ORGS,
  PROPOSAL_LIFETIME_MS,
  PROPOSAL_TABLE,
  PROPOSALS,
  type ConsortiumRow,
  type OrgRow,
  type ProposalRow,
} from './tables.js';
import { MEMBER_COUNT_MAX } from '../../ledger/index.js';

/** Executes `membership.propose`: { action: 'admit', orgId, name, signingKey, encryptionKey } or { action: 'remove', orgId }. */
export function executePropose(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const admit = MEMBERSHIP_PROPOSE_ADMIT.parse(tx.body);
  const remove = MEMBERSHIP_PROPOSE_REMOVE.parse(tx.body);
  const proposal =
    admit !== undefined
      ? admission(state, admit)
      : remove !== undefined
        ? removal(state, remove.orgId)
        : 'invalid:bad-body';
  if (typeof proposal === 'string') return refuse(proposal);
  const row: ProposalRow = { ...proposal, votes: {}, status: 'open', openedAt: context.block.time };
  return tally(state, context, context.txId, row, true);
}

/** Executes `membership.vote`: { proposalId, approve }. */
export function executeVote(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const body = MEMBERSHIP_VOTE.parse(tx.body);
  if (body === undefined) return refuse('invalid:bad-body');
  const { proposalId, approve } = body;
  const row = PROPOSALS.get(state, proposalId);
  if (row === undefined) return refuse('denied:no-such-proposal');
  if (row.status !== 'open') return refuse('denied:proposal-closed');
  if (context.block.time > row.openedAt + PROPOSAL_LIFETIME_MS)
    return refuse('denied:proposal-expired');
  // hasOwn, not `votes[org] !== undefined`: an org id such as 'constructor' names an inherited member.
  if (Object.hasOwn(row.votes, context.signer.org)) return refuse('denied:already-voted');
  return tally(state, context, proposalId, row, approve);
}

type Proposal = Pick<ProposalRow, 'action' | 'orgId' | 'candidate'>;

function admission(state: StateReader, candidate: OrgCandidate): Proposal | Refusal {
  if (ORGS.get(state, candidate.orgId) !== undefined) return 'denied:org-exists';
  if (KEYS.get(state, keyIdOf(fromHex(candidate.signingKey))) !== undefined)
    return 'denied:key-in-use';
  if (consortium(state).members.length >= MEMBER_COUNT_MAX) return 'denied:consortium-full';
  const { orgId, name, signingKey, encryptionKey } = candidate;
  return { action: 'admit', orgId, candidate: { name, signingKey, encryptionKey } };
}

function removal(state: StateReader, orgId: string): Proposal | Refusal {
  if (!consortium(state).members.includes(orgId)) return 'denied:not-a-member';
  return { action: 'remove', orgId, candidate: null };
}

function consortium(state: StateReader): ConsortiumRow {
  return CONSORTIUM.get(state, CONSORTIUM_KEY)!;
}

function tally(
  state: StateReader,
  context: TxContext,
  proposalId: string,
  row: ProposalRow,
  approve: boolean,
): ContractResult {
  const { members } = consortium(state);
  const votes = { ...row.votes, [context.signer.org]: approve };
  // Only current members count: votes of an organisation removed meanwhile drop out.
  const approvals = members.filter((member) => votes[member] === true).length;
  const objections = members.filter((member) => votes[member] === false).length;
  const majority = Math.floor(members.length / 2) + 1;
  const status =
    approvals >= majority ? 'passed' : members.length - objections < majority ? 'rejected' : 'open';
  const writes: Write[] = [
    { table: PROPOSAL_TABLE, key: proposalId, value: { ...row, votes, status } },
  ];
  if (status === 'passed') {
    const outcome = applyProposal(state, row, members, context.block.time);
    if (typeof outcome === 'string') return refuse(outcome);
    writes.push(...outcome);
  }
  return accept(writes, [{ type: `membership.proposal-${status}`, subject: row.orgId }]);
}

function applyProposal(
  state: StateReader,
  row: ProposalRow,
  members: readonly string[],
  time: number,
): Write[] | Refusal {
  if (row.action === 'admit') {
    // Checked again at passing time: another admission or a registration may have taken the
    // org id, the key or the last seat while this proposal was open.
    if (ORGS.get(state, row.orgId) !== undefined) return 'denied:org-exists';
    if (KEYS.get(state, keyIdOf(fromHex(row.candidate!.signingKey))) !== undefined)
      return 'denied:key-in-use';
    if (members.length >= MEMBER_COUNT_MAX) return 'denied:consortium-full';
    const org: OrgRow = { orgId: row.orgId, ...row.candidate!, status: 'active', since: time };
    return [...orgWrites(org), consortiumWrite(state, [...members, row.orgId].sort())];
  }
  if (members.length === 1) return 'denied:last-member';
  const org = ORGS.get(state, row.orgId)!;
  return [
    { table: ORG_TABLE, key: row.orgId, value: { ...org, status: 'removed' } },
    consortiumWrite(
      state,
      members.filter((member) => member !== row.orgId),
    ),
  ];
}

function consortiumWrite(state: StateReader, members: string[]): Write {
  // Every other field (the consent model, when genesis set one) is kept as it is.
  return { table: CONSORTIUM_TABLE, key: CONSORTIUM_KEY, value: { ...consortium(state), members } };
}
