/** One string per principal, for what a node keeps per caller: budgets, streams, owned jobs. */
import type { Principal } from './tables.js';

/**
 * `org/kind/id`, and for a system principal acting through a client, `#client` after it: an
 * organisation's systems are told apart, as the ledger tells them apart.
 */
export function principalKey(principal: Principal): string {
  const { org, kind, id, client } = principal;
  return client === undefined ? `${org}/${kind}/${id}` : `${org}/${kind}/${id}#${client}`;
}
