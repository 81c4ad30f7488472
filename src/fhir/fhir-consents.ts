/**
 * FHIR Consent backed by the consent contract: create grants, update replaces the terms,
 * delete revokes, read and history show the grant as a Consent. A Consent whose root provision
 * denies is a restriction of the patient's home organisation instead (consent-restriction.ts):
 * create restricts, delete lifts, and it cannot be updated. Only the patient's key signs
 * either, so only a patient whose keys this node holds writes one, and only their own.
 */
import { randomUUID } from 'node:crypto';
import {
  GRANTS,
  RESTRICTIONS,
  type GrantRow,
  type Principal,
  type RestrictionRow,
} from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { consentToGrantTerms, grantToConsent } from './consent.js';
import {
  consentToRestriction,
  isRestrictionConsent,
  restrictionToConsent,
} from './consent-restriction.js';
import { fhirPatientOf, fhirReferenceOf, patientOf, recordOf } from './ledger-names.js';
import { FhirError } from './outcome.js';
import { statusError } from './status-errors.js';
import type { HistoryEntry, ServedVersion, TypeHandler } from './type-handler.js';

/** Consent interactions over one node. */
export class FhirConsents implements TypeHandler {
  constructor(private readonly node: NodeFacade) {}

  async create(principal: Principal, resource: JsonObject): Promise<ServedVersion> {
    if (isRestrictionConsent(resource)) return this.#restrict(principal, resource);
    const { terms, patientId } = this.#terms(principal, resource);
    const grantId = randomUUID();
    await this.#committed(this.node.consent.grant(patientId, grantId, terms), `Consent/${grantId}`);
    return this.#served(this.#grant(grantId)!);
  }

  async read(
    principal: Principal,
    _type: string,
    id: string,
    _purpose: string,
    versionId?: number,
  ): Promise<ServedVersion> {
    const restriction = this.#restriction(id);
    if (restriction !== undefined && visibleTo(principal, restriction))
      return this.#servedRestriction(restriction, versionId);
    const grant = this.#visibleGrant(principal, id);
    if (versionId !== undefined && versionId !== grant.version)
      throw FhirError.of(
        404,
        'not-found',
        'only the current version of a Consent is kept in contract state; earlier ones are on the ledger',
      );
    return this.#served(grant);
  }

  async update(
    principal: Principal,
    _type: string,
    id: string,
    resource: JsonObject,
    ifMatch?: number,
  ): Promise<ServedVersion & { created: boolean }> {
    const restriction = this.#restriction(id);
    if (
      (restriction !== undefined && visibleTo(principal, restriction)) ||
      isRestrictionConsent(resource)
    ) {
      throw FhirError.of(
        422,
        'business-rule',
        'a restriction is not changed in place: delete it (which lifts it) and create another',
      );
    }
    const grant = this.#visibleGrant(principal, id);
    if (ifMatch !== undefined && ifMatch !== grant.version)
      throw FhirError.of(
        412,
        'conflict',
        `If-Match names version ${ifMatch}, which is not the current version`,
      );
    const { terms, patientId } = this.#terms(principal, resource);
    if (patientId !== grant.patientId)
      throw FhirError.of(400, 'invalid', 'a Consent cannot move to another patient', [
        'Consent.patient',
      ]);
    await this.#committed(this.node.consent.update(patientId, id, terms), `Consent/${id}`);
    return { ...this.#served(this.#grant(id)!), created: false };
  }

  async delete(principal: Principal, _type: string, id: string): Promise<number | undefined> {
    const restriction = this.#restriction(id);
    if (restriction !== undefined && visibleTo(principal, restriction))
      return this.#lift(principal, restriction);
    const grant = this.#visibleGrant(principal, id);
    if (grant.status === 'revoked') return undefined;
    this.#requirePatient(principal, grant.patientId);
    await this.#committed(this.node.consent.revoke(grant.patientId, id), `Consent/${id}`);
    return this.#grant(id)!.version;
  }

  async history(
    principal: Principal,
    type: string,
    id: string,
    purpose: string,
  ): Promise<HistoryEntry[]> {
    return [await this.read(principal, type, id, purpose)];
  }

  /** The grants of the patient whose FHIR id is `fhirPatientId` visible to `principal`, then their restrictions, as Consents. */
  search(principal: Principal, fhirPatientId: string): ServedVersion[] {
    const patientId = patientOf(this.node, fhirPatientId);
    if (patientId === undefined) return [];
    const grants = this.node.consent
      .grantsOf(patientId)
      .filter((grant) => visibleTo(principal, grant))
      .map((grant) => this.#served(grant));
    const restrictions = this.node.consent
      .restrictionsOf(patientId)
      .filter((row) => visibleTo(principal, row))
      .map((row) => this.#servedRestriction(row));
    return [...grants, ...restrictions];
  }

  async #restrict(principal: Principal, resource: JsonObject): Promise<ServedVersion> {
    const read = consentToRestriction(resource);
    if (!read.ok)
      throw new FhirError(
        422,
        read.issues.map((issue) => ({
          severity: 'error',
          code: issue.code,
          diagnostics: issue.diagnostics,
          expression: [issue.expression],
        })),
      );
    const patientId = this.#ledgerPatient(principal, read.patientId);
    const restrictionId = randomUUID();
    await this.#committed(
      this.node.consent.restrict(patientId, restrictionId, read.terms),
      `Consent/${restrictionId}`,
    );
    return this.#servedRestriction(this.#restriction(restrictionId)!);
  }

  async #lift(principal: Principal, restriction: RestrictionRow): Promise<number | undefined> {
    if (restriction.status === 'lifted') return undefined;
    this.#requirePatient(principal, restriction.patientId);
    await this.#committed(
      this.node.consent.liftRestriction(restriction.patientId, restriction.restrictionId),
      `Consent/${restriction.restrictionId}`,
    );
    return 2;
  }

  #restriction(id: string): RestrictionRow | undefined {
    return RESTRICTIONS.get(this.node.ledger.state, id);
  }

  /** A restriction has two versions: 1 as signed, 2 once lifted. */
  #servedRestriction(row: RestrictionRow, versionId?: number): ServedVersion {
    const version = row.status === 'active' ? 1 : 2;
    if (versionId !== undefined && versionId !== version)
      throw FhirError.of(
        404,
        'not-found',
        'only the current version of a Consent is kept in contract state; earlier ones are on the ledger',
      );
    const lastUpdated = new Date(row.liftedAt ?? row.restrictedAt).toISOString();
    const resource = {
      ...(restrictionToConsent({
        ...row,
        patientId: fhirPatientOf(this.node, row.patientId),
      }) as unknown as JsonObject),
      meta: { versionId: String(version), lastUpdated },
    };
    return { resource, versionId: version, lastUpdated, txId: '' };
  }

  #terms(principal: Principal, resource: JsonObject) {
    const read = consentToGrantTerms(resource);
    if (!read.ok)
      throw new FhirError(
        422,
        read.issues.map((issue) => ({
          severity: 'error',
          code: issue.code,
          diagnostics: issue.diagnostics,
          expression: [issue.expression],
        })),
      );
    const patientId = this.#ledgerPatient(principal, read.patientId);
    return {
      terms: {
        ...read.terms,
        recordIds: read.terms.recordIds.map((name, index) =>
          this.#ledgerRecord(patientId, name, index),
        ),
      },
      patientId,
    };
  }

  /**
   * The ledger id of a record a Consent names ('Type/id' by FHIR id, or a ledger id by
   * identifier), which must be one of `patientId`'s: a 422, the same for a record that does
   * not exist here and for another patient's.
   */
  #ledgerRecord(patientId: string, name: string, index: number): string {
    const slash = name.indexOf('/');
    const record =
      slash < 0
        ? this.node.records.record(name)
        : recordOf(this.node, name.slice(0, slash), name.slice(slash + 1));
    if (record?.patientId !== patientId)
      throw FhirError.of(422, 'value', 'not a record of this patient', [
        `Consent.provision.data[${index}].reference`,
      ]);
    return record.recordId;
  }

  /** The pseudonym of the patient `fhirPatientId` names, who must be the caller: a 403 otherwise, the same for a patient this node does not know. */
  #ledgerPatient(principal: Principal, fhirPatientId: string): string {
    const patientId = patientOf(this.node, fhirPatientId) ?? '';
    this.#requirePatient(principal, patientId);
    return patientId;
  }

  #requirePatient(principal: Principal, patientId: string): void {
    if (principal.kind !== 'patient' || principal.id !== patientId)
      throw FhirError.of(403, 'forbidden', 'only the patient signs their consent');
  }

  #visibleGrant(principal: Principal, id: string): GrantRow {
    const grant = this.#grant(id);
    if (grant === undefined || !visibleTo(principal, grant))
      throw FhirError.of(404, 'not-found', `Consent/${id} is not known`);
    return grant;
  }

  #grant(id: string): GrantRow | undefined {
    return GRANTS.get(this.node.ledger.state, id);
  }

  #served(grant: GrantRow): ServedVersion {
    const lastUpdated = new Date(grant.updatedAt).toISOString();
    const resource = {
      ...(grantToConsent(
        { ...grant, patientId: fhirPatientOf(this.node, grant.patientId) },
        { recordReference: (recordId) => fhirReferenceOf(this.node, recordId) },
      ) as unknown as JsonObject),
      meta: { versionId: String(grant.version), lastUpdated },
    };
    return { resource, versionId: grant.version, lastUpdated, txId: '' };
  }

  async #committed(status: Promise<string>, what: string): Promise<void> {
    const result = await status;
    if (result !== 'ok') throw statusError(result, what);
  }
}

/** A patient sees their own consents and restrictions; this organisation's staff and clients see every patient's. */
function visibleTo(principal: Principal, row: { patientId: string }): boolean {
  return principal.kind !== 'patient' || principal.id === row.patientId;
}
