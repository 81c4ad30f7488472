/**
 * Backend clients an operator registers (SMART Backend Services): a lab system, an analytics
 * job that runs Bulk export. Kept in `<data>/clients.json`, owner-only, and read again at each
 * token request, so an added or removed client counts at once without a restart (a token
 * already issued lives out its lifetime). Only public keys are stored.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { fromUtf8, utf8 } from '../../crypto/index.js';
import { writeFileDurably } from '../../storage/index.js';
import { backendClient, type BackendClient, type Client, type ClientRegistry } from './clients.js';

/** The file, under the node's data directory. */
export const CLIENTS_FILE = 'clients.json';

/** One registered client as the file holds it. */
export interface StoredClient {
  readonly clientId: string;
  readonly jwks: JSONWebKeySet;
  /** The most it may be granted: `system/` scopes, space-separated. */
  readonly scope: string;
  /** When it was added (ISO 8601). */
  readonly addedAt: string;
}

/** Backend clients in a file, behind the clients the node registers itself (`fixed`). */
export class FileClientRegistry implements ClientRegistry {
  constructor(
    private readonly path: string,
    private readonly org: string,
    private readonly fixed: ClientRegistry,
  ) {
    this.#load(); // a damaged file stops the node at start, naming itself
  }

  /** The client registered as `clientId`: one of the node's own, else one from the file. */
  async find(clientId: string): Promise<Client | undefined> {
    const own = await this.fixed.find(clientId);
    if (own !== undefined) return own;
    try {
      return this.#load().get(clientId);
    } catch {
      return undefined; // a file damaged since start authenticates nobody
    }
  }

  /** Registers a client with the node's own (not kept in the file). */
  async register(client: Client): Promise<void> {
    await this.fixed.register(client);
  }

  /** Adds `stored` to the file; throws Error for a taken id, TypeError for a bad key set or scope. */
  async add(stored: Omit<StoredClient, 'addedAt'>): Promise<StoredClient> {
    this.#client(stored);
    if ((await this.find(stored.clientId)) !== undefined)
      throw new Error(`client_id ${stored.clientId} is already registered`);
    const added = { ...stored, addedAt: new Date().toISOString() };
    this.#write([...this.list(), added]);
    return added;
  }

  /** Removes `clientId` from the file; false when it was not there. */
  remove(clientId: string): boolean {
    const all = this.list();
    const kept = all.filter((client) => client.clientId !== clientId);
    if (kept.length === all.length) return false;
    this.#write(kept);
    return true;
  }

  /** Every client in the file, in the order added. */
  list(): StoredClient[] {
    if (!existsSync(this.path)) return [];
    const parsed = JSON.parse(fromUtf8(readFileSync(this.path))) as { clients?: unknown };
    if (!Array.isArray(parsed.clients))
      throw new Error(`${this.path} is not a clients file: it has no clients array`);
    return parsed.clients as StoredClient[];
  }

  #load(): Map<string, BackendClient> {
    const clients = new Map<string, BackendClient>();
    for (const stored of this.list()) {
      try {
        clients.set(stored.clientId, this.#client(stored));
      } catch (error) {
        throw new Error(`${this.path}: client ${String(stored.clientId)}: ${String(error)}`);
      }
    }
    return clients;
  }

  #client(stored: Omit<StoredClient, 'addedAt'>): BackendClient {
    return backendClient({
      clientId: stored.clientId,
      org: this.org,
      jwks: stored.jwks,
      scope: stored.scope,
    });
  }

  #write(clients: readonly StoredClient[]): void {
    writeFileDurably(this.path, utf8(JSON.stringify({ clients }, null, 2) + '\n'));
  }
}
