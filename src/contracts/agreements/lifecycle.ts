/**
 * The lifecycle of an agreement: one party proposes it, the other countersigns it, and either
 * party terminates it. Only the parties' organisation keys act on it. An active agreement
 * lapses at the end of its period, by block time, with no transaction.
 */
import type { Transaction } from '../../ledger/index.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { ORGS } from '../membership/index.js';
import type { StateReader, Write } from '../state.js';
import { periodEnded } from './terms.js';
import { AGREEMENTS_COUNTERSIGN, AGREEMENTS_PROPOSE, AGREEMENTS_TERMINATE } from './txs.js';
import {
  AGREEMENT_PAIR_TABLE,
  AGREEMENT_TABLE,
  AGREEMENTS,
  pairAgreementIds,
  pairKey,
  type AgreementRow,
} from './tables.js';
import { AGREEMENTS_PER_PAIR_MAX } from '../../ledger/index.js';

/**
 * Executes `agreements.propose`: { agreementId, discloser, recipient, terms }, signed by the
 * organisation key of either party. Both parties must be active members, the id unused and the
 * period not already over. Emits `agreements.proposed`.
 */
export function executePropose(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  if (context.signer.role !== 'org') return refuse('denied:not-an-organisation');
  const body = AGREEMENTS_PROPOSE.parse(tx.body);
  if (body === undefined || body.discloser === body.recipient) return refuse('invalid:bad-body');
  const { agreementId, discloser, recipient, terms } = body;
  const org = context.signer.org;
  if (org !== discloser && org !== recipient) return refuse('denied:not-a-party');
  if (!isActiveMember(state, discloser) || !isActiveMember(state, recipient))
    return refuse('denied:not-a-member');
  if (AGREEMENTS.get(state, agreementId) !== undefined) return refuse('denied:agreement-exists');
  const time = context.block.time;
  if (periodEnded(terms.period, time)) return refuse('denied:agreement-expired');
  const ids = pairAgreementIds(state, discloser, recipient);
  if (ids.length >= AGREEMENTS_PER_PAIR_MAX) return refuse('denied:too-many-agreements');
  const row: AgreementRow = {
    agreementId,
    discloser,
    recipient,
    proposedBy: org,
    terms,
    status: 'proposed',
    proposedAt: time,
    activatedAt: null,
    terminatedAt: null,
    terminatedBy: null,
  };
  return accept(
    [agreementWrite(row), pairWrite(row, [...ids, agreementId].sort())],
    [{ type: 'agreements.proposed', subject: agreementId }],
  );
}

/**
 * Executes `agreements.countersign`: { agreementId }, signed by the organisation key of the
 * party that did not propose it, while it is proposed, its period not over and both parties
 * still active members. Emits `agreements.active`.
 */
export function executeCountersign(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  const row = partyAgreement(state, tx, context, AGREEMENTS_COUNTERSIGN);
  if (typeof row === 'string') return refuse(row);
  if (row.status !== 'proposed') return refuse(`denied:agreement-${row.status}`);
  if (row.proposedBy === context.signer.org) return refuse('denied:proposer-cannot-countersign');
  const time = context.block.time;
  if (periodEnded(row.terms.period, time)) return refuse('denied:agreement-expired');
  if (!isActiveMember(state, row.discloser) || !isActiveMember(state, row.recipient))
    return refuse('denied:not-a-member');
  return accept(
    [agreementWrite({ ...row, status: 'active', activatedAt: time })],
    [{ type: 'agreements.active', subject: row.agreementId }],
  );
}

/**
 * Executes `agreements.terminate`: { agreementId }, signed by the organisation key of either
 * party, while it is proposed or active. The agreement leaves its pair's index, freeing a place
 * there, and stays in AGREEMENT_TABLE. Emits `agreements.terminated`.
 */
export function executeTerminate(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
): ContractResult {
  const row = partyAgreement(state, tx, context, AGREEMENTS_TERMINATE);
  if (typeof row === 'string') return refuse(row);
  if (row.status === 'terminated') return refuse('denied:agreement-terminated');
  const terminated: AgreementRow = {
    ...row,
    status: 'terminated',
    terminatedAt: context.block.time,
    terminatedBy: context.signer.org,
  };
  const ids = pairAgreementIds(state, row.discloser, row.recipient).filter(
    (id) => id !== row.agreementId,
  );
  return accept(
    [agreementWrite(terminated), pairWrite(row, ids)],
    [{ type: 'agreements.terminated', subject: row.agreementId }],
  );
}

/** The agreement a `{ agreementId }` body names, when the signer is the organisation key of one of its parties. */
function partyAgreement(
  state: StateReader,
  tx: Transaction,
  context: TxContext,
  schema: typeof AGREEMENTS_COUNTERSIGN | typeof AGREEMENTS_TERMINATE,
): AgreementRow | Refusal {
  if (context.signer.role !== 'org') return 'denied:not-an-organisation';
  const body = schema.parse(tx.body);
  if (body === undefined) return 'invalid:bad-body';
  const row = AGREEMENTS.get(state, body.agreementId);
  if (row === undefined) return 'denied:no-such-agreement';
  const org = context.signer.org;
  return org === row.discloser || org === row.recipient ? row : 'denied:not-a-party';
}

function isActiveMember(state: StateReader, orgId: string): boolean {
  const org = ORGS.get(state, orgId);
  return org?.status === 'active';
}

function agreementWrite(row: AgreementRow): Write {
  const { period } = row.terms;
  return {
    table: AGREEMENT_TABLE,
    key: row.agreementId,
    value: { ...row, terms: { ...row.terms, period: { ...period } } },
  };
}

/** Sets the pair index of `row`'s parties to `ids`; an empty index is deleted. */
function pairWrite(row: AgreementRow, ids: string[]): Write {
  return {
    table: AGREEMENT_PAIR_TABLE,
    key: pairKey(row.discloser, row.recipient),
    value: ids.length === 0 ? null : { agreementIds: ids },
  };
}
