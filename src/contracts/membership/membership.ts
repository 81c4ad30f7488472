/** The membership contract: consortium, organisations, practitioners and patients. */
import { contractOf } from '../contract.js';
import { executeGenesis } from './genesis.js';
import { executePropose, executeVote } from './governance.js';
import { executeRotateEncryptionKey } from './key-rotation.js';
import { executeRegisterPatient, executeRegisterPractitioner, executeSetPractitionerStatus } from './people.js';
import { CONSORTIUM_TABLE, KEY_TABLE, ORG_TABLE, PATIENT_TABLE, PRACTITIONER_TABLE, PROPOSAL_TABLE } from './tables.js';

/** The membership contract. */
export const membershipContract = contractOf({
  name: 'membership',
  tables: [CONSORTIUM_TABLE, KEY_TABLE, ORG_TABLE, PATIENT_TABLE, PRACTITIONER_TABLE, PROPOSAL_TABLE],
  handlers: {
    'membership.genesis': executeGenesis,
    'membership.propose': executePropose,
    'membership.vote': executeVote,
    'membership.register-practitioner': executeRegisterPractitioner,
    'membership.suspend-practitioner': executeSetPractitionerStatus('suspended'),
    'membership.reinstate-practitioner': executeSetPractitionerStatus('active'),
    'membership.register-patient': executeRegisterPatient,
    'membership.rotate-encryption-key': executeRotateEncryptionKey,
  },
});
