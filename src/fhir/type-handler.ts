/** What the REST layer needs from each kind of resource: records, Consent, the read-only ledger views. */
import type { Principal, VersionRow } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';

/** One version of a resource as served: the resource with id and meta, and the transaction that anchors it. */
export interface ServedVersion {
  readonly resource: JsonObject;
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly txId: string;
}

/** A history entry: a served version, or a deletion. */
export type HistoryEntry = ServedVersion | { readonly deleted: VersionRow };

/** The instance interactions of one or more resource types. */
export interface TypeHandler {
  create(principal: Principal, resource: JsonObject): Promise<ServedVersion>;
  read(principal: Principal, type: string, id: string, purpose: string, versionId?: number): Promise<ServedVersion>;
  update(principal: Principal, type: string, id: string, resource: JsonObject, ifMatch?: number): Promise<ServedVersion & { created: boolean }>;
  delete(principal: Principal, type: string, id: string): Promise<number | undefined>;
  history(principal: Principal, type: string, id: string, purpose: string): Promise<HistoryEntry[]>;
}
