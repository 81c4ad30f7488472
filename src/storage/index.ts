/** Public API of src/storage: the SQLite chain store, the content-addressed blob store and the keystore. */
export { openDatabase, type SqliteDatabase } from './database.js';
export { backupDatabase } from './sqlite-backup.js';
export { SqliteWriter, type WriteStep } from './sqlite-writer.js';
export { startSqliteWorker } from './sqlite-worker.js';
export { WalCheckpointer } from './wal-checkpointer.js';
export { truncateWal } from './wal-truncate.js';
export {
  makeOwnerOnly,
  restrictUmask,
  OWNER_ONLY_DIRECTORY_MODE,
  OWNER_ONLY_FILE_MODE,
  OWNER_ONLY_UMASK,
  type OwnerOnlyOptions,
} from './owner-only.js';
export {
  ChainStore,
  ChainDatabaseDamagedError,
  StorageIntegrityError,
  type BlobAnchor,
  type BlockCommit,
  type RawBlock,
  type StoredTx,
  type StoreTurn,
} from './chain-store.js';
export { CHAIN_SCHEMA_VERSION } from './chain-schema.js';
export { PendingNodeStore } from './pending-nodes.js';
export {
  BlobStore,
  BlobError,
  BlobIntegrityError,
  BlobMissingError,
  SEGMENT_BYTES_TARGET,
  type BlobPlace,
  type BlobSource,
  type BlobStoreOptions,
} from './blob-store.js';
export {
  Keystore,
  KeystoreError,
  KEYSTORE_SCRYPT_DEFAULTS,
  type KeystoreEntryInfo,
  type ScryptParams,
} from './keystore.js';
export { CheckpointStore } from './checkpoint-store.js';
export {
  storageFaultOf,
  isDiskFull,
  diskFullError,
  onDamageReported,
  reportDamage,
  type StorageFaultKind,
} from './storage-fault.js';
export { writeFileDurably } from './durable-file.js';
