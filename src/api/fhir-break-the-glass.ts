/**
 * Break-the-glass as FHIR operations on a Patient (named by FHIR id, mapped to the ledger
 * pseudonym here at the edge): `$break-the-glass`, a practitioner's emergency access, decided by
 * the access contract; and `$break-the-glass-choice`, the patient's own opt-in, read and set.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  BTG_PURPOSES,
  patientConsent,
  PATIENTS,
  type BreakTheGlassRow,
} from '../contracts/index.js';
import { FhirError, patientOf } from '../fhir/index.js';
import {
  AccessLogUnavailableError,
  BreakTheGlassRefusedError,
  isNoteText,
  type NodeFacade,
} from '../node/index.js';
import { refusalWords } from './break-the-glass-refusals.js';
import { custodialHere } from './custodial-patient.js';
import { jsonBody, send } from './fhir-json.js';
import { badParameter, parametersOf, parametersResource, valueOf } from './fhir-parameters.js';
import type { FhirCaller } from './fhir-routes.js';
import { BTG_MINUTES_MAX, BTG_REASON_LENGTH_MAX } from '../ledger/index.js';

type Params = { id: string };

/** What a practitioner asks for. */
interface GlassRequest {
  purpose: string;
  reason: string;
  minutes?: number;
}

/** Registers the operations in `fhir`, the /fhir scope, whose onRequest hook has authenticated every caller (`callerOf`). */
export function registerBreakTheGlassOperations(
  fhir: FastifyInstance,
  node: NodeFacade,
  callerOf: (request: FastifyRequest) => FhirCaller,
): void {
  fhir.post<{ Params: Params }>('/Patient/:id/$break-the-glass', async (request, reply) => {
    const caller = callerOf(request);
    if (caller.principal.kind !== 'practitioner' || !caller.allows('Patient', 'read'))
      throw FhirError.of(
        403,
        'forbidden',
        'only a practitioner with a token that reads Patients may break the glass',
      );
    const asked = glassRequest(jsonBody(request, 'Parameters'));
    const patientId = knownPatient(node, request.params.id);
    const row = await breakGlass(node, caller, patientId, asked);
    if (row.outcome === 'deny')
      throw FhirError.of(
        403,
        'forbidden',
        `${refusalWords(row.denial ?? 'denied')}; the attempt is recorded in the patient's trail`,
      );
    return send(reply, 200, granted(row));
  });

  fhir.get<{ Params: Params }>('/Patient/:id/$break-the-glass-choice', async (request, reply) => {
    const patientId = ownPatient(node, callerOf(request), request.params.id, 'read');
    return send(
      reply,
      200,
      choice(patientConsent(node.ledger.state, patientId).breakTheGlass === 'opt-in'),
    );
  });

  fhir.post<{ Params: Params }>('/Patient/:id/$break-the-glass-choice', async (request, reply) => {
    const patientId = custodialHere(
      node,
      ownPatient(node, callerOf(request), request.params.id, 'update'),
      'consent.set-break-the-glass',
    );
    const optIn = valueOf(parametersOf(jsonBody(request, 'Parameters')), 'optIn', 'valueBoolean');
    if (typeof optIn !== 'boolean') throw badParameter('optIn', 'is required: a valueBoolean');
    const status = await node.consent.setBreakTheGlass(patientId, optIn);
    if (status !== 'ok')
      throw FhirError.of(409, 'conflict', `the ledger refused the change (${status})`);
    return send(reply, 200, choice(optIn));
  });
}

/** The purpose, reason and minutes of a $break-the-glass Parameters; a 400 naming the parameter that is wrong. */
function glassRequest(resource: Parameters<typeof parametersOf>[0]): GlassRequest {
  const parameters = parametersOf(resource);
  const purpose = valueOf(parameters, 'purpose', 'valueCode');
  if (typeof purpose !== 'string' || !(BTG_PURPOSES as readonly string[]).includes(purpose))
    throw badParameter('purpose', `is required: a valueCode, one of ${BTG_PURPOSES.join(', ')}`);
  const reason = valueOf(parameters, 'reason', 'valueString');
  if (typeof reason !== 'string' || !isNoteText(reason)) {
    throw badParameter(
      'reason',
      `is required: a valueString of one line, 1 to ${BTG_REASON_LENGTH_MAX} characters`,
    );
  }
  const minutes = valueOf(parameters, 'minutes', 'valueInteger');
  if (minutes === undefined) return { purpose, reason };
  if (
    typeof minutes !== 'number' ||
    !Number.isInteger(minutes) ||
    minutes < 1 ||
    minutes > BTG_MINUTES_MAX
  )
    throw badParameter('minutes', `must be a valueInteger from 1 to ${BTG_MINUTES_MAX}`);
  return { purpose, reason, minutes };
}

/** The pseudonym of the Patient whose FHIR id is `id`; a 404 when the ledger knows no such patient (503 while ids are relearnt). */
function knownPatient(node: NodeFacade, id: string): string {
  const patientId = patientOf(node, id);
  if (patientId === undefined || PATIENTS.get(node.ledger.state, patientId) === undefined)
    throw FhirError.of(404, 'not-found', `Patient/${id} is not known`);
  return patientId;
}

/** Requests break-the-glass and waits for the contract's decision; its refusals in plain words. */
async function breakGlass(
  node: NodeFacade,
  caller: FhirCaller,
  patientId: string,
  asked: GlassRequest,
): Promise<BreakTheGlassRow> {
  try {
    return await node.breakTheGlass.request(caller.principal, patientId, asked);
  } catch (error) {
    const status =
      error instanceof BreakTheGlassRefusedError ||
      (error instanceof AccessLogUnavailableError && !error.status.startsWith('unavailable:'))
        ? error.status
        : undefined;
    if (status === undefined) throw error; // a full queue or disk: storageError's 503
    throw FhirError.of(
      status === 'denied:no-such-patient' ? 404 : 403,
      status === 'denied:no-such-patient' ? 'not-found' : 'forbidden',
      refusalWords(status),
    );
  }
}

function granted(row: BreakTheGlassRow) {
  return parametersResource([
    ['btgId', 'valueString', row.btgId],
    ['outcome', 'valueCode', row.outcome],
    ['start', 'valueInstant', new Date(row.start).toISOString()],
    ['end', 'valueInstant', new Date(row.end).toISOString()],
  ]);
}

function choice(optIn: boolean) {
  return parametersResource([['optIn', 'valueBoolean', optIn]]);
}

/** The caller's own pseudonym when they are the patient `id` names and their token allows `interaction` on Consent; a 403 for anyone else. */
function ownPatient(
  node: NodeFacade,
  caller: FhirCaller,
  id: string,
  interaction: 'read' | 'update',
): string {
  const { kind, id: self } = caller.principal;
  if (
    kind !== 'patient' ||
    patientOf(node, id) !== self ||
    !caller.allows('Consent', interaction)
  ) {
    throw FhirError.of(
      403,
      'forbidden',
      `only the patient ${interaction === 'read' ? 'reads' : 'sets'} their own break-the-glass choice, with a token for their Consent`,
    );
  }
  return self;
}
