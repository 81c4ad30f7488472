/**
 * Who may read what under /ledger. The ledger shows who read which patient and why, security
 * labels, consent terms and patient ids, so its blocks, transactions and erasures are for
 * auditors and organisation system clients (system/* scopes) of a member organisation; proofs
 * carry only hashes, so any authenticated caller may have them. The status document, signed
 * tree heads and transaction submission (authenticated by the transaction's own signature)
 * stay public. Tokens are checked in an onRequest hook, before any body is read.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ID_PATTERN, ORGS, PATIENTS } from '../contracts/index.js';
import type { NodeFacade } from '../node/index.js';
import { ApiError } from './api-error.js';
import {
  allows,
  AuthError,
  bearerPrincipal,
  OAuthError,
  type AccessGrant,
  type AuthServer,
} from './auth/index.js';

/** What a /ledger route needs of its caller: any valid token (`proof`) or an auditing one (`audit`). */
export type LedgerAccess = 'proof' | 'audit';

/** The onRequest hook that refuses a caller without the `access` the route needs: 401 without a valid token, 403 without the role. */
export function ledgerGuard(
  node: NodeFacade,
  auth: AuthServer | undefined,
  access: LedgerAccess,
): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const grant = await ledgerGrant(auth, request, reply);
    if (access === 'audit' && !auditsLedger(node, grant)) {
      throw new ApiError(
        403,
        'forbidden',
        'blocks, transactions and erasures are for auditors and system clients of member organisations',
      );
    }
  };
}

/** True for an auditor, or a backend client with a system/* scope, of an active member organisation. */
export function auditsLedger(node: NodeFacade, grant: AccessGrant): boolean {
  const { kind, org } = grant.principal;
  const role =
    kind === 'auditor' ||
    (kind === 'system' &&
      grant.scopes.some((scope) => scope.kind === 'resource' && scope.context === 'system'));
  const member = ORGS.get(node.ledger.state, org);
  return role && member?.status === 'active';
}

/**
 * The patient `grant` names (their pseudonym) when they read their own accounting here, at their
 * home organisation, with a token that may read their AuditEvents; a 403 for anyone else.
 */
export function homePatientOf(node: NodeFacade, grant: AccessGrant): string {
  const { kind, id } = grant.principal;
  const home = kind === 'patient' ? PATIENTS.get(node.ledger.state, id)?.homeOrg : undefined;
  if (
    home !== node.config.orgId ||
    !allows(grant.scopes, { resourceType: 'AuditEvent', interaction: 'read' })
  ) {
    throw new ApiError(
      403,
      'forbidden',
      'a patient reads their accounting here with a token for their AuditEvents, at their home organisation',
    );
  }
  return id;
}

/**
 * Whose trail a caller reads: a patient of this organisation their own, whatever they ask (so
 * a patient learns nothing of anyone else's), with a token that may read their AuditEvents; an
 * auditor or system client of a member the `patient` pseudonym named; anyone else a 403.
 */
export function trailPatientOf(node: NodeFacade, grant: AccessGrant, asked: unknown): string {
  if (grant.principal.kind === 'patient') return homePatientOf(node, grant);
  if (!auditsLedger(node, grant))
    throw new ApiError(
      403,
      'forbidden',
      'a trail is for its patient, and for auditors and system clients of member organisations',
    );
  if (typeof asked !== 'string' || !ID_PATTERN.test(asked))
    throw new ApiError(400, 'bad-request', 'patient must name a patient by their ledger pseudonym');
  if (PATIENTS.get(node.ledger.state, asked) === undefined)
    throw new ApiError(404, 'not-found', 'no patient has that pseudonym');
  return asked;
}

/** The caller's grant: a 401 (with its challenge) without a valid token. */
export async function ledgerGrant(
  auth: AuthServer | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<AccessGrant> {
  if (auth === undefined)
    throw new ApiError(
      401,
      'unauthorized',
      'this server issues no tokens, so its ledger reads are closed',
    );
  try {
    return await bearerPrincipal(request, auth);
  } catch (error) {
    if (error instanceof OAuthError && error.statusCode === 503) {
      if (error.retryAfterSeconds !== undefined)
        void reply.header('retry-after', String(error.retryAfterSeconds));
      throw new ApiError(error.statusCode, 'unavailable', error.message);
    }
    if (!(error instanceof AuthError)) throw error;
    void reply.header('www-authenticate', error.challenge());
    throw new ApiError(401, 'unauthorized', error.message);
  }
}
