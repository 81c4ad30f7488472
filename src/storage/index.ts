/** Public API of src/storage: the SQLite chain store. */
export { openDatabase, type SqliteDatabase } from './database.js';
export { ChainStore, StorageIntegrityError, type BlockCommit, type RawBlock, type StoredTx } from './chain-store.js';
export { CHAIN_SCHEMA_VERSION } from './chain-schema.js';
export { PendingNodeStore } from './pending-nodes.js';
