/** What the REST layer needs from each kind of resource: records, Consent, the read-only ledger views. */
import type { Principal, VersionRow } from '../contracts/index.js';
import { FhirError } from './outcome.js';
import type { JsonObject } from '../ledger/index.js';

/** One version of a resource as served: the resource with id and meta, and the transaction that anchors it. */
export interface ServedVersion {
  readonly resource: JsonObject;
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly txId: string;
  /** For a search hit: what let the caller read it, as the access contract decided (consent, home-organisation, break-the-glass, …). */
  readonly basis?: string;
}

/** A history entry: a served version, or a deletion. */
export type HistoryEntry = ServedVersion | { readonly deleted: VersionRow };

/** The instance interactions of one or more resource types. */
export interface TypeHandler {
  create(principal: Principal, resource: JsonObject): Promise<ServedVersion>;
  read(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
    versionId?: number,
  ): Promise<ServedVersion>;
  update(
    principal: Principal,
    type: string,
    id: string,
    resource: JsonObject,
    ifMatch?: number,
  ): Promise<ServedVersion & { created: boolean }>;
  delete(principal: Principal, type: string, id: string): Promise<number | undefined>;
  history(principal: Principal, type: string, id: string, purpose: string): Promise<HistoryEntry[]>;
}

/** A type clients only read: writes are 405, and its history is its one version. */
export abstract class ReadOnlyHandler implements TypeHandler {
  /** Why clients do not write this type, for the 405's diagnostics. */
  protected abstract readonly readOnlyBecause: string;

  abstract read(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
    versionId?: number,
  ): Promise<ServedVersion>;

  async create(): Promise<ServedVersion> {
    throw FhirError.of(405, 'not-supported', this.readOnlyBecause);
  }

  async update(): Promise<ServedVersion & { created: boolean }> {
    throw FhirError.of(405, 'not-supported', this.readOnlyBecause);
  }

  async delete(): Promise<number | undefined> {
    throw FhirError.of(405, 'not-supported', this.readOnlyBecause);
  }

  async history(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
  ): Promise<HistoryEntry[]> {
    return [await this.read(principal, type, id, purpose)];
  }
}
