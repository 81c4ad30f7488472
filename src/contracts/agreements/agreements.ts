/** The agreements contract: data-sharing agreements between member organisations. */
import { contractOf } from '../contract.js';
import { executeCountersign, executePropose, executeTerminate } from './lifecycle.js';
import { AGREEMENTS_COUNTERSIGN, AGREEMENTS_PROPOSE, AGREEMENTS_TERMINATE } from './txs.js';
import { AGREEMENT_PAIR_TABLE, AGREEMENT_TABLE } from './tables.js';

/** The agreements contract. */
export const agreementsContract = contractOf({
  name: 'agreements',
  tables: [AGREEMENT_TABLE, AGREEMENT_PAIR_TABLE],
  handlers: {
    [AGREEMENTS_PROPOSE.type]: executePropose,
    [AGREEMENTS_COUNTERSIGN.type]: executeCountersign,
    [AGREEMENTS_TERMINATE.type]: executeTerminate,
  },
});
