/**
 * Probes for orchestrators and operators. `GET /healthz` answers while the process serves
 * (liveness). `GET /readyz` answers 200 only when the node can take traffic: recovered (the node
 * exists only after recovery), not halted, and every further check passes (the search index
 * built, the orderer connected); otherwise 503 naming each reason. Neither carries health data.
 */
import type { FastifyInstance } from 'fastify';
import type { NodeFacade } from '../node/index.js';

/** A readiness check: undefined when ready, else why not (no health data). */
export type ReadinessCheck = () => string | undefined;

/** Registers /healthz and /readyz. */
export function registerHealthRoutes(
  app: FastifyInstance,
  node: NodeFacade,
  checks: readonly ReadinessCheck[] = [],
): void {
  app.get('/healthz', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'live' }),
  );
  app.get('/readyz', async (_request, reply) => {
    const halted: ReadinessCheck = () =>
      node.halted === undefined ? undefined : 'node halted: see /ledger/status';
    const reasons = [halted, ...checks]
      .map((check) => check())
      .filter((reason): reason is string => reason !== undefined);
    const status = reasons.length === 0 ? 'ready' : 'not-ready';
    return reply
      .code(reasons.length === 0 ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status, reasons, height: node.head().height });
  });
}
