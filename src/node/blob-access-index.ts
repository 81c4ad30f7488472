/**
 * Which organisations may fetch a ciphertext from this node: those holding a key envelope on
 * a version or a sealed note with that ciphertext hash, wrapped to the organisation's own
 * encryption key (any generation), to one of its practitioners', or to a patient it keeps the
 * keys of (custodial, at their home organisation). Node-local and derived from committed
 * state: built from the state tables at start and followed block by block.
 */
import {
  BTG_TABLE,
  sealedNotesOf,
  ORG_TABLE,
  PATIENT_TABLE,
  PRACTITIONER_TABLE,
  VERSION_TABLE,
  type BreakTheGlassRow,
  type KeyEnvelope,
  type OrgRow,
  type PatientRow,
  type PractitionerRow,
  type VersionRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { ChainStore } from '../storage/index.js';

/** Ciphertext hash → envelope recipients, and encryption key → the organisation holding it. */
export class BlobAccessIndex {
  readonly #recipients = new Map<string, Set<string>>();
  readonly #keyOwners = new Map<string, string>();

  /** Learns everything in `chain`'s committed state (a scan of five tables: once, at start, after state recovery). */
  load(chain: ChainStore): void {
    for (const table of [ORG_TABLE, PRACTITIONER_TABLE, PATIENT_TABLE, VERSION_TABLE, BTG_TABLE]) {
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
      this.#own(org.encryptionKey, org.orgId);
    } else if (table === PRACTITIONER_TABLE) {
      const practitioner = value as PractitionerRow;
      this.#own(practitioner.encryptionKey, practitioner.org);
    } else if (table === PATIENT_TABLE) {
      const patient = value as PatientRow;
      if (patient.custody === 'custodial') this.#own(patient.encryptionKey, patient.homeOrg);
    } else if (table === VERSION_TABLE) {
      const version = value as VersionRow;
      if (version.ciphertextHash !== null) this.#learn(version.ciphertextHash, version.envelopes);
    } else if (table === BTG_TABLE) {
      for (const note of sealedNotesOf(value as BreakTheGlassRow)) this.#learn(note.ciphertextHash, note.envelopes);
    }
  }

  /** The first holder of a key keeps it: a later registration naming someone else's key must not take it over. */
  #own(key: string, orgId: string): void {
    if (!this.#keyOwners.has(key)) this.#keyOwners.set(key, orgId);
  }

  #learn(hash: string, envelopes: readonly KeyEnvelope[]): void {
    let recipients = this.#recipients.get(hash);
    if (recipients === undefined) this.#recipients.set(hash, (recipients = new Set()));
    for (const envelope of envelopes) recipients.add(envelope.recipient);
  }
}
