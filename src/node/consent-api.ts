/**
 * Consent on the home node of custodial patients: grants, updates, revocations, restrictions
 * of the home organisation and the break-the-glass choice, signed with the patient's key inside their session; and, when a grant
 * commits, the automatic key sharing that makes it effective (DESIGN.md, Encryption).
 */
import {
  CONSENT_GRANT,
  CONSENT_LIFT_RESTRICTION,
  CONSENT_RESTRICT,
  CONSENT_REVOKE,
  CONSENT_SET_BREAK_THE_GLASS,
  CONSENT_UPDATE,
  GRANTS,
  grantsOf,
  PATIENTS,
  RECORDS_SHARE_KEYS,
  restrictionsOf,
  type GrantRow,
  type GrantTerms,
  type RestrictionRow,
  type RestrictionTerms,
  type TxBuilder,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { AccessHost } from './access-api.js';
import { keyShares } from './key-sharing.js';

/** Consent operations of custodial patients whose keys this node holds. */
export class NodeConsent {
  /** Key-share transactions submitted and not yet committed, so a failure can be reported. */
  readonly #sharing = new Set<Promise<void>>();

  constructor(private readonly host: AccessHost) {}

  /** Every grant of `patientId`, active or revoked. */
  grantsOf(patientId: string): GrantRow[] {
    return grantsOf(this.host.chain.state, patientId);
  }

  /** Grants `terms` as `grantId`; resolves with the committed status. */
  grant(patientId: string, grantId: string, terms: GrantTerms): Promise<string> {
    return this.#commit(patientId, CONSENT_GRANT, { grantId, terms });
  }

  /** Replaces the terms of an active grant; resolves with the committed status. */
  update(patientId: string, grantId: string, terms: GrantTerms): Promise<string> {
    return this.#commit(patientId, CONSENT_UPDATE, { grantId, terms });
  }

  /** Revokes a grant from the next block on; resolves with the committed status. */
  revoke(patientId: string, grantId: string): Promise<string> {
    return this.#commit(patientId, CONSENT_REVOKE, { grantId });
  }

  /** Every restriction of `patientId`, active or lifted. */
  restrictionsOf(patientId: string): RestrictionRow[] {
    return restrictionsOf(this.host.chain.state, patientId);
  }

  /** Withholds what `terms` cover from the patient's home organisation, as `restrictionId`; resolves with the committed status. */
  restrict(patientId: string, restrictionId: string, terms: RestrictionTerms): Promise<string> {
    return this.#commit(patientId, CONSENT_RESTRICT, { restrictionId, terms });
  }

  /** Lifts a restriction from the next block on; resolves with the committed status. */
  liftRestriction(patientId: string, restrictionId: string): Promise<string> {
    return this.#commit(patientId, CONSENT_LIFT_RESTRICTION, { restrictionId });
  }

  /** Opts the patient in to or out of break-the-glass; resolves with the committed status. */
  setBreakTheGlass(patientId: string, optIn: boolean): Promise<string> {
    return this.#commit(patientId, CONSENT_SET_BREAK_THE_GLASS, { optIn });
  }

  /**
   * After a commit: for every grant written active in it whose patient is custodial here,
   * re-wrap the covered data keys for the grantee. Resolves when those shares are committed.
   */
  shareCommitted(writeSet: readonly WriteSetEntry[]): Promise<void> {
    const grants = writeSet.flatMap(([table, , value]) => GRANTS.rowOf(table, value) ?? []);
    const work = Promise.all(
      grants
        .filter((grant) => this.#holdsPatient(grant.patientId))
        .map((grant) => this.#share(grant)),
    ).then(() => undefined);
    this.#sharing.add(work);
    // Both ways, so a failed share (reported by the caller) leaves no unhandled rejection here.
    const forget = () => this.#sharing.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Resolves once every key share started so far has committed or failed. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#sharing]);
  }

  async #share(grant: GrantRow): Promise<void> {
    for (const share of keyShares(this.host.chain, this.host.records.keystore, grant)) {
      const status = await this.#commit(grant.patientId, RECORDS_SHARE_KEYS, share);
      if (status !== 'ok')
        throw new Error(`key share for grant ${grant.grantId} refused: ${status}`);
    }
  }

  #holdsPatient(patientId: string): boolean {
    const patient = PATIENTS.get(this.host.chain.state, patientId);
    return (
      patient?.custody === 'custodial' &&
      patient.homeOrg === this.host.orgId &&
      this.host.records.keystore.has(`patient:${patientId}:encryption`)
    );
  }

  async #commit<Body>(
    patientId: string,
    schema: TxBuilder<Body>,
    value: NoInfer<Body>,
  ): Promise<string> {
    return (
      await this.host.submitAndWait(
        this.host.records.signer('patient', patientId).sign(schema, value),
      )
    ).status;
  }
}
