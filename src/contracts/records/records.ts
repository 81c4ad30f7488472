/** The records contract: anchors of encrypted record versions, deletion and erasure (DESIGN.md, Contracts). */
import { AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE } from '../audit/index.js';
import { contractOf } from '../contract.js';
import { executeErase, executeErasureReceipt } from './erasure.js';
import { executeBatch } from './batch.js';
import { executeShareKeys } from './key-share.js';
import { ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE } from './tables.js';
import { executeAnchor, executeSupersede, executeTombstone } from './write-version.js';

/** The records contract. */
export const recordsContract = contractOf({
  name: 'records',
  tables: [ERASURE_TABLE, RECORD_TABLE, VERSION_TABLE],
  appendsTo: [AUDIT_ENTRY_TABLE, AUDIT_HEAD_TABLE],
  handlers: {
    'records.anchor': executeAnchor,
    'records.supersede': executeSupersede,
    'records.tombstone': executeTombstone,
    'records.erase': executeErase,
    'records.erasure-receipt': executeErasureReceipt,
    'records.share-keys': executeShareKeys,
    'records.batch': executeBatch,
  },
});
