/**
 * Encrypted records on a node (DESIGN.md, Encryption; Read path). A write seals the resource
 * under a fresh data key, stores the ciphertext by its hash, wraps the key for every required
 * recipient and anchors the version on the ledger. A read checks every link back: blob hash,
 * envelope, ciphertext, commitment. Any mismatch is a RecordIntegrityError carrying evidence.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  canonicalBytes,
  commitmentOf,
  fromHex,
  openRecordContent,
  recordAad,
  sealRecordContent,
  toHex,
  unwrapDataKey,
  type HpkePool,
  fromUtf8,
  wrapDataKey,
  type JsonValue,
} from '../crypto/index.js';
import {
  RECORDS,
  RECORDS_ANCHOR,
  RECORDS_SUPERSEDE,
  VERSIONS,
  requiredRecipients,
  versionKey,
  type RecordRow,
  type SealedContent,
  type SecurityLabel,
  type VersionRow,
} from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { BlobIntegrityError, BlobMissingError, type BlobStore } from '../storage/index.js';
import type { ChainStore } from '../storage/index.js';
import { decisionTime } from './chain-time.js';

/** Where a read failed its checks, with what was expected and what was found. */
export class RecordIntegrityError extends Error {
  constructor(
    readonly recordId: string,
    readonly version: number,
    readonly stage:
      | 'blob-missing'
      | 'blob-hash'
      | 'envelope'
      | 'ciphertext'
      | 'commitment'
      | 'transaction-hash'
      | 'tx-root'
      | 'inclusion',
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `record ${recordId} version ${version}: ${stage} check failed (expected ${expected}, found ${actual})`,
    );
    this.name = 'RecordIntegrityError';
  }
}

/** A read that cannot be served: unknown, deleted, erased, or not wrapped for the reader. */
export class RecordUnavailableError extends Error {
  constructor(
    readonly recordId: string,
    readonly reason: 'not-found' | 'deleted' | 'erased' | 'not-a-recipient',
  ) {
    super(`record ${recordId}: ${reason}`);
    this.name = 'RecordUnavailableError';
  }
}

/** What a record version decrypts to: the resource and the salt its commitment uses. */
export interface SealedPlaintext {
  readonly resource: JsonObject;
  readonly salt: string;
}

/** A prepared write: the anchor body to sign, once the ciphertext is stored. */
export interface PreparedVersion {
  readonly body: JsonObject;
  readonly ciphertextHash: string;
}

/** Seals `resource` as version `version` of `recordId` and returns the anchor or supersede body. */
export async function prepareVersion(
  chain: ChainStore,
  blobs: BlobStore,
  input: {
    readonly recordId: string;
    /** Null for a directory record. */
    readonly patientId: string | null;
    readonly version: number;
    readonly resource: JsonObject;
    readonly securityLabels: readonly SecurityLabel[];
    /** The record's organisation: this one for a new record. */
    readonly org: string;
    /** The author's organisation: this node's. */
    readonly authorOrg: string;
    /** Recipients beyond the required ones (X25519 public keys, hex). */
    readonly extraRecipients?: readonly string[];
  },
  pool?: HpkePool,
): Promise<PreparedVersion> {
  const resourceType = String(input.resource['resourceType']);
  const salt = randomBytes(32);
  const commitment = commitmentOf(salt, canonicalBytes(input.resource));
  const plaintext: SealedPlaintext = { resource: input.resource, salt: toHex(salt) };
  const aad = recordAad({ recordId: input.recordId, version: input.version, resourceType });
  const required = requiredRecipients(chain.state, {
    patientId: input.patientId,
    recordId: input.recordId,
    resourceType,
    securityLabels: input.securityLabels,
    orgIds: [input.org, input.authorOrg],
    time: decisionTime(chain),
  });
  const content = await sealToBlob(
    blobs,
    canonicalBytes(plaintext),
    aad,
    [...required, ...(input.extraRecipients ?? [])],
    pool,
  );
  const { recordId, version } = input;
  const versionContent = {
    ...content,
    commitment,
    securityLabels: input.securityLabels.map((label) => ({ ...label })),
  };
  const body =
    version === 1
      ? RECORDS_ANCHOR.build({
          recordId,
          patientId: input.patientId,
          resourceType,
          version,
          content: versionContent,
        })
      : RECORDS_SUPERSEDE.build({ recordId, version, content: versionContent });
  return { body, ciphertextHash: content.ciphertextHash };
}

/**
 * Seals `plaintext` under a fresh data key bound to `aad`, stores the ciphertext in `blobs`
 * and wraps the key to each of `recipients` (raw X25519 public keys, hex; sorted, once each):
 * a record version's ciphertext, or a sealed note's. Resolves once the blob is durable.
 */
export async function sealToBlob(
  blobs: BlobStore,
  plaintext: Uint8Array,
  aad: Uint8Array,
  recipients: readonly string[],
  pool?: HpkePool,
): Promise<Omit<SealedContent, 'commitment'>> {
  const { dataKey, sealed } = sealRecordContent(plaintext, aad);
  const stored = blobs.put(sealed);
  // The wraps run while the blob's write and fsync are on the thread pool: on `pool`'s worker
  // when given, else here.
  const wrapTo = async (recipient: string) => ({
    recipient,
    ...(pool === undefined
      ? wrapDataKey(dataKey, fromHex(recipient), aad)
      : await pool.wrap(dataKey, recipient, aad)),
  });
  // Awaited together, so a failed blob write (a full disk) is handled even while wraps run.
  const [ciphertextHash, envelopes] = await Promise.all([
    stored,
    Promise.all([...new Set(recipients)].sort().map(wrapTo)),
  ]);
  return { ciphertextHash, ciphertextSize: sealed.byteLength, envelopes };
}

/** The record's committed row, or undefined. */
export function recordRow(chain: ChainStore, recordId: string): RecordRow | undefined {
  return RECORDS.get(chain.state, recordId);
}

/** A committed version row, or undefined. */
export function versionRow(
  chain: ChainStore,
  recordId: string,
  version: number,
): VersionRow | undefined {
  return VERSIONS.get(chain.state, versionKey(recordId, version));
}

/**
 * Opens version `version` of `recordId` with whichever of `keys` (raw X25519 public key hex →
 * private key) has an envelope, checking blob hash, envelope, ciphertext and commitment.
 * Returns the resource and the commitment's salt (hex), with which a reader can check the
 * commitment on its own.
 */
export function openVersion(
  chain: ChainStore,
  blobs: BlobStore,
  recordId: string,
  version: number,
  keys: ReadonlyMap<string, KeyObject>,
): SealedPlaintext {
  const located = locateVersion(chain, blobs, recordId, version, keys);
  let dataKey: Uint8Array;
  try {
    dataKey = unwrapDataKey(located.envelope, located.privateKey, located.aad);
  } catch {
    throw envelopeError(located);
  }
  return openLocated(located, dataKey);
}

/** openVersion with the data key unwrapped by `pool`, off the main thread. */
export async function openVersionWith(
  pool: HpkePool,
  chain: ChainStore,
  blobs: BlobStore,
  recordId: string,
  version: number,
  keys: ReadonlyMap<string, KeyObject>,
): Promise<SealedPlaintext> {
  const located = locateVersion(chain, blobs, recordId, version, keys);
  let dataKey: Uint8Array;
  try {
    dataKey = await pool.unwrap({
      envelope: located.envelope,
      recipient: located.envelope.recipient,
      privateKey: located.privateKey,
      aad: located.aad,
    });
  } catch {
    throw envelopeError(located);
  }
  return openLocated(located, dataKey);
}

/** A version ready to open: its row, the envelope wrapped for one of the reader's keys, the checked ciphertext and the aad. */
interface LocatedVersion {
  readonly row: VersionRow;
  readonly envelope: VersionRow['envelopes'][number];
  readonly privateKey: KeyObject;
  readonly sealed: Uint8Array;
  readonly aad: Uint8Array;
}

function locateVersion(
  chain: ChainStore,
  blobs: BlobStore,
  recordId: string,
  version: number,
  keys: ReadonlyMap<string, KeyObject>,
): LocatedVersion {
  const row = versionRow(chain, recordId, version);
  if (row === undefined) throw new RecordUnavailableError(recordId, 'not-found');
  if (row.kind === 'tombstone' || row.ciphertextHash === null)
    throw new RecordUnavailableError(recordId, 'deleted');
  const envelope = row.envelopes.find((candidate) => keys.has(candidate.recipient));
  if (envelope === undefined) throw new RecordUnavailableError(recordId, 'not-a-recipient');
  const sealed = readBlob(blobs, row);
  return {
    row,
    envelope,
    privateKey: keys.get(envelope.recipient)!,
    sealed,
    aad: recordAad({ recordId, version, resourceType: row.resourceType }),
  };
}

function envelopeError({ row, envelope }: LocatedVersion): RecordIntegrityError {
  return new RecordIntegrityError(
    row.recordId,
    row.version,
    'envelope',
    `a key wrapped for ${envelope.recipient}`,
    'an envelope that does not open',
  );
}

/** Decrypts a located version with its data key and checks the commitment. */
function openLocated({ row, sealed, aad }: LocatedVersion, dataKey: Uint8Array): SealedPlaintext {
  let plaintext: SealedPlaintext;
  try {
    plaintext = JSON.parse(fromUtf8(openRecordContent(sealed, dataKey, aad))) as SealedPlaintext;
  } catch {
    throw new RecordIntegrityError(
      row.recordId,
      row.version,
      'ciphertext',
      'an authentic ciphertext',
      'one that fails AES-GCM authentication',
    );
  }
  const commitment = commitmentOf(
    fromHex(plaintext.salt, 'salt', 32),
    canonicalBytes(plaintext.resource as JsonValue),
  );
  if (commitment !== row.commitment)
    throw new RecordIntegrityError(
      row.recordId,
      row.version,
      'commitment',
      row.commitment!,
      commitment,
    );
  return { resource: plaintext.resource, salt: plaintext.salt };
}

function readBlob(blobs: BlobStore, row: VersionRow): Uint8Array {
  try {
    return blobs.get(row.ciphertextHash!);
  } catch (error) {
    if (error instanceof BlobMissingError)
      throw new RecordIntegrityError(
        row.recordId,
        row.version,
        'blob-missing',
        row.ciphertextHash!,
        'no blob',
      );
    if (error instanceof BlobIntegrityError)
      throw new RecordIntegrityError(
        row.recordId,
        row.version,
        'blob-hash',
        row.ciphertextHash!,
        error.actualHash,
      );
    throw error;
  }
}

/** A fresh record id: random, never derived from patient data. */
export function newRecordId(): string {
  return toHex(randomBytes(16));
}
