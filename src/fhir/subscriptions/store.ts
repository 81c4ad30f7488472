/**
 * Subscriptions and their pending deliveries, in `<data>/subscriptions.db`: node-local, as a
 * FHIR server's subscriptions are (they are not consensus state), and durable, so a delivery
 * still owed when the node stops is retried when it starts again.
 */
import { join } from 'node:path';
import type { Principal } from '../../contracts/index.js';
import type { JsonObject } from '../../ledger/index.js';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';
import type { Topic } from './topics.js';

/** What the backport calls the payload content: no ids at all, or the ids of what changed. */
export type PayloadContent = 'empty' | 'id-only';

export type SubscriptionState = 'requested' | 'active' | 'error' | 'off';

/** A subscription as this node keeps it. */
export interface StoredSubscription {
  readonly id: string;
  readonly owner: Principal;
  readonly topic: Topic;
  /** The FHIR Patient id the filter names, or null for every patient the owner may see. */
  readonly patient: string | null;
  /** For record changes: only records of this type, or null for any. */
  readonly resourceType: string | null;
  readonly channel: 'rest-hook' | 'websocket';
  /** The rest-hook URL; empty for a websocket subscription. */
  readonly endpoint: string;
  readonly headers: readonly string[];
  readonly payload: PayloadContent;
  /** The resource types the subscriber's token read when it subscribed: nothing else is named to it. */
  readonly readableTypes: readonly string[];
  readonly baseUrl: string;
  /** When it was created (ms); absent on a subscription stored before this was kept. */
  readonly createdAt?: number;
  state: SubscriptionState;
  eventsSinceStart: number;
}

/** A notification owed to a subscription's endpoint. */
export interface Delivery {
  readonly id: number;
  readonly subscriptionId: string;
  readonly body: string;
  readonly attempts: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subscription (id TEXT PRIMARY KEY, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivery (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_due ON delivery (next_at, id);
`;

export class SubscriptionStore {
  readonly #db: SqliteDatabase;

  constructor(dataDir: string) {
    this.#db = openDatabase(join(dataDir, 'subscriptions.db'));
    this.#db.exec(SCHEMA);
  }

  all(): StoredSubscription[] {
    return (this.#db.prepare('SELECT row FROM subscription').pluck().all() as string[]).map(
      (row) => JSON.parse(row) as StoredSubscription,
    );
  }

  save(subscription: StoredSubscription): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO subscription (id, row) VALUES (?, ?)')
      .run(subscription.id, JSON.stringify(subscription));
  }

  /** Deletes `id` and whatever is still owed to it. */
  remove(id: string): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM subscription WHERE id = ?').run(id);
      this.#db.prepare('DELETE FROM delivery WHERE subscription_id = ?').run(id);
    })();
  }

  /**
   * Queues the `owed` notifications and saves, as they now stand, their subscriptions and the
   * `notified` ones (a websocket's event count), in one transaction.
   */
  enqueue(
    owed: readonly { subscription: StoredSubscription; body: JsonObject }[],
    notified: readonly StoredSubscription[],
    nowMs: number,
  ): void {
    const insert = this.#db.prepare(
      'INSERT INTO delivery (subscription_id, body, next_at) VALUES (?, ?, ?)',
    );
    this.#db.transaction(() => {
      for (const { subscription, body } of owed)
        insert.run(subscription.id, JSON.stringify(body), nowMs);
      for (const subscription of new Set([...owed.map((o) => o.subscription), ...notified]))
        this.save(subscription);
    })();
  }

  /** The oldest delivery of each subscription, if it is due at `nowMs`: one at a time, in order. */
  due(nowMs: number, limit: number): Delivery[] {
    return this.#db
      .prepare(
        `SELECT d.id AS id, d.subscription_id AS subscriptionId, d.body AS body, d.attempts AS attempts
         FROM delivery d JOIN (SELECT MIN(id) AS id FROM delivery GROUP BY subscription_id) first ON first.id = d.id
         WHERE d.next_at <= ? ORDER BY d.id LIMIT ?`,
      )
      .all(nowMs, limit) as Delivery[];
  }

  delivered(id: number): void {
    this.#db.prepare('DELETE FROM delivery WHERE id = ?').run(id);
  }

  retryAt(id: number, attempts: number, nextAtMs: number): void {
    this.#db
      .prepare('UPDATE delivery SET attempts = ?, next_at = ? WHERE id = ?')
      .run(attempts, nextAtMs, id);
  }

  close(): void {
    this.#db.close();
  }
}
