/**
 * The access path as one request's caller sees it: who asks and for what purpose are bound once,
 * when the request is authenticated, so no call below it can pass another caller or purpose.
 */
import type { AccessDecision, Principal } from '../contracts/index.js';
import type { AccessResult, NodeAccess, ReleasedRecord, SearchedVersion } from './access-api.js';

export interface CallerAccess {
  readonly principal: Principal;
  readonly purpose: string;
  /** What the contract decides for this caller on `recordId` (its latest version unless named), from committed state; nothing is logged. */
  decide(
    recordId: string,
    options?: { version?: number; ignoringErasure?: boolean },
  ): AccessDecision;
  /** The consent-checked, log-before-release read of `recordId` (its latest version unless named). */
  read(recordId: string, version?: number): Promise<AccessResult>;
  /** Logs one search releasing `released` (and, scoped to a patient, what it refused), then decrypts what the contract permitted. */
  releaseAll(
    released: readonly SearchedVersion[],
    options: { patientId: string | null; denied?: readonly SearchedVersion[] },
  ): Promise<ReleasedRecord[]>;
}

/** `access` bound to `principal` and `purpose`. */
export function callerAccess(
  access: NodeAccess,
  principal: Principal,
  purpose: string,
): CallerAccess {
  return {
    principal,
    purpose,
    decide: (recordId, options = {}) => access.decide(principal, recordId, { purpose, ...options }),
    read: (recordId, version) =>
      access.read(principal, recordId, { purpose, ...(version === undefined ? {} : { version }) }),
    releaseAll: (released, options) =>
      access.releaseAll(principal, released, { purpose, ...options }),
  };
}
