/**
 * Backend clients an operator registers (SMART Backend Services): a lab system, an analytics
 * job that runs Bulk export. Kept in `<data>/clients.json`, owner-only, and read again at each
 * token request (parsed again when it changed), so an added or removed client counts at once
 * without a restart (a token already issued lives out its lifetime). Only public keys are
 * stored. The file must be owner-only: whoever may write it may register a client.
 */
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
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

/** Who hears that the file went bad (no client is then authenticated) and that it is good again. */
export interface ClientFileHealth {
  fault(reason: string): void;
  repaired(): void;
}

/** Backend clients in a file, behind the clients the node registers itself (`fixed`). */
export class FileClientRegistry implements ClientRegistry {
  /** The file as last loaded, by its inode, size and change time. */
  #loaded: { readonly stamp: string; readonly clients: Map<string, BackendClient> } | undefined;

  /**
   * Throws Error at once when the file is damaged or not owner-only, so the node does not start
   * on it. `health` hears of a file damaged later (it then authenticates no client until fixed)
   * and of its repair.
   */
  constructor(
    private readonly path: string,
    private readonly org: string,
    private readonly fixed: ClientRegistry,
    private readonly health: ClientFileHealth = { fault: () => {}, repaired: () => {} },
  ) {
    this.#load();
  }

  /** The client registered as `clientId`: one of the node's own, else one from the file. */
  async find(clientId: string): Promise<Client | undefined> {
    const own = await this.fixed.find(clientId);
    if (own !== undefined) return own;
    let clients: Map<string, BackendClient>;
    try {
      clients = this.#load();
    } catch (error) {
      this.health.fault(error instanceof Error ? error.message : String(error));
      return undefined;
    }
    this.health.repaired();
    return clients.get(clientId);
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

  /** Every client in the file, in the order added. Throws Error for a file that is not owner-only or not a clients file. */
  list(): StoredClient[] {
    if (!existsSync(this.path)) return [];
    checkOwnerOnly(this.path);
    const parsed = JSON.parse(fromUtf8(readFileSync(this.path))) as { clients?: unknown };
    if (!Array.isArray(parsed.clients))
      throw new Error(`${this.path} is not a clients file: it has no clients array`);
    return parsed.clients as StoredClient[];
  }

  /** The clients of the file, parsed again only when it changed. */
  #load(): Map<string, BackendClient> {
    const stamp = existsSync(this.path) ? stampOf(this.path) : 'absent';
    if (this.#loaded?.stamp === stamp) return this.#loaded.clients;
    const clients = new Map<string, BackendClient>();
    for (const stored of this.list()) {
      try {
        clients.set(stored.clientId, this.#client(stored));
      } catch (error) {
        throw new Error(`${this.path}: client ${String(stored.clientId)}: ${String(error)}`);
      }
    }
    this.#loaded = { stamp, clients };
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

/** What changes when the file is replaced, written or chmodded: its inode, size and change time. */
function stampOf(path: string): string {
  const stat = statSync(path, { bigint: true });
  return `${stat.ino}:${stat.size}:${stat.ctimeNs}`;
}

/**
 * Throws Error unless `path` is a regular file of this process's user that no one else may
 * write: whoever may write it may register a client that reads every record.
 */
function checkOwnerOnly(path: string): void {
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0)
    throw new Error(
      `${path} must be a regular file of this user that no one else may write (chmod 600)`,
    );
}
