/**
 * `GET /metrics` in the Prometheus text format: request rates and latencies by route pattern,
 * the chain's height and log size, block commit latency, how long ledger work holds the event
 * loop, the ordering queue, alarms, and the process's own figures
 * (event-loop delay, memory, GC). Labels are route patterns and status codes only, never a URL,
 * an id or anything from a request, so no health data can reach a scrape.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeFacade } from '../node/index.js';

const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Ledger work aims to hold the event loop under a millisecond a turn; the buckets straddle that. */
const TURN_BUCKETS_SECONDS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1];

/** The metrics of one node's HTTP app, in a registry of its own (several apps may share a process in tests). */
export function registerMetrics(app: FastifyInstance, node: NodeFacade): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const requests = new Counter({
    name: 'chartchain_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'chartchain_http_request_duration_seconds',
    help: 'HTTP request latency, by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  chainGauges(registry, node);
  const commits = new Histogram({
    name: 'chartchain_block_commit_duration_seconds',
    help: 'durable block commit (SQLite transaction and fsync)',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const committed = new Counter({
    name: 'chartchain_transactions_committed_total',
    help: 'transactions committed in blocks, valid or not',
    registers: [registry],
  });
  node.observeCommits((seconds, txCount) => {
    commits.observe(seconds);
    committed.inc(txCount);
  });
  const turns = new Histogram({
    name: 'chartchain_ledger_turn_duration_seconds',
    help: 'how long each stretch of ledger work held the event loop without a break, by kind',
    labelNames: ['work'],
    buckets: TURN_BUCKETS_SECONDS,
    registers: [registry],
  });
  node.observeLedgerTurns((work, seconds) => turns.observe({ work }, seconds));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) =>
    reply
      .type(registry.contentType)
      .header('cache-control', 'no-store')
      .send(await registry.metrics()),
  );
  return registry;
}

/** Gauges read from the node at scrape time. */
function chainGauges(registry: Registry, node: NodeFacade): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge(
    'chartchain_block_height',
    'height of the newest committed block',
    () => node.head().height,
  );
  gauge(
    'chartchain_log_size',
    'leaves in the RFC 9162 transparency log',
    () => node.head().logSize,
  );
  gauge(
    'chartchain_pending_transactions',
    'transactions accepted and not yet committed (the ordering queue)',
    () => node.pendingCount,
  );
  gauge('chartchain_halted', '1 when the node has stopped committing', () =>
    node.halted === undefined ? 0 : 1,
  );
  new Gauge({
    name: 'chartchain_alarms',
    help: 'open alarms, by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const alarm of alarmsOf(node)) this.inc({ kind: alarm.kind });
    },
  });
}

function alarmsOf(node: NodeFacade): { kind: string }[] {
  return [...(node.halted === undefined ? [] : [{ kind: 'halted' }]), ...node.records.alarms];
}
