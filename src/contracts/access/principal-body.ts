/** What the access transactions share: the principal a body names, and how an entry records who acted and what was decided. */
import type { JsonObject } from '../../ledger/index.js';
import { enumField, ID_PATTERN, objectField, onlyFields, stringField } from '../body.js';
import type { TxContext } from '../contract.js';
import type { Refusal } from '../refusals.js';
import { PATIENTS } from '../membership/index.js';
import type { StateReader } from '../state.js';
import type { AccessDecision } from './decide.js';
import type { Principal } from './tables.js';

/** A principal as a body names it: { kind, id }; the signing organisation is who authenticated them. */
export type NamedPrincipal = { kind: Principal['kind']; id: string };

/** The { kind, id } at `body[field]`, or undefined when it is missing or malformed. */
export function namedPrincipalField(body: JsonObject, field: string): NamedPrincipal | undefined {
  const value = objectField(body, field);
  if (value === undefined || !onlyFields(value, ['kind', 'id'])) return undefined;
  const kind = enumField(value, 'kind', ['practitioner', 'patient', 'auditor', 'system'] as const);
  const id = stringField(value, 'id', ID_PATTERN);
  return kind === undefined || id === undefined ? undefined : { kind, id };
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
  const { kind, id } = named;
  if (context.signer.role !== 'org') return 'denied:not-an-organisation';
  if (kind === 'patient' && PATIENTS.get(state, id)?.homeOrg !== context.signer.org)
    return 'denied:not-home-organisation';
  return { kind, id, org: context.signer.org };
}

/** The audit entry's actor for `principal`. */
export function actorOf(principal: Principal) {
  return { role: principal.kind, subject: principal.id, org: principal.org };
}

/** The audit entry's outcome fields for `decision`. */
export function outcomeOf(decision: AccessDecision) {
  return decision.outcome === 'permit'
    ? { outcome: 'permit' as const, basis: decision.basis }
    : { outcome: 'deny' as const, reason: decision.reason };
}
