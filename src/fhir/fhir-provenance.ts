/**
 * Provenance of each record version, from the ledger: who wrote it (practitioner and
 * organisation), when, and the anchoring transaction itself as the signature
 * (Provenance.signature: the author's Ed25519 signature inside the canonical signed transaction).
 */
import { KEYS, PATIENTS, type Principal, type VersionRow } from '../contracts/index.js';
import type { JsonObject } from '../ledger/index.js';
import { type NodeFacade } from '../node/index.js';
import { fhirReferenceOf, recordOf } from './ledger-names.js';
import { FhirError } from './outcome.js';
import { TX_ID_SYSTEM } from './audit-event.js';
import { ReadOnlyHandler, type ServedVersion } from './type-handler.js';

/** Ids of the derived Provenance: `<recordId>.v<version>`, with the ledger record id; a client's own Provenance never has one (random UUIDs). */
export const DERIVED_PROVENANCE_ID = /^([A-Za-z0-9][A-Za-z0-9.-]{0,52})\.v([1-9][0-9]{0,9})$/;

/** sigFormat of Provenance.signature.data: the canonical signed ChartChain transaction (RFC 8785 JSON). */
export const TX_SIG_FORMAT = 'application/vnd.chartchain.tx+json';

/** Provenance interactions over one node: read and search by target; never written by clients. */
export class FhirProvenance extends ReadOnlyHandler {
  constructor(private readonly node: NodeFacade) {
    super();
  }

  protected readonly readOnlyBecause = 'Provenance is derived from the ledger; it is not written';

  async read(
    principal: Principal,
    _type: string,
    id: string,
    purpose: string,
  ): Promise<ServedVersion> {
    const match = DERIVED_PROVENANCE_ID.exec(id);
    const version = match === null ? undefined : this.#version(match[1]!, Number(match[2]));
    if (version === undefined || !this.#visible(principal, version, purpose))
      throw FhirError.of(404, 'not-found', `Provenance/${id} is not known`);
    return this.#served(version);
  }

  /** The Provenance of every version of the record `target` ('Type/id') names, oldest first. */
  search(principal: Principal, target: string, purpose: string): ServedVersion[] {
    const match = /^(?:.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/.exec(target);
    const record = match === null ? undefined : recordOf(this.node, match[1]!, match[2]!);
    if (record === undefined) return [];
    const versions: ServedVersion[] = [];
    for (let version = 1; version <= record.latestVersion; version++) {
      const row = this.#version(record.recordId, version);
      if (row !== undefined && row.kind !== 'tombstone' && this.#visible(principal, row, purpose))
        versions.push(this.#served(row));
    }
    return versions;
  }

  #version(recordId: string, version: number): VersionRow | undefined {
    return this.node.records.version(recordId, version);
  }

  /**
   * The patient sees their own; auditors and system clients see all (metadata, never content);
   * a practitioner only the versions they may read, so a Provenance never tells them that a
   * record they may not read exists.
   */
  #visible(principal: Principal, version: VersionRow, purpose: string): boolean {
    if (principal.kind === 'patient') return principal.id === version.patientId;
    if (principal.kind !== 'practitioner') return true;
    return (
      this.node
        .as(principal, purpose)
        .decide(version.recordId, { version: version.version, ignoringErasure: true }).outcome ===
      'permit'
    );
  }

  #served(version: VersionRow): ServedVersion {
    const proof = this.node.ledger.inclusionProof(version.txId);
    const bytes = this.node.ledger.tx(proof.leafIndex)!.bytes;
    const signer = KEYS.get(
      this.node.ledger.state,
      (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signer: string }).signer,
    )!;
    const recorded = new Date(version.time).toISOString();
    const target =
      fhirReferenceOf(this.node, version.recordId) ?? `${version.resourceType}/${version.recordId}`;
    const home =
      version.patientId === null
        ? undefined
        : PATIENTS.get(this.node.ledger.state, version.patientId)?.homeOrg;
    const resource: JsonObject = {
      resourceType: 'Provenance',
      id: `${version.recordId}.v${version.version}`,
      meta: { versionId: '1', lastUpdated: recorded },
      target: [{ reference: `${target}/_history/${version.version}` }],
      recorded,
      activity: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
            code:
              version.version === 1 ? 'CREATE' : version.kind === 'tombstone' ? 'DELETE' : 'UPDATE',
          },
        ],
      },
      agent: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
                code: 'author',
              },
            ],
          },
          who: { reference: `Practitioner/${version.author.practitioner}` },
          onBehalfOf: { reference: `Organization/${version.author.org}` },
        },
      ],
      entity: [
        { role: 'source', what: { identifier: { system: TX_ID_SYSTEM, value: version.txId } } },
      ],
      signature: [
        {
          type: [
            {
              system: 'urn:iso-astm:E1762-95:2013',
              code: '1.2.840.10065.1.12.1.1',
              display: "Author's Signature",
            },
          ],
          when: recorded,
          who: {
            reference: `${signer.role === 'practitioner' ? 'Practitioner' : 'Organization'}/${signer.subject}`,
          },
          sigFormat: TX_SIG_FORMAT,
          data: Buffer.from(bytes).toString('base64'),
        },
      ],
    };
    if (home !== undefined) resource['location'] = { display: `home organisation ${home}` };
    return { resource, versionId: 1, lastUpdated: recorded, txId: version.txId };
  }
}
