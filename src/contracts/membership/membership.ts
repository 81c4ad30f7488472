/** The membership contract: consortium, organisations, practitioners and patients. */
import { contractOf } from '../contract.js';
import { executeGenesis } from './genesis.js';
import { executePropose, executeVote } from './governance.js';
import { executeRotateEncryptionKey } from './key-rotation.js';
import {
  executeRegisterPatient,
  executeRegisterPractitioner,
  executeSetPractitionerStatus,
} from './people.js';
import {
  MEMBERSHIP_GENESIS,
  MEMBERSHIP_PROPOSE_ADMIT,
  MEMBERSHIP_REGISTER_PATIENT,
  MEMBERSHIP_REGISTER_PRACTITIONER,
  MEMBERSHIP_REINSTATE_PRACTITIONER,
  MEMBERSHIP_ROTATE_ENCRYPTION_KEY,
  MEMBERSHIP_SUSPEND_PRACTITIONER,
  MEMBERSHIP_VOTE,
} from './txs.js';
import {
  CONSORTIUM_TABLE,
  KEY_TABLE,
  ORG_TABLE,
  PATIENT_TABLE,
  PRACTITIONER_TABLE,
  PROPOSAL_TABLE,
} from './tables.js';

/** The membership contract. */
export const membershipContract = contractOf({
  name: 'membership',
  tables: [
    CONSORTIUM_TABLE,
    KEY_TABLE,
    ORG_TABLE,
    PATIENT_TABLE,
    PRACTITIONER_TABLE,
    PROPOSAL_TABLE,
  ],
  handlers: {
    [MEMBERSHIP_GENESIS.type]: executeGenesis,
    // One type, two body shapes: the admission's `type` names both.
    [MEMBERSHIP_PROPOSE_ADMIT.type]: executePropose,
    [MEMBERSHIP_VOTE.type]: executeVote,
    [MEMBERSHIP_REGISTER_PRACTITIONER.type]: executeRegisterPractitioner,
    [MEMBERSHIP_SUSPEND_PRACTITIONER.type]: executeSetPractitionerStatus('suspended'),
    [MEMBERSHIP_REINSTATE_PRACTITIONER.type]: executeSetPractitionerStatus('active'),
    [MEMBERSHIP_REGISTER_PATIENT.type]: executeRegisterPatient,
    [MEMBERSHIP_ROTATE_ENCRYPTION_KEY.type]: executeRotateEncryptionKey,
  },
});
