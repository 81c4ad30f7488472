/** The membership contract: consortium, organisations, practitioners and patients. */
import type { Transaction } from '../../ledger/index.js';
import { refuse, type Contract, type ContractResult, type TxContext } from '../contract.js';
import type { StateReader } from '../state.js';
import { executeGenesis } from './genesis.js';
import { executePropose, executeVote } from './governance.js';
import { executeRotateEncryptionKey } from './key-rotation.js';
import { executeRegisterPatient, executeRegisterPractitioner, executeSetPractitionerStatus } from './people.js';
import { CONSORTIUM_TABLE, KEY_TABLE, ORG_TABLE, PATIENT_TABLE, PRACTITIONER_TABLE, PROPOSAL_TABLE } from './tables.js';

type Handler = (state: StateReader, tx: Transaction, context: TxContext) => ContractResult;

const HANDLERS: Readonly<Record<string, Handler>> = {
  'membership.genesis': executeGenesis,
  'membership.propose': executePropose,
  'membership.vote': executeVote,
  'membership.register-practitioner': executeRegisterPractitioner,
  'membership.suspend-practitioner': executeSetPractitionerStatus('suspended'),
  'membership.reinstate-practitioner': executeSetPractitionerStatus('active'),
  'membership.register-patient': executeRegisterPatient,
  'membership.rotate-encryption-key': executeRotateEncryptionKey,
};

/** The membership contract. */
export const membershipContract: Contract = {
  name: 'membership',
  tables: [CONSORTIUM_TABLE, KEY_TABLE, ORG_TABLE, PATIENT_TABLE, PRACTITIONER_TABLE, PROPOSAL_TABLE],
  txTypes: Object.keys(HANDLERS).sort(),
  execute(state, tx, context) {
    const handler = HANDLERS[tx.type];
    return handler === undefined ? refuse('invalid:unknown-type') : handler(state, tx, context);
  },
};
