/** Public API of src/node: the node, its proofs, and chain verification. Knows nothing of HTTP. */
export {
  ChartChainNode,
  type OpenOptions,
  type SubmitRejection,
  type SubmitResult,
  type TxLookup,
} from './node.js';
export type { NodeFacade, NodeIdentity } from './node-facade.js';
export type { CallerAccess } from './caller-access.js';
export { runSliced, type LedgerWork } from './time-slice.js';
export { LedgerView } from './ledger-view.js';
export {
  isInitialised,
  awaitsGenesis,
  adoptGenesis,
  identityOf,
  type InitOptions,
} from './node-init.js';
export {
  buildGenesis,
  readGenesis,
  GenesisError,
  type GenesisFile,
  type OrgIdentity,
} from './network-genesis.js';
export {
  readNodeConfig,
  writeNodeConfig,
  DEFAULT_ORDERER,
  type NodeConfig,
  type OrdererKind,
} from './node-config.js';
export { NodeConfigError } from './node-config-check.js';
export {
  inclusionProof,
  consistencyProof,
  ProofRequestError,
  type InclusionProofResponse,
  type ConsistencyProofResponse,
} from './proofs.js';
export { loadOrgKeys, type OrgKeys } from './org-keys.js';
export {
  NodeAccess,
  AccessLogUnavailableError,
  type AccessResult,
  type ProvenEntry,
  type ReleasedRecord,
  type SearchedVersion,
} from './access-api.js';
export {
  NodeBreakTheGlass,
  BreakTheGlassRefusedError,
  isNoteText,
  type BreakTheGlassTexts,
  type NoteReader,
} from './break-the-glass-api.js';
export { NoteUnavailableError } from './sealed-note.js';
export { NodeConsent } from './consent-api.js';
export type { NodeAlarm, RecordReader, VersionInput } from './records-api.js';
export { backupDataDir, checkBackup, type BackupManifest } from './backup.js';
export { RecordIntegrityError } from './record-service.js';
export { CommitTimeoutError } from './commit-waiters.js';
export {
  BLOB_GC_GRACE_MS,
  BLOB_GC_INTERVAL_MS,
  collectOrphanBlobs,
  type BlobCollectorHost,
} from './blob-gc.js';
export { anchorsInState } from './blob-anchors.js';
export {
  NodeCheckpoints,
  type CountedCheckpoint,
  type HeightCheckpoints,
  type CheckpointRefusal,
} from './checkpoints.js';
export { NodePeerBlobs } from './peer-blobs.js';
export { blockPage, blockLines, PeerBlockSync, PeerSyncError } from './peer-blocks.js';
export { PeerClient, httpTransport, type PeerTransport } from './peer-client.js';
export {
  PeerRequestVerifier,
  signPeerRequest,
  PEER_HEADERS,
  PEER_REQUEST_SKEW_MS,
  type PeerAuthRefusal,
} from './peer-auth.js';
export { Pseudonyms, type FhirId, type PatientNames } from './pseudonyms.js';
