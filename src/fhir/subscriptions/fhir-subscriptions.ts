/**
 * Topic-based FHIR Subscriptions (R4 Subscriptions Backport IG) with rest-hook delivery. A
 * committed block's events (topics.ts) are matched against each subscription; a notification is
 * queued only when its owner may see the focus at that moment (a record version by the access
 * decision, made without logging; a trail entry by who reads the trail), and it carries ids
 * only, so nothing a subscriber may not read ever leaves in one. Deliveries are durable and
 * retried with back-off, across restarts, in order per subscription.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { principalKey, type Principal } from '../../contracts/index.js';
import type { JsonObject } from '../../ledger/index.js';
import type { NodeFacade } from '../../node/index.js';
import {
  SUBSCRIPTION_DELIVERY_ATTEMPTS_MAX,
  SUBSCRIPTION_DELIVERY_BATCH_MAX,
  SUBSCRIPTIONS_PER_OWNER_MAX,
} from '../../ledger/index.js';
import { auditEventId } from '../audit-event.js';
import { mayReadTrail } from '../fhir-audit-events.js';
import { defaultPurpose } from '../fhir-records.js';
import { fhirPatientOf, fhirReferenceOf, RELEARNING_RETRY_AFTER_SECONDS } from '../ledger-names.js';
import { FhirError } from '../outcome.js';
import { notificationBundle, statusBundle } from './notification.js';
import { subscriptionOf, subscriptionResource } from './subscription-resource.js';
import { SubscriptionStore, type Delivery, type StoredSubscription } from './store.js';
import { eventsOf, type SubscriptionEvent } from './topics.js';

/** How often due deliveries are looked for when nothing new was queued. */
const DELIVERY_POLL_MS = 250;
const DELIVERY_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MAX_MS = 60_000;
const WS_TOKEN_LIFETIME_MS = 60_000;

/** What an event names, in FHIR terms: its patient, and its record when it has one. */
interface EventNames {
  readonly patient: string;
  readonly record: string | undefined;
}

/**
 * Whether `principal`'s sessions begun at `sinceMs` still stand; undefined while that cannot be
 * told yet (a patient's account, while FHIR ids are relearnt after a crash).
 */
export type SessionCheck = (principal: Principal, sinceMs: number) => boolean | undefined;

export class FhirSubscriptions {
  readonly #store: SubscriptionStore;
  readonly #subscriptions = new Map<string, StoredSubscription>();
  readonly #stopFollowing: () => void;
  readonly #timer: NodeJS.Timeout;
  /** The delivery on its way to each subscription's endpoint: one at a time for each, none waiting on another's. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #closed = false;
  /** Binding tokens handed out for websocket subscriptions: token → subscription and expiry. */
  readonly #tokens = new Map<string, { readonly id: string; readonly expiresAt: number }>();
  /** Sockets bound to each websocket subscription: what sends them a notification. */
  readonly #sockets = new Map<string, Set<(text: string) => void>>();

  /**
   * `sessionActive` says whether a principal's sessions begun at a time still stand (an account
   * disabled, or its sessions ended, says no): a subscription notifies only while the sessions
   * of its owner that created it do.
   */
  constructor(
    private readonly node: NodeFacade,
    private readonly clock: () => number = Date.now,
    private readonly sessionActive: SessionCheck = () => true,
  ) {
    this.#store = new SubscriptionStore(node.dataDir);
    for (const stored of this.#store.all()) {
      // One stored before creation times were kept counts from now, not from the epoch: an
      // account's sessions ended long ago must not silence it.
      const subscription =
        stored.createdAt === undefined ? { ...stored, createdAt: clock() } : stored;
      if (subscription !== stored) this.#store.save(subscription);
      this.#subscriptions.set(subscription.id, subscription);
    }
    // A failure here must not reach the commit that called it (the block is already durable):
    // it is an alarm, and those notifications are lost.
    this.#stopFollowing = node.onCommitted((writeSet) => {
      // Most nodes have no subscriptions: then a block's write set is not even read.
      if (this.#subscriptions.size === 0) return;
      try {
        this.#notify(eventsOf(writeSet));
      } catch (error) {
        node.records.alarm(
          'subscriptions',
          `notifications of a block not queued: ${(error as Error).message}`,
        );
      }
    });
    this.#timer = setInterval(() => this.#kick(), DELIVERY_POLL_MS).unref();
  }

  /** Creates a subscription for `principal` from `resource`; its handshake goes out at once. */
  create(
    principal: Principal,
    resource: JsonObject,
    baseUrl: string,
    readableTypes: readonly string[],
  ): JsonObject {
    const owned = [...this.#subscriptions.values()].filter((s) => sameOwner(s.owner, principal));
    if (owned.length >= SUBSCRIPTIONS_PER_OWNER_MAX)
      throw FhirError.of(
        422,
        'too-costly',
        `at most ${SUBSCRIPTIONS_PER_OWNER_MAX} subscriptions each`,
      );
    const subscription = subscriptionOf(principal, resource, {
      id: randomUUID(),
      baseUrl,
      ownPatient: principal.kind === 'patient' ? fhirPatientOf(this.node, principal.id) : undefined,
      readableTypes,
      createdAt: this.clock(),
    });
    this.#subscriptions.set(subscription.id, subscription);
    if (subscription.channel === 'websocket') this.#store.save(subscription);
    else
      this.#queue([
        { subscription, body: notificationBundle(subscription, 'handshake', this.#now()) },
      ]);
    return subscriptionResource(subscription);
  }

  /** The subscription `id`, to its owner only. */
  read(principal: Principal, id: string): JsonObject {
    return subscriptionResource(this.#own(principal, id));
  }

  /** `GET Subscription/[id]/$status`, to its owner only: its SubscriptionStatus in a searchset Bundle. */
  status(principal: Principal, id: string): JsonObject {
    return statusBundle(this.#own(principal, id), this.#now());
  }

  /** The owner's subscriptions. */
  list(principal: Principal): JsonObject[] {
    return [...this.#subscriptions.values()]
      .filter((s) => sameOwner(s.owner, principal))
      .map(subscriptionResource);
  }

  /** Ends subscription `id` and drops what is still owed to it. */
  delete(principal: Principal, id: string): void {
    this.#own(principal, id);
    this.#subscriptions.delete(id);
    this.#sockets.delete(id);
    this.#store.remove(id);
  }

  /**
   * A token that binds a websocket to subscription `id` (the backport's
   * $get-ws-binding-token), for its owner, valid for a minute.
   */
  bindingToken(principal: Principal, id: string): { token: string; expiresAt: number } {
    const subscription = this.#own(principal, id);
    if (subscription.channel !== 'websocket')
      throw FhirError.of(422, 'invalid', 'only a websocket subscription takes a binding token');
    for (const [stale, binding] of this.#tokens)
      if (binding.expiresAt < this.clock()) this.#tokens.delete(stale);
    if ([...this.#tokens.values()].filter((binding) => binding.id === id).length >= 8)
      throw FhirError.of(429, 'throttled', 'too many unused binding tokens for this subscription');
    const token = randomBytes(32).toString('hex');
    const expiresAt = this.clock() + WS_TOKEN_LIFETIME_MS;
    this.#tokens.set(token, { id, expiresAt });
    return { token, expiresAt };
  }

  /**
   * Binds a socket that sent `bind-with-token <token>`: it gets the handshake now and every
   * notification from then on. Returns the unbinding, or undefined for an unknown or expired token.
   */
  bind(token: string, send: (text: string) => void): (() => void) | undefined {
    const binding = this.#tokens.get(token);
    this.#tokens.delete(token);
    const subscription = binding === undefined ? undefined : this.#subscriptions.get(binding.id);
    if (binding === undefined || binding.expiresAt < this.clock() || subscription === undefined)
      return undefined;
    const sockets = this.#sockets.get(subscription.id) ?? new Set();
    this.#sockets.set(subscription.id, sockets.add(send));
    send(JSON.stringify(notificationBundle(subscription, 'handshake', this.#now())));
    return () => sockets.delete(send);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopFollowing();
    clearInterval(this.#timer);
    await Promise.all(this.#inFlight.values());
    this.#store.close();
  }

  #own(principal: Principal, id: string): StoredSubscription {
    const subscription = this.#subscriptions.get(id);
    if (subscription === undefined || !sameOwner(subscription.owner, principal))
      throw FhirError.of(404, 'not-found', `Subscription/${id} is not known`);
    return subscription;
  }

  /** Queues a notification for each live subscription that matches an event its owner may see. */
  #notify(events: readonly SubscriptionEvent[]): void {
    const owed: { subscription: StoredSubscription; body: JsonObject }[] = [];
    const notified = new Set<StoredSubscription>();
    for (const event of events) {
      // Looked up once per event, not once per subscription.
      const named: EventNames = {
        patient: fhirPatientOf(this.node, event.patientId),
        record:
          event.focus.kind === 'record'
            ? fhirReferenceOf(this.node, event.focus.recordId)
            : undefined,
      };
      for (const subscription of this.#subscriptions.values()) {
        const focus = this.#visibleFocus(subscription, event, named);
        if (focus === undefined) continue;
        subscription.eventsSinceStart += 1;
        const eventNumber = subscription.eventsSinceStart;
        const body = notificationBundle(subscription, 'event-notification', this.#now(), {
          eventNumber,
          focus,
        });
        // A websocket gets its notification now, if one is bound; a missed one shows as a gap in event numbers.
        if (subscription.channel === 'websocket') this.#sendToSockets(subscription, body);
        else owed.push({ subscription, body });
        notified.add(subscription);
      }
    }
    if (notified.size === 0) return;
    // One transaction: the deliveries owed and every notified subscription's event count.
    this.#store.enqueue(owed, [...notified], this.clock());
    this.#kick();
  }

  /** The focus URL when `event` matches `subscription` and its owner may see it; else undefined. */
  #visibleFocus(
    subscription: StoredSubscription,
    event: SubscriptionEvent,
    named: EventNames,
  ): string | undefined {
    if (
      subscription.state === 'off' ||
      subscription.state === 'error' ||
      subscription.topic !== event.topic
    )
      return undefined;
    if (subscription.patient !== null && subscription.patient !== named.patient) return undefined;
    const owner = subscription.owner;
    // Not told yet (ids being relearnt): a rest-hook notification is queued, and asked about
    // again before it is sent (#deliver); a websocket one, sent at once, is not made.
    const active = this.#ownerActive(subscription);
    if (active === false || (active === undefined && subscription.channel === 'websocket'))
      return undefined;
    if (event.focus.kind === 'audit' && !subscription.readableTypes.includes('AuditEvent'))
      return undefined;
    if (event.focus.kind === 'audit')
      return mayReadTrail(owner, event.patientId)
        ? `${subscription.baseUrl}/AuditEvent/${auditEventId(event.patientId, event.focus.seq)}`
        : undefined;
    const reference = named.record;
    if (reference === undefined) return undefined;
    if (
      !subscription.readableTypes.includes(reference.split('/')[0]!) ||
      (subscription.resourceType !== null && !reference.startsWith(`${subscription.resourceType}/`))
    )
      return undefined;
    const decision = this.node
      .as(owner, defaultPurpose(owner))
      .decide(event.focus.recordId, { version: event.focus.version });
    return decision.outcome === 'permit' ? `${subscription.baseUrl}/${reference}` : undefined;
  }

  #sendToSockets(subscription: StoredSubscription, body: JsonObject): void {
    const text = JSON.stringify(body);
    for (const send of this.#sockets.get(subscription.id) ?? []) send(text);
  }

  #queue(owed: readonly { subscription: StoredSubscription; body: JsonObject }[]): void {
    this.#store.enqueue(owed, [], this.clock());
    this.#kick();
  }

  /** Starts the due delivery of each subscription that has none on its way. */
  #kick(): void {
    if (this.#closed) return;
    let due: Delivery[];
    try {
      due = this.#store.due(this.clock(), SUBSCRIPTION_DELIVERY_BATCH_MAX);
    } catch (error) {
      return this.#alarm(`deliveries paused: ${(error as Error).message}`);
    }
    for (const delivery of due) {
      const id = delivery.subscriptionId;
      if (this.#inFlight.has(id)) continue;
      const sending = this.#deliver(delivery)
        .catch((error: unknown) => this.#alarm(`a delivery failed: ${(error as Error).message}`))
        .finally(() => {
          this.#inFlight.delete(id);
          this.#kick();
        });
      this.#inFlight.set(id, sending);
    }
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const subscription = this.#subscriptions.get(delivery.subscriptionId);
    const active = subscription === undefined ? false : this.#ownerActive(subscription);
    // Whether its owner's sessions stand cannot be told yet: kept, and asked again shortly.
    if (active === undefined) {
      const nextAtMs = this.clock() + RELEARNING_RETRY_AFTER_SECONDS * 1000;
      return this.#store.retryAt(delivery.id, delivery.attempts, nextAtMs);
    }
    // Gone, or its owner's sessions have ended since it was queued: dropped, never sent.
    if (subscription === undefined || !active) return this.#store.delivered(delivery.id);
    if (await post(subscription, delivery.body)) return this.#delivered(subscription, delivery.id);
    this.#failed(subscription, delivery.id, delivery.attempts + 1);
  }

  /** Whether the sessions of its owner that created `subscription` still stand (see SessionCheck). */
  #ownerActive(subscription: StoredSubscription): boolean | undefined {
    return this.sessionActive(subscription.owner, subscription.createdAt ?? 0);
  }

  #alarm(reason: string): void {
    this.node.records.alarm('subscriptions', reason);
  }

  #delivered(subscription: StoredSubscription, deliveryId: number): void {
    this.#store.delivered(deliveryId);
    // Deleted while its delivery was in flight: it must not come back.
    if (subscription.state !== 'requested' || !this.#live(subscription)) return;
    subscription.state = 'active';
    this.#store.save(subscription);
  }

  /** Backs off, doubling from a second to a minute; past the attempts allowed, the subscription errs. */
  #failed(subscription: StoredSubscription, deliveryId: number, attempts: number): void {
    if (attempts < SUBSCRIPTION_DELIVERY_ATTEMPTS_MAX) {
      const delayMs = Math.min(RETRY_DELAY_MAX_MS, 1000 * 2 ** (attempts - 1));
      return this.#store.retryAt(deliveryId, attempts, this.clock() + delayMs);
    }
    if (!this.#live(subscription)) return;
    subscription.state = 'error';
    this.#store.remove(subscription.id);
    this.#store.save(subscription);
  }

  #live(subscription: StoredSubscription): boolean {
    return this.#subscriptions.get(subscription.id) === subscription;
  }

  #now(): string {
    return new Date(this.clock()).toISOString();
  }
}

/** POSTs `body` to the subscription's endpoint; true on a 2xx. */
async function post(subscription: StoredSubscription, body: string): Promise<boolean> {
  const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
  for (const header of subscription.headers) {
    const colon = header.indexOf(':');
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  try {
    const response = await fetch(subscription.endpoint, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      // A redirect would lead around the endpoint's checks (to plain http, or inside the network).
      redirect: 'manual',
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** The same principal, and for a system principal the same client: one of an organisation's systems does not see another's subscriptions. */
function sameOwner(a: Principal, b: Principal): boolean {
  return principalKey(a) === principalKey(b);
}
