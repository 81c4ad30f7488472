/**
 * Erasure as FHIR operations on a record (named by FHIR type and id, mapped to the ledger
 * pseudonym here at the edge): `$erase`, the patient's own request (GDPR Art. 17) signed with
 * their key by their home node; and `$erasure`, its receipts: which member organisations have
 * confirmed deleting the ciphertext, and which have not yet.
 */
import { type ErasureStatus } from '../verifier/index.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RecordRow } from '../contracts/index.js';
import { FhirError, recordOf } from '../fhir/index.js';
import type { JsonObject } from '../ledger/index.js';
import type { NodeFacade } from '../node/index.js';
import { custodialHere } from './custodial-patient.js';
import { send } from './fhir-json.js';
import type { FhirCaller } from './fhir-routes.js';

type Params = { type: string; id: string };

/** Registers the operations in `fhir`, the /fhir scope, whose onRequest hook has authenticated every caller (`callerOf`). */
export function registerErasureOperations(
  fhir: FastifyInstance,
  node: NodeFacade,
  callerOf: (request: FastifyRequest) => FhirCaller,
): void {
  fhir.post<{ Params: Params }>('/:type/:id/$erase', async (request, reply) => {
    const record = ownRecord(node, callerOf(request), request.params);
    if (record.status === 'erased')
      throw FhirError.of(
        410,
        'deleted',
        `${request.params.type}/${request.params.id} was erased already`,
      );
    const patientId = custodialHere(node, record.patientId!, 'records.erase');
    const tx = node.records.erase(record.recordId, { patientId }, (type, body) =>
      node.signAsOrg(type, body),
    );
    const { status } = await node.submitAndWait(tx);
    if (status !== 'ok')
      throw FhirError.of(409, 'conflict', `the ledger refused the erasure (${status})`);
    return send(reply, 200, receipts(node.erasure(record.recordId)!));
  });

  fhir.get<{ Params: Params }>('/:type/:id/$erasure', async (request, reply) => {
    const caller = callerOf(request);
    const record =
      caller.principal.kind === 'auditor'
        ? knownRecord(node, request.params)
        : ownRecord(node, caller, request.params);
    const status = node.erasure(record.recordId);
    if (status === undefined)
      throw FhirError.of(
        404,
        'not-found',
        `${request.params.type}/${request.params.id} has not been erased`,
      );
    return send(reply, 200, receipts(status));
  });
}

function knownRecord(node: NodeFacade, { type, id }: Params): RecordRow {
  const record = recordOf(node, type, id);
  if (record === undefined) throw FhirError.of(404, 'not-found', `${type}/${id} is not known`);
  return record;
}

/** The record when the caller is its patient, with a token that reads its type; otherwise the same 404 as for a record that does not exist. */
function ownRecord(node: NodeFacade, caller: FhirCaller, params: Params): RecordRow {
  const record = recordOf(node, params.type, params.id);
  if (
    record === undefined ||
    caller.principal.kind !== 'patient' ||
    record.patientId !== caller.principal.id ||
    !caller.allows(params.type, 'read')
  ) {
    throw FhirError.of(404, 'not-found', `${params.type}/${params.id} is not known`);
  }
  return record;
}

/** The erasure's receipts as Parameters: when and by whom it was asked, each organisation that confirmed (and when), each still awaited. */
function receipts(status: ErasureStatus): JsonObject {
  const confirmed = Object.keys(status.confirmedBy)
    .sort()
    .map((org): JsonObject => ({
      name: 'confirmed',
      part: [
        { name: 'organisation', valueString: org },
        {
          name: 'at',
          valueInstant: new Date(status.confirmedBy[org]!).toISOString(),
        } as JsonObject,
      ],
    }));
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'requestedAt', valueInstant: new Date(status.requestedAt).toISOString() },
      { name: 'requestedBy', valueString: status.requestedBy.role },
      ...confirmed,
      ...status.awaiting.map((org) => ({ name: 'awaiting', valueString: org })),
    ],
  };
}
