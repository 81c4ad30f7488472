/**
 * Which organisations may fetch a ciphertext from this node: those holding a key envelope on
 * a version with that ciphertext hash, wrapped to the organisation's own encryption key (any
 * generation) or to one of its practitioners'. Node-local and derived from committed state:
 * built from the state tables at start and followed block by block.
 */
import { ORG_TABLE, PRACTITIONER_TABLE, VERSION_TABLE, type OrgRow, type PractitionerRow, type VersionRow, type WriteSetEntry } from '../contracts/index.js';
import type { ChainStore } from '../storage/index.js';

/** Ciphertext hash → envelope recipients, and encryption key → the organisation holding it. */
export class BlobAccessIndex {
  readonly #recipients = new Map<string, Set<string>>();
  readonly #keyOwners = new Map<string, string>();

  /** Learns everything in `chain`'s committed state (a scan of three tables: once, at start, after state recovery). */
  load(chain: ChainStore): void {
    for (const table of [ORG_TABLE, PRACTITIONER_TABLE, VERSION_TABLE]) {
      for (const key of chain.stateKeys(table)) this.#observe(table, key, chain.state.get(table, key));
    }
  }

  /** Follows a committed block's writes. */
  observe(writeSet: readonly WriteSetEntry[]): void {
    for (const [table, key, value] of writeSet) this.#observe(table, key, value);
  }

  /** True when organisation `orgId` holds an envelope on some version whose ciphertext is `hash`. */
  mayFetch(orgId: string, hash: string): boolean {
    for (const recipient of this.#recipients.get(hash) ?? []) if (this.#keyOwners.get(recipient) === orgId) return true;
    return false;
  }

  /** The organisation holding encryption key `recipient` (hex), if any. */
  ownerOf(recipient: string): string | undefined {
    return this.#keyOwners.get(recipient);
  }

  #observe(table: string, _key: string, value: unknown): void {
    if (value === null || value === undefined) return;
    if (table === ORG_TABLE) {
      const org = value as OrgRow;
      this.#keyOwners.set(org.encryptionKey, org.orgId);
    } else if (table === PRACTITIONER_TABLE) {
      const practitioner = value as PractitionerRow;
      this.#keyOwners.set(practitioner.encryptionKey, practitioner.org);
    } else if (table === VERSION_TABLE) {
      const version = value as VersionRow;
      if (version.ciphertextHash === null) return;
      let recipients = this.#recipients.get(version.ciphertextHash);
      if (recipients === undefined) this.#recipients.set(version.ciphertextHash, (recipients = new Set()));
      for (const envelope of version.envelopes) recipients.add(envelope.recipient);
    }
  }
}
