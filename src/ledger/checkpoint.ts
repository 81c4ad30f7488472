/**
 * Checkpoints (DESIGN.md, State and agreement between nodes): after committing block `height`,
 * each organisation signs `(height, blockHash, appHash)` with its organisation key. A block is
 * final once a majority of member organisations signed identical checkpoints.
 */
import type { KeyObject } from 'node:crypto';
import {
  canonicalBytes,
  concatBytes,
  fromHex,
  isHex,
  sign,
  toHex,
  utf8,
  verify,
  type SigningKey,
} from '../crypto/index.js';

/** One organisation's signed statement of the block and state it committed at `height`. */
export interface Checkpoint {
  readonly height: number;
  readonly blockHash: string;
  readonly appHash: string;
  readonly orgId: string;
  /** Key id of the organisation's signing key. */
  readonly signer: string;
  /** Hex Ed25519 over checkpointSigningMessage. */
  readonly sig: string;
}

/** The fields a checkpoint signature covers. */
export type UnsignedCheckpoint = Omit<Checkpoint, 'sig'>;

// Domain separation: a checkpoint signature never passes as a transaction or block signature.
const CHECKPOINT_SIGNING_CONTEXT = utf8('chartchain/checkpoint/v1\n');
const ORG_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,63}$/;

/** The bytes a checkpoint signature covers: a context string and the canonical unsigned form. */
export function checkpointSigningMessage(checkpoint: UnsignedCheckpoint): Uint8Array {
  const { height, blockHash, appHash, orgId, signer } = checkpoint;
  return concatBytes(
    CHECKPOINT_SIGNING_CONTEXT,
    canonicalBytes({ height, blockHash, appHash, orgId, signer }),
  );
}

/** Signs a checkpoint as `orgId` with `key`. */
export function signCheckpoint(
  fields: Omit<UnsignedCheckpoint, 'signer'>,
  key: SigningKey,
): Checkpoint {
  const unsigned = {
    height: fields.height,
    blockHash: fields.blockHash,
    appHash: fields.appHash,
    orgId: fields.orgId,
    signer: key.keyId,
  };
  return { ...unsigned, sig: toHex(sign(key, checkpointSigningMessage(unsigned))) };
}

/** True when `checkpoint`'s signature verifies under `publicKey`. */
export function verifyCheckpointSignature(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  return verify(publicKey, checkpointSigningMessage(checkpoint), fromHex(checkpoint.sig));
}

/** `value` as a well-formed Checkpoint (exactly its fields, well-typed), or undefined. Says nothing of its signature. */
export function checkpointOf(value: unknown): Checkpoint | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  if (Object.keys(fields).sort().join() !== 'appHash,blockHash,height,orgId,sig,signer')
    return undefined;
  const { height, blockHash, appHash, orgId, signer, sig } = fields;
  if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) return undefined;
  if (!isHex(blockHash, 32) || !isHex(appHash, 32) || !isHex(signer, 32) || !isHex(sig, 64))
    return undefined;
  if (typeof orgId !== 'string' || !ORG_ID_PATTERN.test(orgId)) return undefined;
  return { height, blockHash, appHash, orgId, signer, sig };
}
