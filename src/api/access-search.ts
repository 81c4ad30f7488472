/**
 * GET /ledger/accesses: the privacy officer's access search across patients, by user, date,
 * outcome and purpose: a scan of every patient's audit trail, outside consensus, in slices that
 * give the event loop back between them so the node keeps serving while it runs. Each hit is the
 * audit entry with its patient's pseudonym and FHIR Patient id, never record content.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { AUDIT_ENTRY_TABLE, AUDIT_ENTRIES, type AuditEntry } from '../contracts/index.js';
import { fhirPatientOf, fhirReferenceOf } from '../fhir/index.js';
import type { NodeFacade } from '../node/index.js';
import { ApiError } from './api-error.js';
import type { AuthServer } from './auth/index.js';
import { ledgerGuard } from './ledger-auth.js';
import { ACCESS_SEARCH_LIMIT_MAX } from '../ledger/index.js';

/** Audit entries read between two turns of the event loop. */
const SLICE = 2000;
/** The kinds an access search looks at: reads, searches and break-the-glass. */
const ACCESS_KINDS: readonly string[] = ['access', 'search', 'break-the-glass'];

interface AccessQuery {
  readonly user: string | undefined;
  readonly since: number;
  readonly until: number;
  readonly outcome: 'permit' | 'deny' | undefined;
  readonly purpose: string | undefined;
  readonly limit: number;
}

/** One hit: the entry, its patient by pseudonym and by FHIR id, and its record's FHIR reference when known here. */
export interface AccessHit {
  readonly patient: string;
  readonly patientRef: string;
  readonly entry: AuditEntry;
  readonly record: string | null;
}

/** Registers the route, for auditors and system clients of member organisations. */
export function registerAccessSearch(
  app: FastifyInstance,
  node: NodeFacade,
  auth: AuthServer | undefined,
): void {
  app.get<{ Querystring: Record<string, unknown> }>(
    '/ledger/accesses',
    { onRequest: ledgerGuard(node, auth, 'audit') },
    async (request) => {
      const query = accessQuery(request.query);
      const { hits, scanned } = await scan(node, query);
      return { hits: hits.slice(0, query.limit), scanned, truncated: hits.length > query.limit };
    },
  );
}

function accessQuery(query: Record<string, unknown>): AccessQuery {
  const text = (name: string, pattern: RegExp): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string' || !pattern.test(value))
      throw new ApiError(400, 'bad-request', `${name} is malformed`);
    return value;
  };
  const time = (name: string, fallback: number): number => {
    const value = text(name, /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/);
    const parsed = value === undefined ? fallback : Date.parse(value);
    if (Number.isNaN(parsed))
      throw new ApiError(400, 'bad-request', `${name} must be a date or a UTC instant`);
    return parsed;
  };
  const outcome = text('outcome', /^(permit|deny)$/) as AccessQuery['outcome'];
  const limit = Number(text('limit', /^[1-9][0-9]{0,3}$/) ?? ACCESS_SEARCH_LIMIT_MAX);
  return {
    user: text('user', /^[A-Za-z0-9._-]{1,64}$/),
    since: time('since', 0),
    until: time('until', Number.MAX_SAFE_INTEGER),
    outcome,
    purpose: text('purpose', /^[A-Z]{2,16}$/),
    limit: Math.min(limit, ACCESS_SEARCH_LIMIT_MAX),
  };
}

function matches(entry: AuditEntry, query: AccessQuery): boolean {
  return (
    ACCESS_KINDS.includes(entry.kind) &&
    (query.user === undefined || entry.actor.subject === query.user) &&
    entry.time >= query.since &&
    entry.time < query.until &&
    (query.outcome === undefined || entry.outcome === query.outcome) &&
    (query.purpose === undefined || entry.purpose === query.purpose)
  );
}

/** The newest `limit` hits of `hits` (sorted in place), so a broad search holds a bounded number in memory. */
function newest(hits: AccessHit[], limit: number): AccessHit[] {
  return hits.sort((a, b) => b.entry.time - a.entry.time).slice(0, limit);
}

/** The newest matching entries (one more than `limit`, to tell a truncated answer), and how many entries were read. */
async function scan(
  node: NodeFacade,
  query: AccessQuery,
): Promise<{ hits: AccessHit[]; scanned: number }> {
  const keys = node.ledger.stateKeys(AUDIT_ENTRY_TABLE);
  let hits: AccessHit[] = [];
  for (let at = 0; at < keys.length; at += SLICE) {
    if (at > 0) await yieldToLoop();
    for (const key of keys.slice(at, at + SLICE)) {
      const entry = AUDIT_ENTRIES.get(node.ledger.state, key);
      if (entry === undefined || !matches(entry, query)) continue;
      const patient = key.slice(0, key.lastIndexOf('|'));
      hits.push({
        patient,
        patientRef: `Patient/${fhirPatientOf(node, patient)}`,
        entry,
        record: entry.recordId === null ? null : (fhirReferenceOf(node, entry.recordId) ?? null),
      });
    }
    if (hits.length > 4 * query.limit) hits = newest(hits, query.limit + 1);
  }
  return { hits: newest(hits, query.limit + 1), scanned: keys.length };
}
