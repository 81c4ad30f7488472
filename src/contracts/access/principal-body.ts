/** What the access transactions share: the principal a body names, and how an entry records who acted and what was decided. */
import type { JsonObject } from '../../ledger/index.js';
import {
  CLIENT_ID_PATTERN,
  enumField,
  ID_PATTERN,
  objectField,
  onlyFields,
  stringField,
} from '../body.js';
import type { TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { PATIENTS } from '../membership/index.js';
import type { StateReader } from '../state.js';
import type { AccessDecision } from './decide.js';
import type { Principal } from './tables.js';

/**
 * A principal as a body names it: { kind, id }, and for a system principal the OAuth client
 * acting, when the node knows it; the signing organisation is who authenticated them.
 */
export type NamedPrincipal = { kind: Principal['kind']; id: string; client?: string };

/** The { kind, id, client? } at `body[field]`, or undefined when it is missing or malformed. */
export function namedPrincipalField(body: JsonObject, field: string): NamedPrincipal | undefined {
  const value = objectField(body, field);
  if (value === undefined || !onlyFields(value, ['kind', 'id', 'client'])) return undefined;
  const kind = enumField(value, 'kind', ['practitioner', 'patient', 'auditor', 'system'] as const);
  const id = stringField(value, 'id', ID_PATTERN);
  if (kind === undefined || id === undefined) return undefined;
  if (!Object.hasOwn(value, 'client')) return { kind, id };
  const client = stringField(value, 'client', CLIENT_ID_PATTERN);
  return kind === 'system' && client !== undefined ? { kind, id, client } : undefined;
}

/**
 * The principal `named`, as authenticated by the signing organisation: practitioners, auditors
 * and system clients of that organisation, or patients whose home it is.
 */
export function principalOf(
  state: StateReader,
  named: NamedPrincipal,
  context: TxContext,
): Principal | Refusal {
  const { kind, id, client } = named;
  if (context.signer.role !== 'org') return 'denied:not-an-organisation';
  if (kind === 'patient' && PATIENTS.get(state, id)?.homeOrg !== context.signer.org)
    return 'denied:not-home-organisation';
  return { kind, id, org: context.signer.org, ...(client === undefined ? {} : { client }) };
}

/** The audit entry's actor for `principal`, naming the client when a system principal has one. */
export function actorOf(principal: Principal) {
  const actor = { role: principal.kind, subject: principal.id, org: principal.org };
  return principal.client === undefined ? actor : { ...actor, client: principal.client };
}

/** The audit entry's outcome fields for `decision`. */
export function outcomeOf(decision: AccessDecision) {
  return decision.outcome === 'permit'
    ? { outcome: 'permit' as const, basis: decision.basis }
    : { outcome: 'deny' as const, reason: decision.reason };
}
