/**
 * Which organisations may fetch a ciphertext from this node: those holding a key envelope on
 * a version or a sealed note with that ciphertext hash, wrapped to the organisation's own
 * encryption key (any generation), to one of its practitioners', or to a patient it keeps the
 * keys of (custodial, at their home organisation). Node-local and derived from committed
 * state: the key owners are built from three membership tables at start and followed block by
 * block; a hash's envelopes are looked up in state when asked (blob-anchors.ts), so memory and
 * start time do not grow with the number of versions.
 */
import {
  ORG_TABLE,
  PATIENT_TABLE,
  PRACTITIONER_TABLE,
  type KeyEnvelope,
  type OrgRow,
  type PatientRow,
  type PractitionerRow,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { ChainStore } from '../storage/index.js';

/** The key envelopes committed state holds on a ciphertext hash, or undefined when nothing names it. */
export type EnvelopeLookup = (hash: string) => readonly KeyEnvelope[] | undefined;

/** Encryption key → the organisation holding it, and who may fetch which ciphertext. */
export class BlobAccessIndex {
  readonly #keyOwners = new Map<string, string>();

  constructor(private readonly envelopesOf: EnvelopeLookup) {}

  /** Learns every key owner in `chain`'s committed state (once, at start, after state recovery). */
  load(chain: ChainStore): void {
    for (const table of [ORG_TABLE, PRACTITIONER_TABLE, PATIENT_TABLE]) {
      for (const key of chain.stateKeys(table)) this.#observe(table, chain.state.get(table, key));
    }
  }

  /** Follows a committed block's writes. */
  observe(writeSet: readonly WriteSetEntry[]): void {
    for (const [table, , value] of writeSet) this.#observe(table, value);
  }

  /** True when organisation `orgId` holds an envelope on some version or note whose ciphertext is `hash`. */
  mayFetch(orgId: string, hash: string): boolean {
    return (this.envelopesOf(hash) ?? []).some(
      (envelope) => this.#keyOwners.get(envelope.recipient) === orgId,
    );
  }

  /** The organisation holding encryption key `recipient` (hex), if any. */
  ownerOf(recipient: string): string | undefined {
    return this.#keyOwners.get(recipient);
  }

  #observe(table: string, value: unknown): void {
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
    }
  }

  /** The first holder of a key keeps it: a later registration naming someone else's key must not take it over. */
  #own(key: string, orgId: string): void {
    if (!this.#keyOwners.has(key)) this.#keyOwners.set(key, orgId);
  }
}
