/** The records contract: anchors of encrypted record versions, deletion and erasure (DESIGN.md, Contracts). */
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE } from '../audit/index.js';
import { contractOf } from '../contract.js';
import { executeErase, executeErasureReceipt } from './erasure.js';
import { executeBatch } from './batch.js';
import { executeShareKeys } from './key-share.js';
import {
  RECORDS_ANCHOR,
  RECORDS_BATCH,
  RECORDS_ERASE,
  RECORDS_ERASURE_RECEIPT,
  RECORDS_SHARE_KEYS,
  RECORDS_SUPERSEDE,
  RECORDS_TOMBSTONE,
} from './txs.js';
import { ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE } from './tables.js';
import { executeAnchor, executeSupersede, executeTombstone } from './write-version.js';

/** The records contract. */
export const recordsContract = contractOf({
  name: 'records',
  tables: [ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE],
  appendsTo: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE],
  handlers: {
    [RECORDS_ANCHOR.type]: executeAnchor,
    [RECORDS_SUPERSEDE.type]: executeSupersede,
    [RECORDS_TOMBSTONE.type]: executeTombstone,
    [RECORDS_ERASE.type]: executeErase,
    [RECORDS_ERASURE_RECEIPT.type]: executeErasureReceipt,
    [RECORDS_SHARE_KEYS.type]: executeShareKeys,
    [RECORDS_BATCH.type]: executeBatch,
  },
});
