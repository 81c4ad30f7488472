/**
 * Notification Bundles (R4 Subscriptions Backport IG, notifications): a `history` Bundle whose
 * first entry is the SubscriptionStatus (a Parameters resource in R4), then, for id-only
 * payloads, one entry per focus naming it by URL and carrying no resource: the subscriber reads
 * it, through the consent-checked, logged path like any read.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../../ledger/index.js';
import type { StoredSubscription } from './store.js';

const STATUS_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export type NotificationType = 'handshake' | 'event-notification' | 'query-status';

/** `subscription`'s SubscriptionStatus (a Parameters resource in R4), of `type`, with the event it announces, if any. */
export function subscriptionStatus(
  subscription: StoredSubscription,
  type: NotificationType,
  timestamp: string,
  event?: { readonly eventNumber: number; readonly focus: string },
): JsonObject {
  const withFocus = namesFocus(subscription, event);
  return {
    resourceType: 'Parameters',
    meta: { profile: [STATUS_PROFILE] },
    parameter: [
      { name: 'subscription', valueReference: { reference: urlOf(subscription) } },
      { name: 'topic', valueCanonical: subscription.topic },
      { name: 'status', valueCode: subscription.state },
      { name: 'type', valueCode: type },
      {
        name: 'events-since-subscription-start',
        valueString: String(subscription.eventsSinceStart),
      },
      ...(event === undefined
        ? []
        : [
            {
              name: 'notification-event',
              part: [
                { name: 'event-number', valueString: String(event.eventNumber) },
                { name: 'timestamp', valueInstant: timestamp },
                ...(withFocus
                  ? [{ name: 'focus', valueReference: { reference: event.focus } }]
                  : []),
              ],
            },
          ]),
    ],
  };
}

/** `GET Subscription/[id]/$status`: a searchset Bundle holding the subscription's status. */
export function statusBundle(subscription: StoredSubscription, timestamp: string): JsonObject {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp,
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: subscriptionStatus(subscription, 'query-status', timestamp),
        search: { mode: 'match' },
      },
    ],
  };
}

/** Whether a notification of `event` names its focus: id-only payloads do, empty ones do not. */
function namesFocus(
  subscription: StoredSubscription,
  event: { readonly focus: string } | undefined,
): event is { readonly eventNumber: number; readonly focus: string } {
  return event !== undefined && subscription.payload === 'id-only';
}

function urlOf(subscription: StoredSubscription): string {
  return `${subscription.baseUrl}/Subscription/${subscription.id}`;
}

/** The Bundle for `subscription`: a handshake, or event number `eventNumber` about `focus` (a full URL). */
export function notificationBundle(
  subscription: StoredSubscription,
  type: NotificationType,
  timestamp: string,
  event?: { readonly eventNumber: number; readonly focus: string },
): JsonObject {
  const url = urlOf(subscription);
  const withFocus = namesFocus(subscription, event);
  const status = subscriptionStatus(subscription, type, timestamp, event);
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp,
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: status,
        request: { method: 'GET', url: `${url}/$status` },
        response: { status: '200' },
      },
      ...(withFocus
        ? [
            {
              fullUrl: event.focus,
              request: { method: 'PUT', url: event.focus },
              response: { status: '200' },
            },
          ]
        : []),
    ],
  };
}
