/** The genesis transaction: the founding consortium, valid only as the first transaction of block 0. */
import type { JsonObject, Transaction } from '../../ledger/index.js';
import { enumField, hex32Field, idField, onlyFields, textField } from '../body.js';
import { accept, refuse, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader, Write } from '../state.js';
import { CONSENT_MODELS, CONSORTIUM_KEY, CONSORTIUM_TABLE, CONSORTIUM, MEMBER_COUNT_MAX, type ConsortiumRow, type OrgRow } from './tables.js';
import { orgWrites } from './org-writes.js';

/** A founding organisation as the genesis body lists it. */
export interface OrgCandidate {
  orgId: string;
  name: string;
  signingKey: string;
  encryptionKey: string;
}

const NAME_LENGTH_MAX = 200;

/** Parses one organisation description; undefined when malformed. */
export function orgCandidate(value: JsonObject, extraFields: readonly string[] = []): OrgCandidate | undefined {
  if (!onlyFields(value, ['orgId', 'name', 'signingKey', 'encryptionKey', ...extraFields])) return undefined;
  const orgId = idField(value, 'orgId');
  const name = textField(value, 'name', NAME_LENGTH_MAX);
  const signingKey = hex32Field(value, 'signingKey');
  const encryptionKey = hex32Field(value, 'encryptionKey');
  if (orgId === undefined || name === undefined || signingKey === undefined || encryptionKey === undefined) return undefined;
  return { orgId, name, signingKey, encryptionKey };
}

/** The founding organisations of a genesis body, or undefined when the body is malformed or has duplicates. */
export function genesisOrgs(body: JsonObject): OrgCandidate[] | undefined {
  const orgs = body['orgs'];
  if (!Array.isArray(orgs) || orgs.length === 0 || orgs.length > MEMBER_COUNT_MAX) return undefined;
  const parsed: OrgCandidate[] = [];
  for (const value of orgs) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const org = orgCandidate(value);
    if (org === undefined) return undefined;
    parsed.push(org);
  }
  const ids = new Set(parsed.map((org) => org.orgId));
  const keys = new Set(parsed.map((org) => org.signingKey));
  return ids.size === parsed.length && keys.size === parsed.length ? parsed : undefined;
}

/** Executes `membership.genesis`: { network, orgs, consentModel? }. */
export function executeGenesis(state: StateReader, tx: Transaction, context: TxContext): ContractResult {
  if (context.block.height !== 0 || CONSORTIUM.get(state, CONSORTIUM_KEY) !== undefined) return refuse('denied:genesis-closed');
  if (!onlyFields(tx.body, ['network', 'orgs', 'consentModel'])) return refuse('invalid:bad-body');
  const network = textField(tx.body, 'network', NAME_LENGTH_MAX);
  const orgs = genesisOrgs(tx.body);
  const consentModel = enumField(tx.body, 'consentModel', CONSENT_MODELS);
  if (network === undefined || orgs === undefined) return refuse('invalid:bad-body');
  if (tx.body['consentModel'] !== undefined && consentModel === undefined) return refuse('invalid:bad-body');
  const writes: Write[] = [];
  for (const org of orgs) {
    const row: OrgRow = { ...org, status: 'active', since: context.block.time };
    writes.push(...orgWrites(row));
  }
  const members = orgs.map((org) => org.orgId).sort();
  // Written only when the genesis names it, so a genesis from before the setting keeps its state root.
  const consortium: ConsortiumRow = consentModel === undefined ? { network, members } : { network, members, consentModel };
  writes.push({ table: CONSORTIUM_TABLE, key: CONSORTIUM_KEY, value: { ...consortium } });
  return accept(writes);
}
