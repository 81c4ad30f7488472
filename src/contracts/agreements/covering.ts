/**
 * Whether an agreement covers a disclosure: a pure decision over agreements state, for the
 * access decisions that read it. It reads only state and the query, so every node agrees.
 */
import type { StateReader } from '../state.js';
import { withinPeriod } from './terms.js';
import { AGREEMENTS, pairAgreementIds, type AgreementRow } from './tables.js';

/** Why no agreement covers a disclosure, from least to most specific. */
export type AgreementRefusal =
  | 'denied:no-agreement'
  | 'denied:agreement-expired'
  | 'denied:agreement-purpose'
  | 'denied:agreement-scope'
  | 'denied:agreement-label';

/** A disclosure of one record: who discloses it to whom, what it is, why, and when (block time, ms). */
export interface DisclosureQuery {
  discloser: string;
  recipient: string;
  resourceType: string;
  /** The record's meta.security codes. */
  labels: readonly string[];
  /** A v3 ActReason code. */
  purpose: string;
  time: number;
}

// The checks in order; a failure at index i is refused with REFUSALS[i].
const REFUSALS: readonly AgreementRefusal[] = [
  'denied:no-agreement',
  'denied:agreement-expired',
  'denied:agreement-purpose',
  'denied:agreement-scope',
  'denied:agreement-label',
];

/**
 * The first agreement (by sorted id) from `query.discloser` to `query.recipient` that is active,
 * whose period contains `query.time`, whose purposes include `query.purpose`, whose resource
 * types are empty or include `query.resourceType`, and which excludes none of `query.labels`.
 * When there is none, the refusal of the check that failed last in that order, over all the
 * pair's agreements: the agreement that came closest decides the reason.
 */
export function coveringAgreement(
  state: StateReader,
  query: DisclosureQuery,
): { agreementId: string } | { reason: AgreementRefusal } {
  let furthest = 0;
  for (const agreementId of pairAgreementIds(state, query.discloser, query.recipient)) {
    const passed = checksPassed(AGREEMENTS.get(state, agreementId), query);
    if (passed === REFUSALS.length) return { agreementId };
    furthest = Math.max(furthest, passed);
  }
  return { reason: REFUSALS[furthest]! };
}

/** How many of the checks, in order, `row` passes before the first it fails. */
function checksPassed(row: AgreementRow | undefined, query: DisclosureQuery): number {
  if (row?.status !== 'active') return 0;
  const { terms } = row;
  if (!withinPeriod(terms.period, query.time)) return 1;
  if (!terms.purposes.includes(query.purpose)) return 2;
  if (terms.resourceTypes.length > 0 && !terms.resourceTypes.includes(query.resourceType)) return 3;
  if (query.labels.some((label) => terms.excludeLabels.includes(label))) return 4;
  return 5;
}
