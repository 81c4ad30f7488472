/**
 * The R4 Subscription resource as the Backport IG profiles it, read into what this node keeps
 * (store.ts) and written back. Every refusal is a 422 naming the element.
 */
import { isIP, isIPv4 } from 'node:net';
import type { Principal } from '../../contracts/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { readsTrails } from '../fhir-audit-events.js';
import { FhirError } from '../outcome.js';
import { isResourceTypeName } from '../patient-of.js';
import type { PayloadContent, StoredSubscription } from './store.js';
import { TOPIC_URLS, TOPICS, type Topic } from './topics.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;
const PROFILE = `${BACKPORT}/backport-subscription`;
const AUDIT_TOPICS: readonly string[] = [
  TOPICS.recordAccessed,
  TOPICS.breakTheGlass,
  TOPICS.consentChanged,
];

/** What this node keeps of `resource`, a Subscription `owner` asks for. */
export function subscriptionOf(
  owner: Principal,
  resource: JsonObject,
  context: {
    readonly id: string;
    readonly baseUrl: string;
    readonly ownPatient: string | undefined;
    readonly readableTypes: readonly string[];
    readonly createdAt: number;
  },
): StoredSubscription {
  const topic = resource['criteria'];
  if (typeof topic !== 'string' || !TOPIC_URLS.includes(topic))
    throw invalid(
      `criteria must be one of the topics ${TOPIC_URLS.join(', ')}`,
      'Subscription.criteria',
    );
  const filter = filterOf(resource);
  const patient = context.ownPatient ?? filter.patient;
  if (
    context.ownPatient !== undefined &&
    filter.patient !== null &&
    filter.patient !== context.ownPatient
  )
    throw FhirError.of(403, 'forbidden', 'a patient subscribes to their own records only');
  if (AUDIT_TOPICS.includes(topic) && !readsTrails(owner))
    throw FhirError.of(
      403,
      'forbidden',
      'only the patient, auditors and system clients follow a patient trail',
    );
  const channel = objectAt(resource, 'channel', 'Subscription.channel');
  const websocket = channel['type'] === 'websocket';
  // A rest-hook makes this node send requests where its owner says: not for a patient's
  // account, whose second factor is optional; their app listens on a websocket instead.
  if (!websocket && owner.kind === 'patient')
    throw FhirError.of(
      403,
      'forbidden',
      'a patient subscribes over a websocket channel; rest-hooks are for staff and systems',
    );
  return {
    id: context.id,
    owner,
    topic: topic as Topic,
    patient,
    resourceType: filter.resourceType,
    channel: websocket ? 'websocket' : 'rest-hook',
    endpoint: websocket ? '' : endpointOf(channel),
    headers: headersOf(channel),
    payload: payloadOf(channel),
    readableTypes: context.readableTypes,
    baseUrl: context.baseUrl,
    createdAt: context.createdAt,
    // A websocket subscription is live as soon as it exists; its handshake goes to each bound socket.
    state: websocket ? 'active' : 'requested',
    eventsSinceStart: 0,
  };
}

/** The Subscription resource for `subscription`, as served. */
export function subscriptionResource(subscription: StoredSubscription): JsonObject {
  const filter = [
    subscription.resourceType === null ? '' : `${subscription.resourceType}?`,
    subscription.patient === null ? '' : `patient=Patient/${subscription.patient}`,
  ].join('');
  return {
    resourceType: 'Subscription',
    id: subscription.id,
    meta: { profile: [PROFILE] },
    status: subscription.state,
    reason: 'ChartChain notifications',
    criteria: subscription.topic,
    ...(filter === ''
      ? {}
      : { _criteria: { extension: [{ url: FILTER_CRITERIA, valueString: filter }] } }),
    channel: {
      type: subscription.channel,
      ...(subscription.channel === 'rest-hook' ? { endpoint: subscription.endpoint } : {}),
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: subscription.payload }] },
      ...(subscription.headers.length === 0 ? {} : { header: ['(set; not shown)'] }),
    },
  };
}

/** The filter criteria: `[Type?]patient=Patient/[id]`, both parts optional. */
function filterOf(resource: JsonObject): { patient: string | null; resourceType: string | null } {
  const criteria = extensionValue(resource['_criteria'], FILTER_CRITERIA, 'valueString');
  if (criteria === undefined) return { patient: null, resourceType: null };
  const match = /^(?:([A-Z][A-Za-z]+)\?)?(?:patient=(?:Patient\/)?([A-Za-z0-9.-]{1,64}))?$/.exec(
    criteria,
  );
  if (match === null || (match[1] !== undefined && !isResourceTypeName(match[1])))
    throw invalid(
      'the filter criteria must be [type?]patient=Patient/[id]',
      'Subscription.criteria',
    );
  return { resourceType: match[1] ?? null, patient: match[2] ?? null };
}

function endpointOf(channel: JsonObject): string {
  if (channel['type'] !== 'rest-hook')
    throw invalid('channel.type must be rest-hook or websocket', 'Subscription.channel.type');
  const endpoint = channel['endpoint'];
  let url: URL;
  try {
    url = new URL(String(endpoint));
  } catch {
    throw invalid('channel.endpoint must be a URL', 'Subscription.channel.endpoint');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === '::1' || (isIPv4(host) && host.startsWith('127.'));
  // An address literal inside a private network is refused: a subscription must not become a
  // way to make this node call services behind its firewall. (Plain http only to this machine.)
  if (url.protocol === 'https:' && isIP(host) !== 0 && !loopback && isPrivateAddress(host))
    throw invalid(
      'channel.endpoint must not be a private network address',
      'Subscription.channel.endpoint',
    );
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw invalid(
      'channel.endpoint must be https (plain http only to this machine)',
      'Subscription.channel.endpoint',
    );
  return url.toString();
}

function headersOf(channel: JsonObject): string[] {
  const headers = channel['header'] ?? [];
  if (
    !Array.isArray(headers) ||
    !headers.every(
      (header) => typeof header === 'string' && /^[A-Za-z0-9-]+:[^\r\n]*$/.test(header),
    )
  )
    throw invalid('channel.header must be a list of "Name: value"', 'Subscription.channel.header');
  const names = (headers as string[]).map((header) =>
    header.slice(0, header.indexOf(':')).toLowerCase(),
  );
  if (names.some((name) => RESERVED_HEADERS.has(name)))
    throw invalid(
      `channel.header may not set ${[...RESERVED_HEADERS].join(', ')}`,
      'Subscription.channel.header',
    );
  return headers as string[];
}

/** Headers the node sets itself on a notification; a subscriber may not. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
]);

/** IPv4 10/8, 172.16/12, 192.168/16, 169.254/16, 0/8, and IPv6 unique-local and link-local. */
function isPrivateAddress(host: string): boolean {
  if (isIPv4(host)) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return (
      a === 10 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254)
    );
  }
  return /^(fc|fd|fe8|fe9|fea|feb)/i.test(host) || host === '::';
}

/** id-only (the default) or empty; full-resource would carry content without a logged read. */
function payloadOf(channel: JsonObject): PayloadContent {
  const payload = channel['payload'];
  if (
    payload !== undefined &&
    payload !== 'application/fhir+json' &&
    payload !== 'application/json'
  )
    throw invalid('channel.payload must be application/fhir+json', 'Subscription.channel.payload');
  const content = extensionValue(channel['_payload'], PAYLOAD_CONTENT, 'valueCode') ?? 'id-only';
  if (content === 'full-resource')
    throw invalid(
      'notifications carry ids only (id-only or empty): read the focus, which is consent-checked and logged',
      'Subscription.channel.payload',
    );
  if (content !== 'id-only' && content !== 'empty')
    throw invalid('payload content must be id-only or empty', 'Subscription.channel.payload');
  return content;
}

function extensionValue(element: unknown, url: string, key: string): string | undefined {
  const extensions = (element as { extension?: unknown } | undefined)?.extension;
  if (!Array.isArray(extensions)) return undefined;
  const found = extensions.find((extension) => (extension as { url?: unknown })?.url === url) as
    Record<string, unknown> | undefined;
  return typeof found?.[key] === 'string' ? (found[key] as string) : undefined;
}

function objectAt(resource: JsonObject, key: string, expression: string): JsonObject {
  const value = resource[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${key} is required`, expression);
  return value;
}

function invalid(diagnostics: string, expression: string): FhirError {
  return FhirError.of(422, 'invalid', diagnostics, [expression]);
}
